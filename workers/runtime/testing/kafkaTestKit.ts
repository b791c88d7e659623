import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaJS, RdKafka } from '@confluentinc/kafka-javascript';
import { loadStackEndpoints } from '../config/stackEndpoints.ts';
import { retryRetriable } from '../kafka/retryRetriable.ts';

/** Test helpers against the real broker: random topic names, bulk produce, read-back. Not for production code. */
export const bootstrap = loadStackEndpoints().kafkaBootstrap;

/** A unique name for a test's topic or group. */
export function uniqueName(prefix: string): string {
  return `test.${prefix}.${randomUUID().slice(0, 8)}`;
}

function kafka() {
  return new KafkaJS.Kafka({ kafkaJS: { brokers: bootstrap.split(','), logLevel: KafkaJS.logLevel.ERROR } });
}

/** Creates topics (auto-creation is off on the fleet's broker). */
export async function createTopics(topics: { topic: string; partitions: number }[]): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes topics, ignoring ones already gone. */
export async function deleteTopics(topics: string[]): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics });
  } catch {
    // A test that failed before creating its topics must still be able to clean up.
  } finally {
    await admin.disconnect();
  }
}

/** Committed offsets of a group on a topic, per partition (-1 when none). */
export async function committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    // A coordinator still loading after a restart or a new group answers retriably: not a test failure.
    const result = await retryRetriable(`reading the offsets of ${groupId}`, () =>
      admin.fetchOffsets({ groupId, topics: [topic] }),
    );
    const map = new Map<number, number>();
    for (const p of result[0]?.partitions ?? []) map.set(p.partition, Number(p.offset));
    return map;
  } finally {
    await admin.disconnect();
  }
}

/** How many members a consumer group has now (0 once the last one left or when it has none). */
export async function groupMemberCount(groupId: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const described = await retryRetriable(`describing group ${groupId}`, () =>
      admin.describeGroups([groupId]),
    );
    return described.groups[0]?.members.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/** One record to produce. */
export interface TestRecord {
  key: string | null;
  value: Buffer | string | null;
  partition?: number;
  /** By name, or as an ordered list in which a name may repeat. */
  headers?: Record<string, string | Buffer> | [string, string | Buffer][];
}

/** Produces records fast (librdkafka batching) and resolves when every delivery report arrived. */
export async function produceRecords(topic: string, records: TestRecord[]): Promise<void> {
  const producer = new RdKafka.Producer({
    'bootstrap.servers': bootstrap,
    dr_cb: true,
    'linger.ms': 5,
    'enable.idempotence': true,
    'queue.buffering.max.messages': 1_000_000,
  });
  await new Promise<void>((resolve, reject) => producer.connect({}, (e) => (e ? reject(e) : resolve())));
  producer.setPollInterval(10);
  let pending = records.length;
  let failure: Error | undefined;
  const done = new Promise<void>((resolve, reject) => {
    if (pending === 0) resolve();
    producer.on('delivery-report', (error) => {
      if (error) failure = new Error(error.message);
      pending--;
      if (pending === 0) failure ? reject(failure) : resolve();
    });
  });
  for (const record of records) {
    const entries = Array.isArray(record.headers) ? record.headers : Object.entries(record.headers ?? {});
    const headers = record.headers ? entries.map(([k, v]) => ({ [k]: v })) : undefined;
    const value =
      record.value === null ? null : Buffer.isBuffer(record.value) ? record.value : Buffer.from(record.value);
    for (;;) {
      try {
        producer.produce(topic, record.partition ?? null, value, record.key, Date.now(), undefined, headers);
        break;
      } catch (error) {
        if (!String((error as Error).message).includes('Queue full')) throw error;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  try {
    await done;
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}

/** Reads every record of a topic from the beginning until `expected` arrived or `timeoutMs` passed. */
export async function readAll(
  topic: string,
  expected: number,
  timeoutMs = 30_000,
): Promise<
  {
    key: string | null;
    value: Buffer | null;
    partition: number;
    offset: number;
    headers: Record<string, string>;
  }[]
> {
  const consumer = kafka().consumer({ kafkaJS: { groupId: uniqueName('reader'), fromBeginning: true } });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  const out: {
    key: string | null;
    value: Buffer | null;
    partition: number;
    offset: number;
    headers: Record<string, string>;
  }[] = [];
  const finished = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {}))
          headers[k] = String(Array.isArray(v) ? v[0] : v);
        out.push({
          key: message.key?.toString() ?? null,
          value: message.value,
          partition,
          offset: Number(message.offset),
          headers,
        });
        if (out.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await finished;
  await consumer.disconnect();
  return out;
}

/** A new consumer group name. */
export function uniqueGroup(purpose: string): string {
  return uniqueName(`${purpose}-group`);
}

/** Polls `predicate` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** End (high-watermark) offset of each partition of a topic. */
export async function endOffsets(topic: string): Promise<Map<number, number>> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Waits until `groupId` committed every record of `topic` (the end offset of each partition). */
export async function waitUntilConsumed(groupId: string, topic: string, timeoutMs = 60_000): Promise<void> {
  const ends = await endOffsets(topic);
  await waitUntil(
    async () => {
      const committed = await committedOffsets(groupId, topic);
      return [...ends].every(([partition, end]) => end === 0 || committed.get(partition) === end);
    },
    timeoutMs,
    `group ${groupId} to commit all of ${topic}`,
  );
}

/** Number of records on a topic (the sum of its partitions' end offsets). */
export async function recordCount(topic: string): Promise<number> {
  return [...(await endOffsets(topic)).values()].reduce((sum, end) => sum + end, 0);
}

/**
 * The environment of a worker started inside a test: the process's own, no metrics port, no logs,
 * frequent commits and short retries so a test waits seconds, not minutes; `extra` on top.
 */
export function testWorkerEnv(extra: Record<string, string>): Record<string, string | undefined> {
  return {
    ...process.env,
    METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
    CONSUMER_COMMIT_INTERVAL_MS: '100',
    CONSUMER_RETRY_MIN_MS: '20',
    CONSUMER_RETRY_MAX_MS: '200',
    ...extra,
  };
}
