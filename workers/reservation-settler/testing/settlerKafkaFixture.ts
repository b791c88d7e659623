import type { ReservationCommand, ReservationEvent } from '../../../schemas/generated/types.ts';
import { produceRecords, readAll, recordCount, testWorkerEnv } from '../../runtime/testing/kafkaTestKit.ts';
import { counterTotal } from '../../runtime/testing/metricsTestKit.ts';
import { WorkerTestBench } from '../../runtime/testing/workerTestBench.ts';
import type { RunningWorker } from '../../runtime/worker/runWorker.ts';
import type { SettlementCommand } from '../settlementCommand.ts';
import { createSettlerWorker } from '../settlerWorker.ts';
import { commandValue } from './settlementCommands.ts';

/** The settler's topics for one test: random names, the real schemas registered for their subjects. */
export interface SettlerTopicNames {
  commands: string;
  events: string;
  deadLetters: string;
}

/** An event as read back from the events topic. */
export interface ReadEvent {
  key: string | null;
  partition: number;
  offset: number;
  eventIdHeader: string | undefined;
  /** The W3C trace context the settler wrote (it continues the command's trace). */
  traceparent: string | undefined;
  event: ReservationEvent;
}

/**
 * Real Kafka, registry and settler workers for integration tests and the benchmark: creates
 * random topics, registers `<topic>-value` with the real .avsc files, starts settlers, produces
 * commands and reads events. `close()` stops and deletes everything it made.
 */
export class SettlerKafkaFixture extends WorkerTestBench {
  /** Creates the commands topic (and its DLQ) with `partitions` partitions and an events topic. */
  async createTopics(purpose: string, partitions: number): Promise<SettlerTopicNames> {
    const commands = await this.contractTopic(
      `${purpose}-commands`,
      'fleet.reservation.commands.v1-value',
      partitions,
    );
    const events = await this.contractTopic(
      `${purpose}-events`,
      'fleet.reservation.events.v1-value',
      partitions,
    );
    return { commands, events, deadLetters: `${commands}.dlq` };
  }

  /** Starts a settler on these topics and database, in consumer group `groupId`. */
  async startSettler(
    topics: SettlerTopicNames,
    databaseUrl: string,
    groupId: string,
    env: Record<string, string> = {},
  ): Promise<RunningWorker<ReservationCommand>> {
    const workerEnv = testWorkerEnv({
      DATABASE_URL: databaseUrl,
      RESERVATION_COMMANDS_TOPIC: topics.commands,
      RESERVATION_EVENTS_TOPIC: topics.events,
      SETTLER_GROUP_ID: groupId,
      ...env,
    });
    return this.start(createSettlerWorker(workerEnv), workerEnv);
  }

  /** Produces commands keyed by vehicle id, in order, and waits for every acknowledgement. */
  async produceCommands(topic: string, commands: readonly SettlementCommand[]): Promise<void> {
    const records = [];
    for (const command of commands) {
      records.push({
        key: command.vehicleId,
        value: await this.serde.encode(`${topic}-value`, commandValue(command) as never),
      });
    }
    await produceRecords(topic, records);
  }

  /** Produces raw records (commands that break the contract, or carry headers of their own). */
  produceRaw(
    topic: string,
    records: { key: string; value: Buffer; headers?: Record<string, string> }[],
  ): Promise<void> {
    return produceRecords(topic, records);
  }

  /** Encodes a command value for `topic` without producing it. */
  encodeCommand(topic: string, value: ReservationCommand): Promise<Buffer> {
    return this.serde.encode(`${topic}-value`, value as never);
  }

  /** Every event on the topic (all of them: the count comes from the partitions' end offsets). */
  async readEvents(topic: string): Promise<ReadEvent[]> {
    const total = await recordCount(topic);
    if (total === 0) return [];
    const records = await readAll(topic, total, 30_000);
    if (records.length !== total) throw new Error(`read ${records.length} of ${total} events from ${topic}`);
    const events: ReadEvent[] = [];
    for (const record of records) {
      events.push({
        key: record.key,
        partition: record.partition,
        offset: record.offset,
        eventIdHeader: record.headers['event-id'],
        traceparent: record.headers.traceparent,
        event: (await this.serde.decode(record.value!)) as ReservationEvent,
      });
    }
    return events.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  }
}

/** How many commands a settler settled (its fleet_settler_settlements_total, replays included). */
export function settlementsCounted(worker: Pick<RunningWorker<unknown>, 'registry'>): Promise<number> {
  return counterTotal(worker, 'fleet_settler_settlements_total');
}
