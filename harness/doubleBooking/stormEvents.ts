/** Reading the storm's events topic up to known end offsets, and the consumer groups it watches. */
import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { ReservationEvent } from '../../schemas/generated/types.ts';
import { loadReaderTypes } from '../../schemas/readerTypes.ts';
import { AvroSerde } from '../../workers/runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../workers/runtime/avro/schemaRegistryConfig.ts';
import { bootstrap } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { type EventDecision, eventDecisionOf } from './bookingChecks.ts';

/** An event and where it sits on the topic. */
export interface PositionedEvent extends EventDecision {
  partition: number;
  offset: number;
}

function kafka() {
  return new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.ERROR } });
}

/** Whether `groupId` committed every record of `topic`. */
export async function groupCaughtUp(groupId: string, topic: string): Promise<boolean> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const [committed, ends] = await Promise.all([
      admin.fetchOffsets({ groupId, topics: [topic] }),
      admin.fetchTopicOffsets(topic),
    ]);
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends.every((e) => Number(e.high) === 0 || byPartition.get(e.partition) === Number(e.high));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads every event of `topic` from the beginning up to `ends` (offsets fetched once the writers
 * were idle), in a consumer group of its own. Fails when the read stalls short of them, or on an
 * event it cannot decode or does not know: a short or partial read must not pass the checks.
 */
export async function readEventsUpTo(
  topic: string,
  ends: ReadonlyMap<number, number>,
  groupId: string,
  stallMs = 60_000,
): Promise<PositionedEvent[]> {
  const registry = new SchemaRegistryClient(loadSchemaRegistryConfig());
  const serde = new AvroSerde({ source: registry, readerTypes: loadReaderTypes() });
  const consumer = kafka().consumer({ kafkaJS: { groupId, fromBeginning: true } });
  const events: PositionedEvent[] = [];
  const next = new Map<number, number>();
  const reached = () => [...ends].every(([p, end]) => end === 0 || (next.get(p) ?? 0) >= end);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await new Promise<void>((resolve, reject) => {
      let lastAt = Date.now();
      const timer = setInterval(() => {
        if (reached()) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() - lastAt > stallMs) {
          clearInterval(timer);
          reject(new Error(`reading ${topic} stalled at ${events.length} events: ${shortfall(ends, next)}`));
        }
      }, 100);
      consumer
        .run({
          eachMessage: async ({ message, partition }) => {
            lastAt = Date.now();
            try {
              const event = (await serde.decode(message.value!)) as ReservationEvent;
              events.push({ ...eventDecisionOf(event), partition, offset: Number(message.offset) });
              next.set(partition, Number(message.offset) + 1);
            } catch (error) {
              clearInterval(timer);
              reject(error);
            }
          },
        })
        .catch((error: unknown) => {
          clearInterval(timer);
          reject(error);
        });
    });
  } finally {
    await consumer.disconnect();
    registry.close();
  }
  return events;
}

/** Which partitions a read is short on, for its error. */
function shortfall(ends: ReadonlyMap<number, number>, next: ReadonlyMap<number, number>): string {
  return [...ends]
    .filter(([p, end]) => (next.get(p) ?? 0) < end)
    .map(([p, end]) => `partition ${p} at ${next.get(p) ?? 0} of ${end}`)
    .join(', ');
}
