import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { context, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKafkaClientSettings } from '../kafka/clientConfig.ts';
import { KafkaConnectError } from '../kafka/librdkafkaErrors.ts';
import { TestTopics } from '../kafka/testTopics.ts';
import { createMetricsRegistry, createProducerMetrics } from '../observability/metrics.ts';
import { currentTraceIds, withConsumerSpan } from '../observability/tracing.ts';
import { reportFatalClientError } from '../testing/fatalProducerError.ts';
import { recordCount } from '../testing/kafkaTestKit.ts';
import { FleetProducer, type FleetProducerOptions } from './fleetProducer.ts';
import { ProduceError } from './produceError.ts';
import { defaultProducerSettings, type ProducerSettings } from './producerSettings.ts';

const topics = new TestTopics();
const registry = createMetricsRegistry({ worker: 'producer-int-test', collectDefaultMetrics: false });
const metrics = createProducerMetrics(registry);
const jsonEncoder = async (_topic: string, value: unknown) => Buffer.from(JSON.stringify(value));
const producers: FleetProducer[] = [];

function newProducer(settings: Partial<ProducerSettings> = {}, options: Partial<FleetProducerOptions> = {}) {
  const producer = new FleetProducer({
    client: defaultKafkaClientSettings(topics.bootstrap, `producer-int-${randomUUID().slice(0, 6)}`),
    settings: { ...defaultProducerSettings, ...settings },
    encoder: jsonEncoder,
    metrics,
    ...options,
  });
  producers.push(producer);
  return producer;
}

async function counterValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  const values = (await metric?.get())?.values ?? [];
  const match = values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return match?.value ?? 0;
}

interface ReadRecord {
  partition: number;
  offset: number;
  key: string;
  value: unknown;
  headers: Record<string, Buffer>;
}

