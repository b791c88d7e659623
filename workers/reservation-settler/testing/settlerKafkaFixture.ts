import type { ReservationCommand, ReservationEvent } from '../../../schemas/generated/types.ts';
import { AvroSerde } from '../../runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../../runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../runtime/avro/schemaRegistryConfig.ts';
import {
  createTopics,
  deleteTopics,
  produceRecords,
  readAll,
  recordCount,
  testWorkerEnv,
  uniqueName,
} from '../../runtime/testing/kafkaTestKit.ts';
import { counterTotal } from '../../runtime/testing/metricsTestKit.ts';
import { registerContractSchema } from '../../runtime/testing/schemaTestKit.ts';
import { type RunningWorker, startWorker } from '../../runtime/worker/runWorker.ts';
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
  event: ReservationEvent;
}

/**
 * Real Kafka, registry and settler workers for integration tests and the benchmark: creates
 * random topics, registers `<topic>-value` with the real .avsc files, starts settlers, produces
 * commands and reads events. `close()` stops and deletes everything it made.
 */
export class SettlerKafkaFixture {
  readonly registry = new SchemaRegistryClient(loadSchemaRegistryConfig());
  readonly serde = new AvroSerde({ source: this.registry });
  private readonly topics: string[] = [];
  private readonly subjects: string[] = [];
  private readonly workers: RunningWorker<unknown>[] = [];

  /** Creates the commands topic (and its DLQ) with `partitions` partitions and an events topic. */
  async createTopics(purpose: string, partitions: number): Promise<SettlerTopicNames> {
    const commands = uniqueName(`${purpose}-commands`);
    const names = { commands, events: uniqueName(`${purpose}-events`), deadLetters: `${commands}.dlq` };
    await createTopics([
      { topic: names.commands, partitions },
      { topic: names.deadLetters, partitions },
      { topic: names.events, partitions },
    ]);
    this.topics.push(names.commands, names.deadLetters, names.events);
    await this.registerLike(names.commands, 'fleet.reservation.commands.v1-value');
    await this.registerLike(names.events, 'fleet.reservation.events.v1-value');
    return names;
  }

  private async registerLike(topic: string, contractSubject: string): Promise<void> {
    this.subjects.push(await registerContractSchema(this.registry, topic, contractSubject));
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
    const worker = await startWorker(createSettlerWorker(workerEnv), workerEnv);
    this.workers.push(worker as RunningWorker<unknown>);
    return worker;
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

  /** Produces raw records (for commands that break the contract). */
  produceRaw(topic: string, records: { key: string; value: Buffer }[]): Promise<void> {
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
        event: (await this.serde.decode(record.value!)) as ReservationEvent,
      });
    }
    return events.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  }

  /** Stops every settler, deletes topics and subjects, closes the registry client. */
  async close(): Promise<void> {
    for (const worker of this.workers.splice(0)) await worker.stop();
    await deleteTopics(this.topics.splice(0));
    for (const subject of this.subjects.splice(0)) {
      await this.registry.deleteSubject(subject).catch(() => undefined);
    }
    this.registry.close();
  }
}

/** How many commands a settler settled (its fleet_settler_settlements_total, replays included). */
export function settlementsCounted(worker: Pick<RunningWorker<unknown>, 'registry'>): Promise<number> {
  return counterTotal(worker, 'fleet_settler_settlements_total');
}
