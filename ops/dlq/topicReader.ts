import { randomUUID } from 'node:crypto';
import type { LibrdKafkaError, Message } from '@confluentinc/kafka-javascript';
import {
  createRdKafkaConsumer,
  type RdKafkaConsumer,
} from '../../workers/runtime/consumer/rdkafkaConsumer.ts';
import { baseClientConfig, type KafkaClientSettings } from '../../workers/runtime/kafka/clientConfig.ts';
import {
  KafkaClientError,
  librdkafkaCodes,
  toKafkaClientError,
} from '../../workers/runtime/kafka/librdkafkaErrors.ts';

/** Offsets [from, to) of one partition to read. */
export interface PartitionRange {
  partition: number;
  from: number;
  to: number;
}

export interface ReadRangesOptions {
  client: KafkaClientSettings;
  topic: string;
  ranges: readonly PartitionRange[];
  /** Called per record in offset order within a partition; return false to stop reading. */
  onRecord: (message: Message) => Promise<boolean | undefined> | boolean | undefined;
  /** Fails when no progress is made for this long (broker unreachable); default 30000. */
  idleTimeoutMs?: number;
}

/**
 * Reads fixed offset ranges of a topic by assignment: no group membership, nothing committed.
 * A partition is finished once the consumer's position passed `to`, which also steps over
 * offsets that hold no record (transaction markers, compaction).
 */
export async function readRanges(options: ReadRangesOptions): Promise<void> {
  const wanted = options.ranges.filter((r) => r.from < r.to);
  if (wanted.length === 0) return;
  const consumer = createRdKafkaConsumer(
    {
      ...baseClientConfig(options.client),
      // Never used to commit or join: librdkafka wants a group id for any consumer.
      'group.id': `fleet.ops.reader.${randomUUID()}`,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
    },
    // Topic-level: records deleted by retention meanwhile are skipped, not waited for.
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: options.client.socketTimeoutMs }, (error) =>
      error
        ? reject(toKafkaClientError(error, `could not connect to read ${options.topic}`, KafkaClientError))
        : resolve(),
    ),
  );
  try {
    consumer.setDefaultConsumeTimeout(200);
    consumer.assign(wanted.map((r) => ({ topic: options.topic, partition: r.partition, offset: r.from })));
    await readLoop(consumer, options, wanted);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

async function readLoop(
  consumer: RdKafkaConsumer,
  options: ReadRangesOptions,
  wanted: readonly PartitionRange[],
): Promise<void> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const open = new Map(wanted.map((r) => [r.partition, r]));
  let lastProgress = Date.now();
  while (open.size > 0) {
    const batch = await new Promise<Message[]>((resolve, reject) =>
      consumer.consume(500, (error: LibrdKafkaError, messages: Message[]) => {
        if (!error) return resolve(messages);
        const typed = toKafkaClientError(error, `could not read ${options.topic}`, KafkaClientError);
        // A transient failure counts as a round without progress: the idle timeout bounds it.
        if (typed.retriable) resolve([]);
        else reject(typed);
      }),
    );
    for (const message of batch) {
      const range = open.get(message.partition);
      if (!range || message.offset >= range.to) continue;
      lastProgress = Date.now();
      if ((await options.onRecord(message)) === false) return;
    }
    for (const position of consumer.position(
      wanted.map((r) => ({ topic: options.topic, partition: r.partition })),
    )) {
      const range = open.get(position.partition);
      if (range && position.offset >= range.to) {
        open.delete(position.partition);
        lastProgress = Date.now();
      }
    }
    if (open.size > 0 && Date.now() - lastProgress > idleTimeoutMs) {
      const left = [...open.values()].map((r) => `${r.partition}@${r.from}..${r.to}`).join(', ');
      throw new KafkaClientError(
        `no progress reading ${options.topic} for ${idleTimeoutMs} ms (left: ${left})`,
        {
          code: librdkafkaCodes.TIMED_OUT,
          retriable: true,
        },
      );
    }
  }
}
