import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvReader } from '../config/envReader.ts';
import {
  bootstrap,
  committedOffsets,
  createTopics,
  deleteTopics,
  produceRecords,
  uniqueName,
} from '../testing/kafkaTestKit.ts';
import { ConsumerEngine, type DeadLetterInput } from './consumerEngine.ts';
import { readConsumerOptions } from './consumerOptions.ts';

const topic = uniqueName('engine-order');
const partitions = 6;
const keys = 500;
const total = 10_000;

beforeAll(async () => {
  await createTopics([{ topic, partitions }]);
  const records = Array.from({ length: total }, (_, i) => {
    const key = `k${i % keys}`;
    return { key, value: `${key}:${Math.floor(i / keys)}` };
  });
  await produceRecords(topic, records);
});

afterAll(async () => {
  await deleteTopics([topic]);
});

describe('ConsumerEngine key ordering (real broker)', () => {
  it('handles every key in offset order at concurrency 64 with random 0-5 ms handlers, and commits to the end', async () => {
    const seen = new Map<string, number[]>();
    const perKeyRunning = new Set<string>();
    let overlaps = 0;
    let peak = 0;
    let running = 0;
    const deadLetters: DeadLetterInput[] = [];
    const groupId = uniqueName('group');
    const engine = new ConsumerEngine<Buffer | null>(
      {
        name: 'order-test',
        groupId,
        topics: [topic],
        decoder: (value) => value,
        handler: async (message) => {
          running++;
          peak = Math.max(peak, running);
          if (perKeyRunning.has(message.keyText)) overlaps++;
          perKeyRunning.add(message.keyText);
          await sleep(Math.random() * 5);
          const [key, seq] = String(message.value).split(':');
          const list = seen.get(key!) ?? [];
          list.push(Number(seq));
          seen.set(key!, list);
          perKeyRunning.delete(message.keyText);
          running--;
        },
      },
      {
        bootstrapServers: bootstrap,
        options: readConsumerOptions(new EnvReader({}), { maxConcurrency: 64, commitIntervalMs: 200 }),
        deadLetters: { publish: async (input) => void deadLetters.push(input) },
      },
    );
    await engine.start();
    const deadline = Date.now() + 90_000;
    let handled = 0;
    while (Date.now() < deadline) {
      handled = [...seen.values()].reduce((n, l) => n + l.length, 0);
      if (handled >= total) break;
      await sleep(100);
    }
    await engine.drain(10_000);
    await engine.stop();

    expect(handled).toBe(total);
    expect(deadLetters).toHaveLength(0);
    expect(overlaps).toBe(0);
    expect(peak).toBeLessThanOrEqual(64);
    expect(peak).toBeGreaterThan(8);
    expect(seen.size).toBe(keys);
    for (const [key, list] of seen) {
      expect(list, key).toEqual(Array.from({ length: total / keys }, (_, i) => i));
    }
    const committed = await committedOffsets(groupId, topic);
    const sum = [...committed.values()].reduce((n, o) => n + Math.max(0, o), 0);
    expect(sum).toBe(total);
  });
});
