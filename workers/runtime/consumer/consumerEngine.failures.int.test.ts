import { randomUUID } from 'node:crypto';
import { RdKafka } from '@confluentinc/kafka-javascript';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStackEndpoints } from '../config/stackEndpoints.ts';
import { PermanentError, RetriableError } from '../errors/processingErrors.ts';
import { KafkaClientError } from '../kafka/librdkafkaErrors.ts';
import { DeadLetterCaps } from '../resilience/deadLetterCaps.ts';
import { metricValue } from '../resilience/testSupport.ts';
import {
  bootstrap,
  committedOffsets,
  createTopics,
  deleteTopics,
  produceRecords,
  uniqueName,
  waitUntil,
} from '../testing/kafkaTestKit.ts';
import type { DeadLetterGate, DeadLetterInput } from './consumerEngine.ts';
import { silentObserver } from './engineObserver.ts';
import { recordingLogger, testEngine, until } from './engineTestKit.ts';

const topics: string[] = [];
afterAll(async () => {
  await deleteTopics(topics);
});

async function topicWith(prefix: string, records: { key: string; value: string }[]): Promise<string> {
  const topic = uniqueName(prefix);
  topics.push(topic);
  await createTopics([{ topic, partitions: 1 }]);
  await produceRecords(
    topic,
    records.map((r) => ({ ...r, partition: 0 })),
  );
  return topic;
}

