import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { AvroSerde } from '../avro/avroSerde.ts';
import { SchemaRegistryClient } from '../avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../avro/schemaRegistryConfig.ts';
import { ConfigError } from '../config/configError.ts';
import { loadStackEndpoints } from '../config/stackEndpoints.ts';
import type { ConsumedMessage, MessageHandler } from '../consumer/consumedMessage.ts';
import { PermanentError, RetriableError } from '../errors/processingErrors.ts';
import type { FleetProducer } from '../producer/fleetProducer.ts';
import { createCircuitBreaker } from '../resilience/circuitBreaker.ts';
import { deadLetterHeaders } from '../resilience/deadLetterRecord.ts';
import { metricValue } from '../resilience/testSupport.ts';
import { reportFatalClientError } from '../testing/fatalProducerError.ts';
import {
  bootstrap,
  committedOffsets,
  createTopics,
  deleteTopics,
  produceRecords,
  readAll,
  recordCount,
  testWorkerEnv,
  uniqueName,
  waitUntil,
} from '../testing/kafkaTestKit.ts';
import { type RunningWorker, startWorker, type WorkerModule } from './runWorker.ts';

const schema = JSON.stringify({
  type: 'record',
  name: 'Probe',
  namespace: 'dev.fleetstream.test',
  doc: 'A test record.',
  fields: [
    { name: 'key', type: 'string', doc: 'The record key.' },
    { name: 'seq', type: 'int', doc: 'Sequence within the key.' },
  ],
});

interface Probe {
  key: string;
  seq: number;
}

const registry = new SchemaRegistryClient(loadSchemaRegistryConfig());
const serde = new AvroSerde({ source: registry });
const createdTopics: string[] = [];
const createdSubjects: string[] = [];
const running: RunningWorker<unknown>[] = [];

/** A topic with its DLQ and a registered value schema. */
async function avroTopic(prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  await createTopics([
    { topic, partitions },
    { topic: `${topic}.dlq`, partitions },
  ]);
  createdTopics.push(topic, `${topic}.dlq`);
  await registry.register(`${topic}-value`, schema, 'BACKWARD');
  createdSubjects.push(`${topic}-value`);
  return topic;
}

/** An Avro topic whose DLQ refuses records larger than `dlqMaxMessageBytes`. */
async function avroTopicWithSmallDlq(prefix: string, dlqMaxMessageBytes: number): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.ERROR },
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 1, replicationFactor: 1 },
        {
          topic: `${topic}.dlq`,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: 'max.message.bytes', value: String(dlqMaxMessageBytes) }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  createdTopics.push(topic, `${topic}.dlq`);
  await registry.register(`${topic}-value`, schema, 'BACKWARD');
  createdSubjects.push(`${topic}-value`);
  return topic;
}

async function produceProbes(topic: string, probes: Probe[], partition?: number): Promise<void> {
  const records = [];
  for (const p of probes) {
    records.push({
      key: p.key,
      value: await serde.encode(`${topic}-value` as never, p as never),
      ...(partition === undefined ? {} : { partition }),
    });
  }
  await produceRecords(topic, records);
}

/** A test worker's environment with this file's shorter retry ceiling. */
function testEnv(overrides: Record<string, string>): Record<string, string | undefined> {
  return testWorkerEnv({ CONSUMER_RETRY_MAX_MS: '100', ...overrides });
}

async function start<V>(module: WorkerModule<V>, env: Record<string, string>): Promise<RunningWorker<V>> {
  const worker = await startWorker(module, testEnv(env));
  running.push(worker as RunningWorker<unknown>);
  return worker;
}

function moduleFor(
  name: string,
  topic: string,
  handler: MessageHandler<Probe>,
  extra: Partial<WorkerModule<Probe>> = {},
): WorkerModule<Probe> {
  return {
    name,
    groupId: uniqueName(`${name}-group`),
    topics: [topic],
    defaultMetricsPort: 0,
    createHandler: async () => ({ handler }),
    ...extra,
  };
}

