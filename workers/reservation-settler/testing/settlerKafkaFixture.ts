import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { readAvroSchemaFile } from '../../../schemas/avroSchemaFile.ts';
import type { ReservationCommand, ReservationEvent } from '../../../schemas/generated/types.ts';
import { findSubjectDefinition } from '../../../schemas/subjects.ts';
import { AvroSerde } from '../../runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../../runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../runtime/avro/schemaRegistryConfig.ts';
import {
  bootstrap,
  committedOffsets,
  createTopics,
  deleteTopics,
  produceRecords,
  readAll,
  uniqueName,
} from '../../runtime/testing/kafkaTestKit.ts';
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
    const definition = findSubjectDefinition(contractSubject);
    if (!definition) throw new Error(`unknown subject ${contractSubject}`);
    const subject = `${topic}-value`;
    await this.registry.register(
      subject,
      readAvroSchemaFile(definition.schemaFile).canonicalText,
      definition.compatibility,
    );
    this.subjects.push(subject);
  }

  /** Starts a settler on these topics and database, in consumer group `groupId`. */
  async startSettler(
    topics: SettlerTopicNames,
    databaseUrl: string,
    groupId: string,
    env: Record<string, string> = {},
  ): Promise<RunningWorker<ReservationCommand>> {
    const workerEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      RESERVATION_COMMANDS_TOPIC: topics.commands,
      RESERVATION_EVENTS_TOPIC: topics.events,
      SETTLER_GROUP_ID: groupId,
      METRICS_PORT: '0',
      LOG_LEVEL: 'silent',
      CONSUMER_COMMIT_INTERVAL_MS: '100',
      CONSUMER_RETRY_MIN_MS: '20',
      CONSUMER_RETRY_MAX_MS: '200',
      ...env,
    };
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

  /** Waits until `groupId` committed every record of `topic` (the end offset of each partition). */
  async waitUntilConsumed(groupId: string, topic: string, timeoutMs = 60_000): Promise<void> {
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

  /** Every event on the topic (all of them: the count comes from the partitions' end offsets). */
  async readEvents(topic: string): Promise<ReadEvent[]> {
    const total = [...(await endOffsets(topic)).values()].reduce((sum, end) => sum + end, 0);
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

  /** Number of records on a topic. */
  async recordCount(topic: string): Promise<number> {
    return [...(await endOffsets(topic)).values()].reduce((sum, end) => sum + end, 0);
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

/** The samples of one metric on a worker's registry, each with its sample name (none when it has no series). */
async function metricSamples(
  worker: Pick<RunningWorker<unknown>, 'registry'>,
  name: string,
): Promise<{ sampleName: string; value: number }[]> {
  const metric = (await worker.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).map((v) => ({
    sampleName: (v as { metricName?: string }).metricName ?? name,
    value: v.value,
  }));
}

const sumOf = (samples: { sampleName: string; value: number }[], sampleName: string): number =>
  samples.filter((s) => s.sampleName === sampleName).reduce((sum, s) => sum + s.value, 0);

/** The sum of a counter's series on a worker's registry (0 when it has none). */
export async function counterTotal(
  worker: Pick<RunningWorker<unknown>, 'registry'>,
  name: string,
): Promise<number> {
  return sumOf(await metricSamples(worker, name), name);
}

/** A histogram's observation count and mean over all its series on a worker's registry. */
export async function histogramMean(
  worker: Pick<RunningWorker<unknown>, 'registry'>,
  name: string,
): Promise<{ count: number; mean: number }> {
  const samples = await metricSamples(worker, name);
  const count = sumOf(samples, `${name}_count`);
  return { count, mean: count === 0 ? 0 : sumOf(samples, `${name}_sum`) / count };
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
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: bootstrap.split(','), logLevel: KafkaJS.logLevel.ERROR },
  }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}
