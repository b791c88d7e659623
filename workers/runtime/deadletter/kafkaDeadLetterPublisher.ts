import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { DeadLetterInput, DeadLetterPublisher } from '../consumer/consumerEngine.ts';
import type { FleetProducer } from '../producer/fleetProducer.ts';
import { buildDeadLetterRecord, deadLetterTopicOf } from '../resilience/deadLetterRecord.ts';

/** Looks up a topic's partition count (undefined when it does not exist). */
export type PartitionCountLookup = (topic: string) => Promise<number | undefined>;

/**
 * Writes dead letters to `<topic>.dlq` through the fleet producer and resolves only on the
 * broker's acknowledgement, so the engine commits past a failed message only once its dead
 * letter is stored. The original partition is kept when the DLQ has as many partitions.
 */
export class KafkaDeadLetterPublisher implements DeadLetterPublisher {
  private readonly producer: FleetProducer;
  private readonly partitionCount: PartitionCountLookup;
  private readonly now: () => Date;

  constructor(
    producer: FleetProducer,
    partitionCount: PartitionCountLookup,
    now: () => Date = () => new Date(),
  ) {
    this.producer = producer;
    this.partitionCount = partitionCount;
    this.now = now;
  }

  /** Publishes one dead letter; rejects with the producer's typed error when the broker refuses it. */
  async publish(input: DeadLetterInput): Promise<void> {
    const [sourcePartitionCount, deadLetterPartitionCount] = await Promise.all([
      this.partitionCount(input.topic),
      this.partitionCount(deadLetterTopicOf(input.topic)),
    ]);
    const record = buildDeadLetterRecord(input, {
      sourcePartitionCount: sourcePartitionCount ?? Number.MAX_SAFE_INTEGER,
      deadLetterPartitionCount: deadLetterPartitionCount ?? 0,
      deadLetteredAt: this.now(),
      // Written only when the original had no correlation-id: the id the runtime logged it under.
      correlationId: `${input.topic}/${input.partition}/${input.offset}`,
    });
    // The original's headers byte for byte (its trace context and correlation id included): the
    // dead letter is that record, not a new message of this worker's.
    await this.producer.sendRaw(record.topic, {
      key: record.key,
      value: record.value,
      headers: record.headerList,
      verbatimHeaders: true,
      ...(record.partition === undefined ? {} : { partition: record.partition }),
    });
  }
}

/** Partition counts from the broker's metadata, cached for the process's life (counts only grow, and only by an operator). */
export function brokerPartitionCounts(bootstrapServers: string): {
  lookup: PartitionCountLookup;
  close: () => Promise<void>;
} {
  const cache = new Map<string, Promise<number | undefined>>();
  let admin: KafkaJS.Admin | undefined;
  let connecting: Promise<KafkaJS.Admin> | undefined;
  const connect = (): Promise<KafkaJS.Admin> => {
    connecting ??= (async () => {
      const client = new KafkaJS.Kafka({
        kafkaJS: { brokers: bootstrapServers.split(','), logLevel: KafkaJS.logLevel.ERROR },
      }).admin();
      await client.connect();
      admin = client;
      return client;
    })();
    return connecting;
  };
  const lookup: PartitionCountLookup = (topic) => {
    let cached = cache.get(topic);
    if (!cached) {
      cached = connect()
        .then((a) => a.fetchTopicMetadata({ topics: [topic] }))
        .then((m) => m[0]?.partitions.length)
        .catch(() => {
          cache.delete(topic); // not cached: the topic may be created later
          return undefined;
        });
      cache.set(topic, cached);
    }
    return cached;
  };
  return {
    lookup,
    close: async () => {
      if (admin) await admin.disconnect();
      else if (connecting) await (await connecting.catch(() => undefined))?.disconnect();
    },
  };
}