/** A worker whose handler calls a downstream behind the `downstream` breaker; down until `recover()`. */
function flakyDownstream(topic: string, resetTimeoutMs: number) {
  let up = false;
  let calls = 0;
  const delivered: string[] = [];
  const module: WorkerModule<Probe> = {
    ...moduleFor(`breaker-${resetTimeoutMs}`, topic, async () => undefined),
    dependsOn: ['downstream'],
    createHandler: async ({ breakers, registry: metricsRegistry }) => {
      const breaker = breakers.add(
        createCircuitBreaker(
          'downstream',
          async (_signal: AbortSignal, id: string) => {
            calls++;
            if (!up) throw new Error('503 from provider');
            delivered.push(id);
          },
          {
            volumeThreshold: 3,
            errorThresholdPercentage: 50,
            resetTimeoutMs,
            timeoutMs: 1000,
            registry: metricsRegistry,
          },
        ),
      );
      return {
        handler: async (m: ConsumedMessage<Probe>) =>
          void (await breaker.fire(`${m.value.key}:${m.value.seq}`)),
      };
    },
  };
  const recover = () => {
    up = true;
  };
  return { module, delivered, calls: () => calls, recover };
}

/** `count` records that are not Avro, spread over `partitions`: every one is dead-lettered. */
function producePoison(topic: string, count: number, partitions: number): Promise<void> {
  return produceRecords(
    topic,
    Array.from({ length: count }, (_, i) => ({
      key: `p${i}`,
      value: Buffer.from(`poison ${i}`),
      partition: i % partitions,
    })),
  );
}

/** Starts replicas of one worker (one name, one group) on `topic`; each accepts whatever it can decode. */
function replicaSet(
  prefix: string,
  topic: string,
  env: Record<string, string>,
): () => Promise<RunningWorker<Probe>> {
  const name = uniqueName(prefix).replaceAll('.', '-');
  const groupId = uniqueName(`${prefix}-group`);
  return () => start({ ...moduleFor(name, topic, async () => undefined), groupId }, env);
}

