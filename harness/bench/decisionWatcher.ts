/**
 * Watches a reservation events topic for P5: a raw consumer assigned to every partition from the
 * beginning (no group, no rebalance wait), decoding each decision and noting when it was seen.
 *
 * Lazy by default: the latency P5 reports ends at the event's CreateTime (stamped by the settler
 * after its commit), so the watcher only has to collect the events, and it fetches at most twice a
 * second. A live watcher (fetch.wait.max.ms 10, an answer per settler batch) cost the shared
 * two cores ~0.13 ms of its own CPU and ~0.16 ms of the broker's per request at 500 req/s; it is
 * kept for measuring the read leg (BENCH_P5_WATCH=live).
 */
import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { ReservationEvent } from '../../schemas/generated/types.ts';
import { loadReaderTypes } from '../../schemas/readerTypes.ts';
import { AvroSerde } from '../../workers/runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../workers/runtime/avro/schemaRegistryConfig.ts';
import { createRdKafkaConsumer } from '../../workers/runtime/consumer/rdkafkaConsumer.ts';
import { bootstrap, uniqueName } from '../../workers/runtime/testing/kafkaTestKit.ts';

/** The first decision seen for a reservation. */
export interface SeenDecision {
  /** Wall clock (epoch ms, sub-ms precision) when this process received the event; a live watcher's only. */
  seenAt?: number;
  /** The event's occurredAt: the settler's decision time (epoch ms). */
  occurredAt: number;
  /** The record's timestamp: when the settler handed the event to its producer (CreateTime, epoch ms). */
  producedAt: number;
  /** Short name of the payload: ReservationConfirmed, ReservationRejected, ReservationCancelled. */
  kind: string;
}

/** Wall-clock milliseconds with sub-millisecond precision (same clock as Date.now()). */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

/** A running watcher; `stop()` disconnects and closes the registry client. */
export interface DecisionWatcher {
  decisions: ReadonlyMap<string, SeenDecision>;
  /** Events read in all (replays or several decisions per reservation included). */
  events(): number;
  stop(): Promise<void>;
}

/** How quickly the watcher reads: `live` notes when each event arrives, `lazy` only collects them. */
export type WatchMode = 'live' | 'lazy';

/** Starts consuming `topic` (all `partitions`, from offset 0) in a background loop. */
export async function watchDecisions(
  topic: string,
  partitions: number,
  mode: WatchMode,
): Promise<DecisionWatcher> {
  const live = mode === 'live';
  const registry = new SchemaRegistryClient(loadSchemaRegistryConfig());
  const serde = new AvroSerde({ source: registry, readerTypes: loadReaderTypes() });
  const consumer = createRdKafkaConsumer(
    {
      'bootstrap.servers': bootstrap,
      'group.id': uniqueName('bench-p5-watch'),
      'enable.auto.commit': false,
      'fetch.wait.max.ms': live ? 10 : 500,
      'fetch.min.bytes': live ? 1 : 1 << 20,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  consumer.setDefaultConsumeTimeout(live ? 20 : 500);
  consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
  await new Promise<void>((resolve, reject) => consumer.connect({}, (e) => (e ? reject(e) : resolve())));
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
  const decisions = new Map<string, SeenDecision>();
  let events = 0;
  let running = true;
  let failure: unknown;
  const loop = (async () => {
    while (running) {
      const batch = await new Promise<RdKafka.Message[]>((resolve, reject) =>
        consumer.consume(1000, (e, m) => (e ? reject(e) : resolve(m ?? []))),
      );
      // Only a live watcher's arrival time means anything; a lazy one holds events up to 0.5 s.
      const seen = live ? { seenAt: wallClockMs() } : {};
      for (const message of batch) {
        if (!message.value) continue;
        const event = (await serde.decode(message.value)) as ReservationEvent;
        const [union, body] = Object.entries(event.payload as Record<string, { reservationId: string }>)[0]!;
        events++;
        if (!decisions.has(body.reservationId)) {
          decisions.set(body.reservationId, {
            ...seen,
            occurredAt: event.occurredAt,
            producedAt: message.timestamp ?? Number.NaN,
            kind: union.slice(union.lastIndexOf('.') + 1),
          });
        }
      }
    }
  })().catch((error: unknown) => {
    failure = error;
  });
  return {
    decisions,
    events: () => {
      if (failure) throw failure;
      return events;
    },
    stop: async () => {
      running = false;
      await loop;
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
      registry.close();
    },
  };
}