describe('ConsumerEngine failures (real broker)', () => {
  it('an unexpected error (a TypeError, a thrown string) gets CONSUMER_MAX_ATTEMPTS tries, then is dead-lettered as thrown', async () => {
    const topic = await topicWith('engine-unexpected', [
      { key: 'a', value: 'type-error' },
      { key: 'b', value: 'string' },
    ]);
    const attempts = new Map<string, number>();
    const failedClasses: string[] = [];
    const deadLetters: DeadLetterInput[] = [];
    const groupId = uniqueName('unexpected-group');
    const e = testEngine(
      {
        name: 'unexpected',
        groupId,
        topic,
        handler: async (message) => {
          const kind = String(message.value);
          attempts.set(kind, (attempts.get(kind) ?? 0) + 1);
          if (kind === 'type-error')
            throw new TypeError("Cannot read properties of undefined (reading 'id')");
          throw 'a thrown string';
        },
      },
      { maxAttempts: 4, retryMinMs: 1, retryMaxMs: 5 },
      {
        bootstrapServers: bootstrap,
        deadLetters: { publish: async (input) => void deadLetters.push(input) },
        observer: { ...silentObserver, failed: (_topic, errorClass) => void failedClasses.push(errorClass) },
      },
    );
    await e.start();
    await until(() => deadLetters.length === 2, 30_000, 'both messages dead-lettered');
    await e.drain(5000);
    await e.stop();

    expect(Object.fromEntries(attempts)).toEqual({ 'type-error': 4, string: 4 });
    const byValue = new Map(deadLetters.map((d) => [String(d.value), d]));
    expect(byValue.get('type-error')!.error).toBeInstanceOf(TypeError);
    expect(byValue.get('type-error')!.attempts).toBe(4);
    expect(byValue.get('string')!.error).toBe('a thrown string');
    expect(byValue.get('string')!.attempts).toBe(4);
    // Labelled by what the handler threw, not by the engine's internal wrapper.
    expect(new Set(failedClasses)).toEqual(new Set(['TypeError', 'string']));
    // One count per failed attempt (fleet_consumer_messages_failed_total), not one more for the last.
    expect(failedClasses).toHaveLength(8);
    expect((await committedOffsets(groupId, topic)).get(0)).toBe(2);
  });

  it("a decoder's failure gets the handler's policy: retried when retriable or unexpected, dead-lettered at once when poison", async () => {
    const topic = await topicWith('engine-decoder-failures', [
      { key: 'a', value: 'hiccup' },
      { key: 'b', value: 'unexpected' },
      { key: 'c', value: 'poison' },
    ]);
    const decodes = new Map<string, number>();
    const handled: string[] = [];
    const deadLetters: DeadLetterInput[] = [];
    const groupId = uniqueName('decoder-group');
    const e = testEngine(
      {
        name: 'decoder-failures',
        groupId,
        topic,
        decoder: (value) => {
          const kind = String(value);
          const count = (decodes.get(kind) ?? 0) + 1;
          decodes.set(kind, count);
          if (kind === 'hiccup' && count < 3) throw new RetriableError('registry answered slowly');
          if (kind === 'unexpected') throw new TypeError('decoder bug');
          if (kind === 'poison') throw new PermanentError('not Avro', { code: 'TEST_POISON' });
          return value;
        },
        handler: async (message) => void handled.push(String(message.value)),
      },
      { maxAttempts: 4, retryMinMs: 1, retryMaxMs: 5 },
      {
        bootstrapServers: bootstrap,
        deadLetters: { publish: async (input) => void deadLetters.push(input) },
      },
    );
    await e.start();
    await until(
      () => deadLetters.length === 2 && handled.length === 1,
      30_000,
      'one handled, two dead-lettered',
    );
    await e.drain(5000);
    await e.stop();

    expect(handled).toEqual(['hiccup']);
    expect(Object.fromEntries(decodes)).toEqual({ hiccup: 3, unexpected: 4, poison: 1 });
    const byValue = new Map(deadLetters.map((d) => [String(d.value), d]));
    expect(byValue.get('unexpected')).toMatchObject({ attempts: 4 });
    expect(byValue.get('unexpected')!.error).toBeInstanceOf(TypeError);
    expect(byValue.get('poison')).toMatchObject({ attempts: 1 });
    expect((await committedOffsets(groupId, topic)).get(0)).toBe(3);
  });

  it('failure handling that itself fails (the DLQ caps reject) keeps the message: its key waits, and it is dead-lettered on a later try', async () => {
    const topic = await topicWith('engine-gate-rejects', [
      { key: 'k', value: 'bad' },
      { key: 'k', value: 'after' },
      { key: 'other', value: 'other' },
    ]);
    const events: string[] = [];
    const errors: string[] = [];
    let admitCalls = 0;
    const gate: DeadLetterGate = {
      admitDeadLetter: async () => {
        admitCalls++;
        if (admitCalls === 1) throw new Error('DLQ caps stopped');
        return { admitted: true };
      },
      recordSuccess: () => {},
      onResumed: () => {},
      degradedReason: () => undefined,
      releasePartition: () => {},
      deadLetterWriteFailed: () => {},
      deadLetterWritten: () => {},
      isBlocked: () => false,
    };
    const groupId = uniqueName('gate-rejects-group');
    const e = testEngine(
      {
        name: 'gate-rejects',
        groupId,
        topic,
        handler: async (message) => {
          if (String(message.value) === 'bad') throw new PermanentError('never valid');
          events.push(`handled ${String(message.value)}`);
        },
      },
      { retryMaxMs: 200 },
      {
        bootstrapServers: bootstrap,
        dlqGate: gate,
        deadLetters: { publish: async (input) => void events.push(`dead-lettered ${String(input.value)}`) },
        logger: recordingLogger(errors),
      },
    );
    await e.start();
    await until(() => events.length === 3, 30_000, 'every message handled or dead-lettered');
    await e.drain(5000);
    await e.stop();

    expect(admitCalls).toBe(2);
    expect(errors).toContain('failure handling failed: message kept unfinished and tried again');
    // Its key waited for it; the other key did not.
    expect(events.indexOf('dead-lettered bad')).toBeLessThan(events.indexOf('handled after'));
    expect(events).toContain('handled other');
    expect((await committedOffsets(groupId, topic)).get(0)).toBe(3);
  });

  it('a failed DLQ write retries only the write under its one admission: no handler re-run, no cap trip, paused until written, committed only after', async () => {
    const topic = await topicWith('engine-dlq-write-fails', [
      { key: 'k', value: 'bad' },
      { key: 'k', value: 'after' },
      { key: 'other', value: 'other' },
    ]);
    const registry = new Registry();
    // One dead letter in a row is allowed: a second admission of the same message would trip the cap.
    const caps = new DeadLetterCaps(
      { worker: 'dlq-write-fails', maxConsecutive: 1, limiterIdPrefix: `fleet-test:${randomUUID()}:` },
      { registry, redisUrl: loadStackEndpoints().redisUrl },
    );
    await caps.start();
    const handled: string[] = [];
    const errors: string[] = [];
    const pausedWhileRetrying: string[][] = [];
    let publishCalls = 0;
    const groupId = uniqueName('dlq-write-fails-group');
    const e = testEngine(
      {
        name: 'dlq-write-fails',
        groupId,
        topic,
        handler: async (message) => {
          handled.push(String(message.value));
          if (String(message.value) === 'bad') throw new PermanentError('never valid');
        },
      },
      { retryMinMs: 20, retryMaxMs: 200 },
      {
        bootstrapServers: bootstrap,
        dlqGate: caps,
        deadLetters: {
          publish: async () => {
            publishCalls++;
            if (publishCalls > 1) pausedWhileRetrying.push(e.snapshot()[0]?.pausedFor ?? []);
            if (publishCalls <= 3) {
              throw new KafkaClientError('DLQ broker unreachable', {
                code: RdKafka.CODES.ERRORS.ERR__TRANSPORT,
                retriable: true,
              });
            }
          },
        },
        logger: recordingLogger(errors),
      },
    );
    try {
      await e.start();
      await until(() => handled.includes('after'), 30_000, 'the key moved past its dead letter');
      await waitUntil(async () => (await committedOffsets(groupId, topic)).get(0) === 3, 10_000, 'committed');
      expect(publishCalls).toBe(4);
      expect(handled.filter((value) => value === 'bad')).toHaveLength(1);
      expect(caps.blocks()).toEqual([]);
      expect(
        await metricValue(registry, 'fleet_dlq_cap_trips_total', { cap: 'consecutive' }),
      ).toBeUndefined();
      expect(await metricValue(registry, 'fleet_dlq_write_failures_total', { code: 'ERR__TRANSPORT' })).toBe(
        3,
      );
      expect(await metricValue(registry, 'fleet_dlq_write_failing_partitions', {})).toBe(0);
      expect(errors.filter((m) => m.startsWith('dead-letter write failed'))).toHaveLength(3);
      // Paused on the message while only its write was retried; consuming again once it was written.
      expect(pausedWhileRetrying.every((reasons) => reasons.includes('dlq_cap'))).toBe(true);
      expect(e.snapshot()[0]!.pausedFor).toEqual([]);
      expect(handled.indexOf('after')).toBeGreaterThan(handled.indexOf('bad'));
    } finally {
      await e.drain(5000);
      await e.stop();
      await caps.stop();
    }
  });

  it('a subscribed topic that does not exist makes the member not ready and is logged, until it is created', async () => {
    const topic = uniqueName('engine-missing-topic');
    const errors: string[] = [];
    const handled: string[] = [];
    const e = testEngine(
      {
        name: 'missing-topic',
        groupId: uniqueName('missing-topic-group'),
        topic,
        handler: async (message) => void handled.push(String(message.value)),
      },
      {},
      { bootstrapServers: bootstrap, logger: recordingLogger(errors) },
    );
    try {
      await e.start();
      await until(
        () => e.readiness().reason?.includes('not found') === true,
        10_000,
        'not ready: missing topic',
      );
      expect(e.readiness()).toEqual({ ok: false, reason: `subscribed topic(s) not found: ${topic}` });
      expect(errors).toContain('subscribed topic does not exist: nothing is consumed from it (not ready)');
      topics.push(topic);
      await createTopics([{ topic, partitions: 1 }]);
      await produceRecords(topic, [{ key: 'k', value: 'hello', partition: 0 }]);
      await until(() => handled.includes('hello'), 60_000, 'consumed once the topic exists');
      await until(() => e.readiness().ok, 10_000, 'ready once the topic exists');
    } finally {
      await e.drain(5000);
      await e.stop();
    }
  });
});