async function metric(worker: RunningWorker<unknown>, name: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${worker.healthPort}/metrics`);
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .join('\n');
}

afterAll(async () => {
  for (const worker of running) await worker.stop();
  await deleteTopics(createdTopics);
  for (const subject of createdSubjects) await registry.deleteSubject(subject).catch(() => undefined);
  registry.close();
});

describe('worker runtime (real Kafka, registry, Redis)', () => {
  it('retries a transient failure with backoff while other keys flow, then dead-letters past the attempt limit with every header', async () => {
    const topic = await avroTopic('rt-retry', 3);
    const flakyFailures = new Map<number, number>();
    const completions: string[] = [];
    const handler: MessageHandler<Probe> = async (message: ConsumedMessage<Probe>) => {
      const { key, seq } = message.value;
      if (key === 'flaky') {
        const failures = flakyFailures.get(seq) ?? 0;
        if (failures < 2) {
          flakyFailures.set(seq, failures + 1);
          throw new RetriableError('downstream hiccup');
        }
      }
      if (key === 'doomed') throw new RetriableError('never works');
      if (key === 'rejected') throw new PermanentError('business rule refuses it', { code: 'RULE' });
      completions.push(`${key}:${seq}`);
    };
    await produceProbes(topic, [
      { key: 'flaky', seq: 0 },
      { key: 'flaky', seq: 1 },
      { key: 'doomed', seq: 0 },
      { key: 'rejected', seq: 0 },
      ...Array.from({ length: 20 }, (_, i) => ({ key: `other${i}`, seq: 0 })),
    ]);
    const module = moduleFor('retry-test', topic, handler);
    const worker = await start(module, {
      CONSUMER_MAX_ATTEMPTS: '3',
      CONSUMER_RETRY_MIN_MS: '150',
      CONSUMER_RETRY_MAX_MS: '300',
      DLQ_MIN_MESSAGES: '1000',
    });
    await waitUntil(() => completions.length >= 22, 30_000, 'every healthy message');
    const dlq = await readAll(`${topic}.dlq`, 2, 20_000);
    await waitUntil(
      async () => {
        const committed = await committedOffsets(module.groupId, topic);
        return [...committed.values()].reduce((n, o) => n + Math.max(0, o), 0) === 24;
      },
      10_000,
      'the watermark to pass the dead-lettered messages',
    );

    // Order within the flaky key held, and other keys finished while it waited for its retries.
    expect(completions.filter((c) => c.startsWith('flaky'))).toEqual(['flaky:0', 'flaky:1']);
    expect(completions.indexOf('flaky:0')).toBeGreaterThan(completions.indexOf('other0'));
    expect(flakyFailures.get(0)).toBe(2);

    expect(dlq.map((r) => r.key).sort()).toEqual(['doomed', 'rejected']);
    const doomed = dlq.find((r) => r.key === 'doomed')!;
    const h = deadLetterHeaders;
    expect(doomed.headers[h.originalTopic]).toBe(topic);
    expect(Number(doomed.headers[h.originalPartition])).toBe(doomed.partition);
    expect(doomed.headers[h.originalOffset]).toMatch(/^\d+$/);
    expect(doomed.headers[h.originalTimestamp]).toMatch(/^\d+$/);
    expect(doomed.headers[h.consumerGroup]).toMatch(/retry-test-group/);
    expect(doomed.headers[h.errorClass]).toBe('RetriableError');
    expect(doomed.headers[h.errorMessage]).toBe('never works');
    expect(doomed.headers[h.attempts]).toBe('3');
    expect(doomed.headers[h.worker]).toBe('retry-test');
    expect(Date.parse(doomed.headers[h.deadLetteredAt]!)).toBeGreaterThan(0);
    // It had no correlation-id: the DLQ record carries the one its log lines used.
    expect(doomed.headers['correlation-id']).toBe(
      `${topic}/${doomed.headers[h.originalPartition]}/${doomed.headers[h.originalOffset]}`,
    );
    // The DLQ keeps the original value bytes: they still decode as the original record.
    expect(await serde.decode(doomed.value!)).toEqual({ key: 'doomed', seq: 0 });
    const rejected = dlq.find((r) => r.key === 'rejected')!;
    expect(rejected.headers[h.attempts]).toBe('1');
    expect(rejected.headers[h.errorCode]).toBe('RULE');
    expect(await metric(worker as RunningWorker<unknown>, 'fleet_consumer_messages_retried_total')).toMatch(
      / [1-9]\d*$/m,
    );
  });

  it('sends an undecodable message to the DLQ and keeps processing', async () => {
    const topic = await avroTopic('rt-poison', 1);
    const handled: Probe[] = [];
    await produceProbes(topic, [{ key: 'a', seq: 0 }]);
    await produceRecords(topic, [{ key: 'a', value: Buffer.from('definitely not avro') }]);
    await produceProbes(topic, [{ key: 'a', seq: 1 }]);
    await start(
      moduleFor('poison-test', topic, async (m) => void handled.push(m.value)),
      { DLQ_MIN_MESSAGES: '1000' },
    );
    await waitUntil(() => handled.length >= 2, 30_000, 'both good messages');
    const dlq = await readAll(`${topic}.dlq`, 1, 20_000);
    expect(handled).toEqual([
      { key: 'a', seq: 0 },
      { key: 'a', seq: 1 },
    ]);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.value!.toString()).toBe('definitely not avro');
    expect(dlq[0]!.headers[deadLetterHeaders.errorClass]).toBe('AvroPoisonMessageError');
  });

  it('stops dead-lettering at the consecutive cap: the DLQ holds exactly the cap, the worker is degraded and paused', async () => {
    const topic = await avroTopic('rt-cap', 1);
    await produceRecords(
      topic,
      Array.from({ length: 40 }, (_, i) => ({ key: `p${i}`, value: Buffer.from(`poison ${i}`) })),
    );
    const module = moduleFor('cap-test', topic, async () => undefined);
    const worker = await start(module, {
      DLQ_MAX_CONSECUTIVE: '5',
      DLQ_MIN_MESSAGES: '1000',
      DLQ_MAX_PER_MINUTE: '1000',
      DLQ_COOLDOWN_MS: '0',
    });
    await waitUntil(
      () => worker.engine.readiness().ok === false && worker.caps.degradedReason() !== undefined,
      30_000,
      'degraded',
    );
    await sleep(1500); // nothing more may reach the DLQ while blocked
    const dlq = await readAll(`${topic}.dlq`, 100, 3000);
    expect(dlq).toHaveLength(5);
    expect(worker.engine.readiness().reason).toMatch(/consecutive|cap/i);
    expect(worker.engine.snapshot()[0]!.pausedFor).toContain('dlq_cap');
    const ready = await fetch(`http://127.0.0.1:${worker.healthPort}/readyz`);
    expect(ready.status).toBe(503);
    expect(await metric(worker as RunningWorker<unknown>, 'fleet_dlq_cap_reached')).toMatch(/ 1$/m);
    // Nothing past the blocked message was committed.
    const committed = await committedOffsets(module.groupId, topic);
    expect(committed.get(0)).toBe(5);
  });

  it('a dead letter its DLQ refuses (too large) is charged once: no cap trip, no handler re-run, the partition stays paused on it and says so', async () => {
    // The record fits its topic; with the fleet.dlq.* headers its dead letter does not fit the DLQ.
    const topic = await avroTopicWithSmallDlq('rt-dlq-too-large', 400);
    await produceProbes(topic, [{ key: `big-${'x'.repeat(300)}`, seq: 0 }], 0);
    await produceProbes(topic, [{ key: 'small', seq: 1 }], 0);
    const calls = new Map<string, number>();
    const name = uniqueName('dlq-too-large').replaceAll('.', '-');
    const module = moduleFor(name, topic, async (m) => {
      calls.set(m.value.key, (calls.get(m.value.key) ?? 0) + 1);
      if (m.value.key.startsWith('big-')) throw new PermanentError('never valid');
    });
    // Three in a row are allowed: charging every retried write would trip the cap at the fourth.
    const worker = await start(module, {
      DLQ_MAX_CONSECUTIVE: '3',
      DLQ_MAX_PER_MINUTE: '60',
      DLQ_COOLDOWN_MS: '0',
    });
    const refusedByTheDlq = async () =>
      (await metricValue(worker.registry, 'fleet_producer_send_errors_total', {
        topic: `${topic}.dlq`,
        code: 'ERR_MSG_SIZE_TOO_LARGE',
      })) ?? 0;
    await waitUntil(async () => (await refusedByTheDlq()) >= 3, 30_000, 'three refused DLQ writes');
    await sleep(500); // a fourth charge, if any, would trip the consecutive cap now

    expect(await recordCount(`${topic}.dlq`)).toBe(0);
    // The handler ran once; only the write was retried, under the one admission.
    expect([...calls.entries()].find(([key]) => key.startsWith('big-'))?.[1]).toBe(1);
    expect(calls.get('small')).toBe(1);
    expect(worker.caps.blocks()).toEqual([]);
    expect(
      await metricValue(worker.registry, 'fleet_dlq_cap_trips_total', { cap: 'consecutive' }),
    ).toBeUndefined();
    const redis = new Redis(loadStackEndpoints().redisUrl, { maxRetriesPerRequest: 1 });
    try {
      expect(await redis.hget(`b_fleet:dlq-rate:${name}_settings`, 'reservoir')).toBe('59');
    } finally {
      redis.disconnect();
    }
    // Says so: metrics an alert can use, the reason in /readyz, the partition paused on the message.
    expect(
      await metricValue(worker.registry, 'fleet_dlq_write_failures_total', {
        code: 'ERR_MSG_SIZE_TOO_LARGE',
      }),
    ).toBeGreaterThanOrEqual(3);
    expect(await metricValue(worker.registry, 'fleet_dlq_write_failing_partitions', {})).toBe(1);
    expect(worker.caps.degradedReason()).toMatch(
      /dlq_write: .*\[0\] offset 0: .*ERR_MSG_SIZE_TOO_LARGE; refused until an operator acts/,
    );
    const ready = await fetch(`http://127.0.0.1:${worker.healthPort}/readyz`);
    expect(ready.status).toBe(503);
    expect(worker.engine.snapshot()[0]!.pausedFor).toContain('dlq_cap');
    // Nothing committed past the message whose dead letter is not stored.
    expect((await committedOffsets(module.groupId, topic)).get(0) ?? -1).toBeLessThanOrEqual(0);
  });

  it('a cap block leaves with its partition: after a revoke it no longer holds this replica unready', async () => {
    const topic = await avroTopic('rt-cap-revoke', 2);
    await producePoison(topic, 10, 2);
    const replica = replicaSet('cap-revoke', topic, {
      DLQ_MAX_CONSECUTIVE: '1',
      DLQ_MIN_MESSAGES: '1000',
      DLQ_MAX_PER_MINUTE: '1000',
      DLQ_COOLDOWN_MS: '0',
    });
    const a = await replica();
    await waitUntil(() => a.caps.blocks().length === 2, 30_000, 'both partitions blocked');
    // A second replica joins: one partition (and its block) moves to it.
    const b = await replica();
    await waitUntil(
      () => a.engine.snapshot().length === 1 && b.engine.snapshot().length === 1,
      60_000,
      'the partitions shared',
    );
    const kept = a.engine.snapshot()[0]!.partition;
    expect(a.caps.blocks().map((block) => block.partition)).toEqual([kept]);
    expect(a.engine.readiness().reason).not.toMatch(new RegExp(`\\[${1 - kept}\\]`));
  });

  it('a replica beyond the partition count is ready with nothing assigned (a rollout at full scale finishes)', async () => {
    const topic = await avroTopic('rt-idle-replica', 1);
    const replica = replicaSet('idle-replica', topic, {});
    const first = await replica();
    await waitUntil(
      () => first.engine.snapshot().length === 1,
      30_000,
      'the first replica to own the partition',
    );
    const idle = await replica();
    await waitUntil(() => idle.engine.readiness().ok, 30_000, 'the replica with nothing to do to be ready');
    expect(idle.engine.snapshot()).toHaveLength(0);
    const ready = await fetch(`http://127.0.0.1:${idle.healthPort}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('two replicas share the per-minute DLQ rate cap through Redis', async () => {
    const topic = await avroTopic('rt-rate', 4);
    await producePoison(topic, 60, 4);
    const replica = replicaSet('rate', topic, {
      DLQ_MAX_PER_MINUTE: '12',
      DLQ_MAX_CONSECUTIVE: '1000',
      DLQ_MAX_RATIO: '1',
      DLQ_MIN_MESSAGES: '1000',
      DLQ_COOLDOWN_MS: '0',
    });
    const a = await replica();
    const b = await replica();
    await waitUntil(
      () => a.caps.degradedReason() !== undefined || b.caps.degradedReason() !== undefined,
      40_000,
      'the rate cap',
    );
    await sleep(2000);
    const dlq = await readAll(`${topic}.dlq`, 100, 3000);
    expect(dlq).toHaveLength(12);
  });

  it('an open breaker pauses consumption without DLQ writes and resumes after recovery', async () => {
    const topic = await avroTopic('rt-breaker', 2);
    const downstream = flakyDownstream(topic, 1500);
    await produceProbes(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, seq: Math.floor(i / 5) })),
    );
    const worker = await start(downstream.module, { CONSUMER_MAX_ATTEMPTS: '2', DLQ_MIN_MESSAGES: '1' });
    await waitUntil(
      () => worker.engine.snapshot().some((p) => p.pausedFor.includes('breaker')),
      30_000,
      'the breaker to pause',
    );
    const callsWhileOpen = downstream.calls();
    await sleep(1000);
    expect(downstream.calls() - callsWhileOpen).toBeLessThanOrEqual(1);
    downstream.recover();
    await waitUntil(() => new Set(downstream.delivered).size >= 30, 40_000, 'every message after recovery');
    const dlq = await readAll(`${topic}.dlq`, 1, 2000);
    expect(dlq).toHaveLength(0);
    expect(await metric(worker as RunningWorker<unknown>, 'fleet_breaker_state')).toMatch(
      /breaker="downstream"[^\n]* 0$/m,
    );
  });

  it('dead-letters nothing while the downstream stays down through many failed half-open probes', async () => {
    const topic = await avroTopic('rt-breaker-probes', 2);
    const downstream = flakyDownstream(topic, 200);
    await produceProbes(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 5}`, seq: Math.floor(i / 5) })),
    );
    // Three attempts: each failed probe used to count as one, so the third probe dead-lettered.
    await start(downstream.module, { CONSUMER_MAX_ATTEMPTS: '3', DLQ_MIN_MESSAGES: '1' });
    await waitUntil(() => downstream.calls() >= 20, 30_000, 'twenty failed calls, most of them probes');
    expect(await readAll(`${topic}.dlq`, 1, 1000)).toHaveLength(0);
    downstream.recover();
    await waitUntil(() => new Set(downstream.delivered).size >= 10, 40_000, 'every message after recovery');
    expect(await readAll(`${topic}.dlq`, 1, 1000)).toHaveLength(0);
  });

  it('is no longer live once its producer failed fatally: every send, dead letters included, would fail', async () => {
    const topic = await avroTopic('rt-fatal-producer', 1);
    let producer: FleetProducer | undefined;
    const worker = await start(
      moduleFor('rt-fatal-producer', topic, async () => undefined, {
        createHandler: async (resources) => {
          producer = resources.producer;
          return { handler: async () => undefined };
        },
      }),
      {},
    );
    const live = await fetch(`http://127.0.0.1:${worker.healthPort}/healthz`);
    expect(live.status).toBe(200);
    reportFatalClientError(producer as FleetProducer);
    const dead = await fetch(`http://127.0.0.1:${worker.healthPort}/healthz`);
    expect(dead.status).toBe(503);
    expect(await dead.text()).toMatch(/producer[\s\S]*failed fatally/);
    const ready = await fetch(`http://127.0.0.1:${worker.healthPort}/readyz`);
    expect(ready.status).toBe(503);
  });

  it('refuses to start (a ConfigError naming SCHEMA_REGISTRY_URL) when the URL serves no registry API', async () => {
    const topic = await avroTopic('rt-registry-root', 1);
    const registryRoot = new URL(loadSchemaRegistryConfig().url).origin;
    const failure = await startWorker(
      moduleFor('rt-registry-root', topic, async () => undefined),
      testEnv({ SCHEMA_REGISTRY_URL: registryRoot }),
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).problems.map((p) => p.variable)).toEqual(['SCHEMA_REGISTRY_URL']);
  });

  it('drains and stops: the watermark is committed and no handle is left open', async () => {
    const topic = await avroTopic('rt-stop', 2);
    await produceProbes(
      topic,
      Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 7}`, seq: i })),
    );
    const before = new Set(process.getActiveResourcesInfo());
    let handled = 0;
    const module = moduleFor('stop-test', topic, async () => {
      await sleep(2);
      handled++;
    });
    const worker = await startWorker(module, testEnv({}));
    await waitUntil(() => handled >= 200, 30_000, 'all handled');
    expect(await worker.drain(5000)).toBe(true);
    await worker.stop();
    await worker.stop(); // idempotent
    const committed = await committedOffsets(module.groupId, topic);
    expect([...committed.values()].reduce((n, o) => n + o, 0)).toBe(200);
    await sleep(200);
    const leaked = process
      .getActiveResourcesInfo()
      .filter((r) => !before.has(r) && r !== 'TTYWrap' && r !== 'Timeout' && r !== 'Immediate');
    expect(leaked).toEqual([]);
  });
});
