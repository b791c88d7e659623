import type { Message } from '@confluentinc/kafka-javascript';
import { openKafkaAdmin } from '../../workers/lag-monitor/kafkaAdmin.ts';
import { createRdKafkaConsumer } from '../../workers/runtime/consumer/rdkafkaConsumer.ts';
import { PermanentError } from '../../workers/runtime/errors/processingErrors.ts';
import { baseClientConfig, defaultKafkaClientSettings } from '../../workers/runtime/kafka/clientConfig.ts';
import { buildDeadLetterRecord } from '../../workers/runtime/resilience/deadLetterRecord.ts';
import { bootstrap, produceRecords } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { runOpsCli } from '../cli.ts';
import { readRanges } from '../dlq/topicReader.ts';

/** Test helpers for the ops CLI against the real broker. Not for production code. */

export const testClient = defaultKafkaClientSettings(bootstrap, 'ops-tests');

/** Runs `ops` in-process with the test environment and captured output. */
export async function ops(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOpsCli(argv, { env: process.env, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** One dead letter to seed: its original coordinates and payload, and why it failed. */
export interface SeedLetter {
  partition: number;
  offset: number;
  key: string;
  value: Buffer;
  correlationId: string;
  /** W3C trace context of the original record. */
  traceparent: string;
  error: unknown;
  deadLetteredAt: Date;
}

/** Dead letters of `original` as the runtime writes them (buildDeadLetterRecord), produced to `<original>.dlq`. */
export async function seedDeadLetters(original: string, letters: readonly SeedLetter[], partitions: number) {
  const records = letters.map((letter) =>
    buildDeadLetterRecord(
      {
        topic: original,
        partition: letter.partition,
        offset: letter.offset,
        timestamp: letter.deadLetteredAt.getTime() - 1000,
        key: Buffer.from(letter.key),
        value: letter.value,
        headers: {
          'correlation-id': Buffer.from(letter.correlationId),
          traceparent: Buffer.from(letter.traceparent),
        },
        error: letter.error,
        attempts: 3,
        groupId: 'fleet.test-settler',
        worker: 'test-worker',
      },
      {
        sourcePartitionCount: partitions,
        deadLetterPartitionCount: partitions,
        deadLetteredAt: letter.deadLetteredAt,
      },
    ),
  );
  await produceRecords(
    `${original}.dlq`,
    records.map((r) => ({
      key: r.key?.toString() ?? null,
      value: r.value,
      partition: r.partition ?? 0,
      headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()])),
    })),
  );
}

/** `count` dead letters spread over partitions, every third a PermanentError. */
export function letters(
  count: number,
  partitions: number,
  start = Date.parse('2026-05-01T10:00:00Z'),
): SeedLetter[] {
  return Array.from({ length: count }, (_, i) => ({
    partition: i % partitions,
    offset: 100 + i,
    key: `vehicle-${i % 4}`,
    value: Buffer.from(`payload-${i}`),
    correlationId: `corr-${i}`,
    traceparent: `00-${(i + 1).toString(16).padStart(32, 'a')}-${'b'.repeat(16)}-01`,
    error: i % 3 === 0 ? new PermanentError(`rejected ${i}`) : new Error(`boom ${i}`),
    deadLetteredAt: new Date(start + i * 60_000),
  }));
}

/** Every record of a topic, read by assignment from the log start to the current end. */
export async function readTopic(topic: string): Promise<Message[]> {
  const admin = await openKafkaAdmin(testClient);
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const messages: Message[] = [];
    await readRanges({
      client: testClient,
      topic,
      ranges: offsets.map((o) => ({ partition: o.partition, from: Number(o.low), to: Number(o.high) })),
      onRecord: (message) => {
        messages.push(message);
        return true;
      },
    });
    return messages;
  } finally {
    await admin.disconnect();
  }
}

/** A record's header as text. */
export function header(message: Message, name: string): string | undefined {
  for (const h of message.headers ?? []) {
    const value = h[name];
    if (value !== undefined) return value.toString();
  }
  return undefined;
}

/** Commits an offset (and metadata) for a group from a consumer that never joins it. */
export async function commitAsNonMember(
  group: string,
  topic: string,
  partition: number,
  offset: number,
  metadata?: string,
): Promise<void> {
  const consumer = createRdKafkaConsumer(
    { ...baseClientConfig(testClient), 'group.id': group, 'enable.auto.commit': false },
    {},
  );
  await new Promise<void>((resolve, reject) => consumer.connect({}, (e) => (e ? reject(e) : resolve())));
  try {
    await new Promise<void>((resolve, reject) =>
      consumer.commitCb([{ topic, partition, offset, ...(metadata ? { metadata } : {}) } as never], (e) =>
        e ? reject(e) : resolve(),
      ),
    );
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
