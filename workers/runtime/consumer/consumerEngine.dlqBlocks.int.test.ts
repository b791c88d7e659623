import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStackEndpoints } from '../config/stackEndpoints.ts';
import { PermanentError } from '../errors/processingErrors.ts';
import { DeadLetterCaps } from '../resilience/deadLetterCaps.ts';
import {
  bootstrap,
  createTopics,
  deleteTopics,
  produceRecords,
  uniqueName,
  waitUntil,
} from '../testing/kafkaTestKit.ts';
import type { ConsumerEngine } from './consumerEngine.ts';
import { testEngine, until } from './engineTestKit.ts';

const topics: string[] = [];
afterAll(async () => {
  await deleteTopics(topics);
});

/** A replica of one worker: its own caps (sharing the worker's Redis state) and engine. */
function replica(worker: string, groupId: string, topic: string) {
  const caps = new DeadLetterCaps(
    // Three in a row trip the cap; a cool-down far beyond the test, so only an operator lifts it.
    { worker, maxConsecutive: 3, coolDownMs: 600_000, limiterIdPrefix: `fleet-test:${randomUUID()}:` },
    { registry: new Registry(), redisUrl: loadStackEndpoints().redisUrl },
  );
  const handled: string[] = [];
  const deadLettered: string[] = [];
  const engine: ConsumerEngine<Buffer | null> = testEngine(
    {
      name: worker,
      groupId,
      topic,
      handler: async (message) => {
        handled.push(String(message.value));
        throw new PermanentError('poison');
      },
    },
    { ordering: 'partition' },
    {
      bootstrapServers: bootstrap,
      dlqGate: caps,
      deadLetters: {
        publish: async (input) => {
          deadLettered.push(String(input.value));
        },
      },
    },
  );
  return { caps, engine, handled, deadLettered };
}

describe('DLQ-cap blocks across a rebalance (real broker and Redis)', () => {
  it("the partition's next owner inherits the block: it starts paused and dead-letters nothing until an operator resumes", async () => {
    const topic = uniqueName('engine-dlq-inherit');
    topics.push(topic);
    await createTopics([{ topic, partitions: 1 }]);
    await produceRecords(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `poison-${i}`, partition: 0 })),
    );
    const worker = `dlq-inherit-${randomUUID().slice(0, 8)}`;
    const groupId = uniqueName('dlq-inherit-group');

    const first = replica(worker, groupId, topic);
    await first.caps.start();
    let tripped: { since: number } | undefined;
    try {
      await first.engine.start();
      await until(() => first.caps.blocks().length > 0, 30_000, 'the first replica tripped its cap');
      expect(first.deadLettered).toEqual(['poison-0', 'poison-1', 'poison-2']);
      tripped = first.caps.blocks()[0];
    } finally {
      await first.engine.drain(5_000);
      await first.engine.stop();
      await first.caps.stop();
    }
    // Revoked by the stop: the replica forgot the block; the store did not.
    expect(first.caps.blocks()).toEqual([]);

    const second = replica(worker, groupId, topic);
    await second.caps.start();
    try {
      await second.engine.start();
      await until(
        () => second.engine.snapshot()[0]?.pausedFor.includes('dlq_cap') === true,
        30_000,
        'the second replica was assigned the partition, paused for the DLQ cap',
      );
      // A bounded look for a handler run that must not come: the block is inherited before any fetch.
      await sleep(1_000);
      expect(second.handled).toEqual([]);
      expect(second.deadLettered).toEqual([]);
      expect(second.caps.blocks()).toEqual([
        expect.objectContaining({
          scope: 'partition',
          topic,
          partition: 0,
          cap: 'consecutive',
          since: tripped?.since,
        }),
      ]);

      // The operator resumes on the current owner: the next run of the flood is judged afresh.
      second.caps.resume(topic, 0);
      await until(() => second.caps.blocks().length > 0, 30_000, 'the second replica tripped its own cap');
      expect(second.deadLettered).toEqual(['poison-3', 'poison-4', 'poison-5']);
    } finally {
      await second.engine.drain(5_000);
      await second.engine.stop();
      await second.caps.stop();
    }

    // Its own trip is stored again for whoever owns the partition next; resume forgets it.
    const third = new DeadLetterCaps(
      { worker, maxConsecutive: 3, coolDownMs: 600_000, limiterIdPrefix: `fleet-test:${randomUUID()}:` },
      { registry: new Registry(), redisUrl: loadStackEndpoints().redisUrl },
    );
    await third.start();
    try {
      expect(await third.inheritBlocks([{ topic, partition: 0 }])).toEqual([{ topic, partition: 0 }]);
      third.resume(topic, 0);
      await waitUntil(
        async () => (await third.inheritBlocks([{ topic, partition: 0 }])).length === 0,
        5_000,
        'the stored block forgotten',
      );
    } finally {
      await third.stop();
    }
  });
});