/** Reads `count` records from the start of `topic` with a KafkaJS-compat consumer. */
async function readBack(topic: string, count: number): Promise<ReadRecord[]> {
  const kafka = new KafkaJS.Kafka({
    kafkaJS: { brokers: topics.bootstrap.split(','), logLevel: KafkaJS.logLevel.NOTHING },
  });
  const consumer = kafka.consumer({ kafkaJS: { groupId: `read-back-${randomUUID()}`, fromBeginning: true } });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers: Record<string, Buffer> = {};
            for (const [name, value] of Object.entries(message.headers ?? {})) {
              if (Buffer.isBuffer(value)) headers[name] = value;
            }
            records.push({
              partition,
              offset: Number(message.offset),
              key: message.key?.toString() ?? '',
              value: JSON.parse(message.value?.toString() ?? 'null'),
              headers,
            });
            if (records.length === count) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Kafka's Java DefaultPartitioner hash (murmur2), to pin Java-compatible partitioning. */
function javaPartition(key: string, partitions: number): number {
  const data = Buffer.from(key);
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ data.length;
  const whole = data.length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data.readInt32LE(i);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = data.length % 4;
  if (rest >= 3) h ^= (data[whole + 2] as number) << 16;
  if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
  if (rest >= 1) h = Math.imul(h ^ (data[whole] as number), m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return (h & 0x7fffffff) % partitions;
}

/** A port nothing listens on: bind an ephemeral one, then release it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  // Connect the admin client early; topic creation below needs it anyway.
  await topics.create('warmup', 1);
});

afterAll(async () => {
  await Promise.all(producers.map((p) => p.stop()));
  for (const producer of producers) expect(producer.pendingDeliveries).toBe(0);
  await topics.close();
});

describe('FleetProducer against the real broker', () => {
  it('delivers 1,000 keyed records with offsets; headers carry correlation id and the active trace', async () => {
    const topic = await topics.create('deliver', 3);
    const producer = newProducer();
    await producer.start();
    expect(producer.isConnected()).toBe(true);
    expect(producer.health()).toEqual({ ok: true });

    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: '1122334455667788',
      traceFlags: TraceFlags.SAMPLED,
    });
    const receipts = await context.with(parent, () =>
      Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          producer.send(topic, {
            key: `vehicle-${i % 50}`,
            value: { seq: i },
            headers: { 'x-test': `h${i}`, traceparent: 'forged-by-caller' },
            correlationId: i % 2 === 0 ? `corr-${i}` : undefined,
          }),
        ),
      ),
    );

    expect(receipts).toHaveLength(1000);
    const partitionOfKey = new Map<string, number>();
    const seenOffsets = new Set<string>();
    receipts.forEach((receipt, i) => {
      expect(receipt.topic).toBe(topic);
      expect(Number.isInteger(receipt.offset) && receipt.offset >= 0).toBe(true);
      expect(receipt.partition).toBeGreaterThanOrEqual(0);
      expect(receipt.partition).toBeLessThan(3);
      seenOffsets.add(`${receipt.partition}:${receipt.offset}`);
      const key = `vehicle-${i % 50}`;
      expect(partitionOfKey.get(key) ?? receipt.partition).toBe(receipt.partition);
      expect(receipt.partition).toBe(javaPartition(key, 3));
      partitionOfKey.set(key, receipt.partition);
    });
    expect(seenOffsets.size).toBe(1000);
    expect(await counterValue('fleet_producer_messages_sent_total', { topic })).toBe(1000);

    const records = await readBack(topic, 1000);
    expect(records).toHaveLength(1000);
    const generatedIds = new Set<string>();
    for (const record of records) {
      const seq = (record.value as { seq: number }).seq;
      expect(receipts[seq]).toEqual({ topic, partition: record.partition, offset: record.offset });
      expect(record.key).toBe(`vehicle-${seq % 50}`);
      expect(record.headers['x-test']?.toString()).toBe(`h${seq}`);
      const correlationId = record.headers['correlation-id']?.toString() ?? '';
      if (seq % 2 === 0) expect(correlationId).toBe(`corr-${seq}`);
      else {
        expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
        generatedIds.add(correlationId);
      }
      expect(record.headers.traceparent?.toString()).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    }
    expect(generatedIds.size).toBe(500);

    // The consumer side continues the same trace.
    const first = records[0] as ReadRecord;
    const ids = await withConsumerSpan(
      { topic, partition: first.partition, offset: first.offset, headers: first.headers },
      () => currentTraceIds(),
      'read-back',
    );
    expect(ids?.traceId).toBe(traceId);
  });

  it('keeps call order on one partition while the local queue is full, and delivers everything', async () => {
    const topic = await topics.create('queue-full', 1);
    const producer = newProducer({ queueMaxMessages: 5, lingerMs: 20 });
    await producer.start();
    const sends = Array.from({ length: 300 }, (_, i) =>
      producer.sendRaw(topic, { key: 'k', value: Buffer.from(String(i)), partition: 0 }),
    );
    // Records are handed over synchronously: most of them found the 5-record queue full.
    expect(producer.waitingForQueueRoom).toBeGreaterThan(200);
    const receipts = await Promise.all(sends);
    expect(producer.waitingForQueueRoom).toBe(0);
    const offsets = receipts.map((r) => r.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(new Set(offsets).size).toBe(300);
    expect(await counterValue('fleet_producer_send_errors_total', { topic })).toBe(0);
  });

  it('rejects a send to a missing topic (auto-create off) with a non-retriable ProduceError', async () => {
    const producer = newProducer({ topicMetadataPropagationMs: 2000, messageTimeoutMs: 10_000 });
    await producer.start();
    const topic = topics.missingName('absent');
    const failure = await producer
      .sendRaw(topic, { key: 'k', value: Buffer.from('x') })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProduceError);
    expect(failure).toMatchObject({ code: 'ERR_UNKNOWN_TOPIC_OR_PART', retriable: false });
    expect(
      await counterValue('fleet_producer_send_errors_total', { topic, code: 'ERR_UNKNOWN_TOPIC_OR_PART' }),
    ).toBe(1);
  });

  it('rejects a send to a partition the topic does not have, non-retriable', async () => {
    const topic = await topics.create('bad-partition', 1);
    const producer = newProducer();
    await producer.start();
    await producer.sendRaw(topic, { key: 'k', value: Buffer.from('warm') });
    const failure = await producer
      .sendRaw(topic, { key: 'k', value: Buffer.from('x'), partition: 7 })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProduceError);
    expect(failure).toMatchObject({ code: 'ERR__UNKNOWN_PARTITION', retriable: false });
  });

  it('fails start() against a closed port with a typed, retriable KafkaConnectError (no hang)', async () => {
    const producer = new FleetProducer({
      client: defaultKafkaClientSettings(`127.0.0.1:${await closedPort()}`, 'closed-port'),
      settings: { ...defaultProducerSettings, connectTimeoutMs: 2000 },
      metrics,
    });
    producers.push(producer);
    const failure = await producer.start().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(KafkaConnectError);
    expect(failure).toMatchObject({ code: 'ERR__TRANSPORT', retriable: true });
    expect((failure as Error).message).toMatch(
      /could not connect to Kafka at 127\.0\.0\.1:\d+ within 2000 ms/,
    );
    expect(producer.isConnected()).toBe(false);
    expect(producer.health()).toEqual({ ok: false, reason: 'kafka producer is not connected' });
    const send = await producer.sendRaw('fleet.any.v1', { value: Buffer.from('x') }).catch((e: unknown) => e);
    expect(send).toMatchObject({ name: 'ProduceError', code: 'ERR__STATE', retriable: false });
  });

  it('stop() flushes, is idempotent, and later sends reject with ERR__STATE', async () => {
    const topic = await topics.create('stop', 1);
    const producer = newProducer({ lingerMs: 200 });
    await producer.start();
    const inFlight = producer.sendRaw(topic, { key: 'k', value: Buffer.from('last') });
    await Promise.all([producer.stop(), producer.stop()]);
    // The record sent just before stop() was flushed, not dropped.
    expect((await inFlight).offset).toBe(0);
    expect(producer.health().ok).toBe(false);
    const late = await producer.send(topic, { key: 'k', value: { late: true } }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ProduceError);
    expect(late).toMatchObject({ code: 'ERR__STATE', retriable: false });
    await expect(producer.start()).rejects.toThrow(/stopped/);
  });

  it('flush() and stop() settle every acknowledged record as delivered, even thousands at once', async () => {
    // The client hands delivery reports to JavaScript 100 per event-loop turn after librdkafka's
    // flush returned: a stop() that did not wait for them failed records the broker holds.
    const topic = await topics.create('stop-many', 3);
    const producer = newProducer();
    await producer.start();
    const send = (count: number) =>
      Array.from({ length: count }, (_, i) =>
        producer.sendRaw(topic, { key: `k${i % 97}`, value: Buffer.alloc(200) }).then(
          () => 'delivered',
          (error: unknown) => error,
        ),
      );
    const beforeFlush = send(3000);
    await producer.flush(10_000);
    expect(producer.pendingDeliveries).toBe(0);
    const beforeStop = send(3000);
    await producer.stop();
    const outcomes = await Promise.all([...beforeFlush, ...beforeStop]);
    expect(outcomes.filter((outcome) => outcome !== 'delivered')).toEqual([]);
    expect(await recordCount(topic)).toBe(6000);
  });

  it('is no longer live after the client reports a fatal error (only a restart recovers)', async () => {
    const producer = newProducer();
    await producer.start();
    expect(producer.liveness()).toEqual({ ok: true });
    expect(producer.health()).toEqual({ ok: true });
    reportFatalClientError(producer);
    expect(producer.liveness()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/fatally.*restart/),
    });
    expect(producer.health()).toMatchObject({ ok: false, reason: expect.stringMatching(/fatally/) });
    await producer.stop();
  });

  it('rejects send() without an encoder, and counts encoder failures', async () => {
    const topic = await topics.create('encode', 1);
    const failing = newProducer(
      {},
      {
        encoder: async () => {
          throw new TypeError('value does not match schema');
        },
      },
    );
    await failing.start();
    await expect(failing.send(topic, { value: { bad: true } })).rejects.toThrow(
      'value does not match schema',
    );
    expect(await counterValue('fleet_producer_send_errors_total', { topic, code: 'ENCODE_FAILED' })).toBe(1);

    const rawOnly = newProducer({}, { encoder: undefined });
    await rawOnly.start();
    await expect(rawOnly.send(topic, { value: {} })).rejects.toMatchObject({
      code: 'ERR__INVALID_ARG',
      retriable: false,
    });
  });
});
