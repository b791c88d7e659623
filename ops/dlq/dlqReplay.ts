import { setTimeout as sleep } from 'node:timers/promises';
import type {
  LibrdKafkaError,
  Message,
  TopicPartition,
  TopicPartitionOffsetAndMetadata,
} from '@confluentinc/kafka-javascript';
import { RdKafka } from '@confluentinc/kafka-javascript';
import type { KafkaAdmin } from '../../workers/lag-monitor/kafkaAdmin.ts';
import {
  createRdKafkaConsumer,
  type RdKafkaConsumer,
} from '../../workers/runtime/consumer/rdkafkaConsumer.ts';
import { baseClientConfig, type KafkaClientSettings } from '../../workers/runtime/kafka/clientConfig.ts';
import { KafkaClientError, toKafkaClientError } from '../../workers/runtime/kafka/librdkafkaErrors.ts';
import { retryRetriable } from '../../workers/runtime/kafka/retryRetriable.ts';
import { FleetProducer } from '../../workers/runtime/producer/fleetProducer.ts';
import type { ProducerSettings } from '../../workers/runtime/producer/producerSettings.ts';
import { RefusedError } from '../cliSupport.ts';
import { type DlqFilter, matchesFilter } from './dlqFilter.ts';
import { recordCoordinates, toDlqRecord } from './dlqRecord.ts';
import {
  clearPending,
  decodeProgress,
  encodeProgress,
  fitsMetadata,
  isReplayed,
  markPending,
  markReplayed,
  type PendingReplay,
  type ReplayProgress,
} from './replayProgress.ts';
import { buildReplayRecord, replayHeaders } from './replayRecord.ts';
import { readRanges } from './topicReader.ts';

const ERRORS = RdKafka.CODES.ERRORS;

/** The consumer group whose commits hold a DLQ's replay progress (and whose membership locks it). */
export function progressGroupOf(dlqTopic: string): string {
  return `fleet.ops.dlq-replay.${dlqTopic}`;
}

/** How far before a pending send's start the original topic is searched for its marker (clock and linger slack). */
const pendingSearchSlackMs = 10_000;
/** How long a partition with work may stay unassigned before the run gives up on it. */
const assignmentWaitMs = 20_000;

export interface ReplayOptions {
  dlqTopic: string;
  filter: DlqFilter;
  dryRun: boolean;
  /** Records per second at most. */
  ratePerSecond: number;
  /** Records to move at most. */
  max: number | undefined;
  client: KafkaClientSettings;
  producerSettings: ProducerSettings;
  admin: Pick<
    KafkaAdmin,
    'describeGroups' | 'fetchTopicOffsets' | 'fetchOffsets' | 'fetchTopicOffsetsByTimestamp'
  >;
  adminTimeoutMs: number;
  out: (line: string) => void;
  /** Clock; default Date.now. */
  now?: () => number;
}

/** What a replay did (or, dry, would do). */
export interface ReplayReport {
  moved: number;
  alreadyReplayed: number;
  notSelected: number;
  /** Dead letters whose headers are unreadable: nothing says where they came from. */
  invalid: number;
  /** Sends of an earlier run that died before recording them, found on the original topic. */
  recoveredPending: number;
  /** Partitions with records to replay that this run did not own (another member of the progress group). */
  unassigned: number[];
  stoppedAtMax: boolean;
}

interface PartitionWork {
  progress: ReplayProgress;
  high: number;
}

/**
 * Moves dead letters back onto their original topics, each exactly once across runs: progress
 * per DLQ partition lives in the commits of `fleet.ops.dlq-replay.<dlq>` (see replayProgress.ts),
 * a send is recorded as pending before it starts and as done only after the broker acknowledged
 * it, and a pending send left by a run that died is settled by looking for its `fleet.replay.of`
 * marker on the original topic. The run is a member of that group while it works, so a second
 * replay of the same DLQ is refused. Dry runs read the same way and change nothing.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayReport> {
  const report: ReplayReport = {
    moved: 0,
    alreadyReplayed: 0,
    notSelected: 0,
    invalid: 0,
    recoveredPending: 0,
    unassigned: [],
    stoppedAtMax: false,
  };
  const group = progressGroupOf(options.dlqTopic);
  if (!options.dryRun) await refuseWhileRunning(options, group);
  const watermarks = await dlqWatermarks(options);
  if (options.dryRun) {
    await dryRun(options, watermarks, report);
    return report;
  }
  await new Replayer(options, watermarks, report).run();
  return report;
}

async function refuseWhileRunning(options: ReplayOptions, group: string): Promise<void> {
  const described = await retryRetriable(`could not describe ${group}`, () =>
    options.admin.describeGroups([group], { timeout: options.adminTimeoutMs }),
  );
  const members = described.groups[0]?.members ?? [];
  if (members.length > 0) {
    const who = members.map((m) => `${m.clientId}@${m.clientHost}`).join(', ');
    throw new RefusedError(
      `another replay of ${options.dlqTopic} is running (group ${group} has ${members.length} member(s): ${who}); wait for it to finish`,
      true,
    );
  }
}

/** Low and high watermarks of every DLQ partition. */
export async function dlqWatermarks(
  options: Pick<ReplayOptions, 'admin' | 'dlqTopic' | 'adminTimeoutMs'>,
): Promise<Map<number, { low: number; high: number }>> {
  const offsets = await retryRetriable(`could not read the offsets of ${options.dlqTopic}`, () =>
    options.admin.fetchTopicOffsets(options.dlqTopic, { timeout: options.adminTimeoutMs } as never),
  );
  return new Map(offsets.map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }]));
}

/** Reads the committed progress of every DLQ partition through the admin (dry runs, `dlq list`; no membership). */
export async function committedProgress(
  options: Pick<ReplayOptions, 'admin' | 'dlqTopic' | 'adminTimeoutMs'>,
  watermarks: ReadonlyMap<number, { low: number; high: number }>,
): Promise<Map<number, ReplayProgress>> {
  const group = progressGroupOf(options.dlqTopic);
  const fetched = await retryRetriable(`could not read the replay progress in ${group}`, () =>
    options.admin.fetchOffsets({
      groupId: group,
      topics: [options.dlqTopic],
      timeout: options.adminTimeoutMs,
    }),
  );
  const byPartition = new Map(fetched.flatMap((t) => t.partitions).map((p) => [p.partition, p]));
  const progress = new Map<number, ReplayProgress>();
  for (const [partition, { low }] of watermarks) {
    const committed = byPartition.get(partition);
    const offset = committed === undefined ? undefined : Number(committed.offset);
    progress.set(partition, decodeProgress(offset, committed?.metadata, low));
  }
  return progress;
}

async function dryRun(
  options: ReplayOptions,
  watermarks: ReadonlyMap<number, { low: number; high: number }>,
  report: ReplayReport,
): Promise<void> {
  const progress = await committedProgress(options, watermarks);
  for (const [partition, p] of progress) {
    if (!p.pending) continue;
    const landed = await pendingLanded(options, partition, p.pending);
    options.out(
      `pending send of ${recordCoordinates(options.dlqTopic, partition, p.pending.offset)} from an earlier run ${
        landed ? 'landed on' : 'did not land on'
      } ${p.pending.topic}; a replay would ${landed ? 'count it as replayed' : 'send it again'}`,
    );
    progress.set(partition, landed ? markReplayed(p, p.pending.offset) : clearPending(p));
  }
  await readRanges({
    client: options.client,
    topic: options.dlqTopic,
    ranges: [...progress].map(([partition, p]) => ({
      partition,
      from: p.next,
      to: watermarks.get(partition)?.high ?? p.next,
    })),
    onRecord: (message) => {
      const verdict = classify(options, progress.get(message.partition)!, message, report);
      if (verdict === 'stop') return false;
      if (verdict) {
        report.moved++;
        options.out(`would move ${verdict.coordinates} -> ${verdict.topic} (${verdict.errorClass})`);
      }
      return true;
    },
  });
}

/** What to do with one DLQ record: skip it (undefined, counted), move it, or stop at --max. */
function classify(
  options: ReplayOptions,
  progress: ReplayProgress,
  message: Message,
  report: ReplayReport,
): { coordinates: string; topic: string; errorClass: string } | 'stop' | undefined {
  if (isReplayed(progress, message.offset)) {
    report.alreadyReplayed++;
    return undefined;
  }
  const record = toDlqRecord(message);
  const coordinates = recordCoordinates(record.topic, record.partition, record.offset);
  if (!record.info) {
    report.invalid++;
    options.out(`skipped ${coordinates}: ${record.problem}`);
    return undefined;
  }
  if (!matchesFilter(record, options.filter)) {
    report.notSelected++;
    return undefined;
  }
  if (options.max !== undefined && report.moved >= options.max) {
    report.stoppedAtMax = true;
    return 'stop';
  }
  return { coordinates, topic: record.info.originalTopic, errorClass: record.info.errorClass };
}

/** Whether a send recorded as pending reached the original topic: its marker is there, written after it started. */
async function pendingLanded(
  options: ReplayOptions,
  dlqPartition: number,
  pending: PendingReplay,
): Promise<boolean> {
  const marker = recordCoordinates(options.dlqTopic, dlqPartition, pending.offset);
  const what = `could not check whether the pending replay of ${marker} reached ${pending.topic}`;
  const starts = await retryRetriable(what, () =>
    options.admin.fetchTopicOffsetsByTimestamp(pending.topic, pending.at - pendingSearchSlackMs, {
      timeout: options.adminTimeoutMs,
    } as never),
  );
  const ends = await retryRetriable(what, () =>
    options.admin.fetchTopicOffsets(pending.topic, { timeout: options.adminTimeoutMs } as never),
  );
  const endOf = new Map(ends.map((e) => [e.partition, Number(e.high)]));
  let found = false;
  await readRanges({
    client: options.client,
    topic: pending.topic,
    ranges: starts.map((s) => ({
      partition: s.partition,
      from: Number(s.offset),
      to: endOf.get(s.partition) ?? 0,
    })),
    onRecord: (message) => {
      found = (message.headers ?? []).some((header) => {
        const value = header[replayHeaders.of];
        return value !== undefined && value.toString() === marker;
      });
      return !found;
    },
  });
  return found;
}

/** The real run: a member of the progress group that reads its DLQ partitions and moves their records. */
class Replayer {
  private readonly options: ReplayOptions;
  private readonly watermarks: ReadonlyMap<number, { low: number; high: number }>;
  private readonly report: ReplayReport;
  private readonly owned = new Set<number>();
  private readonly work = new Map<number, PartitionWork>();
  private readonly finished = new Set<number>();
  private nextSendAt = 0;
  private rebalanceError: Error | undefined;
  private readonly partitionCounts = new Map<string, number>();

  constructor(
    options: ReplayOptions,
    watermarks: ReadonlyMap<number, { low: number; high: number }>,
    report: ReplayReport,
  ) {
    this.options = options;
    this.watermarks = watermarks;
    this.report = report;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async run(): Promise<void> {
    const { options } = this;
    const producer = new FleetProducer({
      client: { ...options.client, clientId: `ops-dlq-replay-${process.pid}` },
      settings: options.producerSettings,
    });
    await producer.start();
    let consumer: RdKafkaConsumer | undefined;
    try {
      consumer = await this.joinProgressGroup();
      await this.loop(consumer, producer);
    } finally {
      if (consumer) {
        const c = consumer;
        await new Promise<void>((resolve) => c.disconnect(() => resolve()));
      }
      await producer.stop();
    }
  }

  private async joinProgressGroup(): Promise<RdKafkaConsumer> {
    const { options } = this;
    const consumer = createRdKafkaConsumer(
      {
        ...baseClientConfig(options.client),
        'client.id': `ops-dlq-replay-${process.pid}`,
        'group.id': progressGroupOf(options.dlqTopic),
        'group.protocol': 'consumer',
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        rebalance_cb: (error: LibrdKafkaError, assignment: TopicPartition[]) => {
          try {
            if (error.code === ERRORS.ERR__ASSIGN_PARTITIONS) {
              consumer.incrementalAssign(assignment);
              for (const tp of assignment) this.owned.add(tp.partition);
            } else {
              for (const tp of assignment) this.owned.delete(tp.partition);
              consumer.incrementalUnassign(assignment);
            }
          } catch (e) {
            this.rebalanceError = e as Error;
          }
        },
      },
      // A topic-level property for librdkafka: a partition never replayed starts at its log start.
      { 'auto.offset.reset': 'earliest' },
    );
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: options.client.socketTimeoutMs }, (error) =>
        error
          ? reject(toKafkaClientError(error, 'could not join the replay progress group', KafkaClientError))
          : resolve(),
      ),
    );
    consumer.setDefaultConsumeTimeout(200);
    consumer.subscribe([options.dlqTopic]);
    return consumer;
  }

  private async loop(consumer: RdKafkaConsumer, producer: FleetProducer): Promise<void> {
    const { options, report } = this;
    const startedAt = Date.now();
    const withWork = [...this.watermarks].filter(([, w]) => w.high > w.low).map(([p]) => p);
    for (;;) {
      if (this.rebalanceError) throw this.rebalanceError;
      const batch = await new Promise<Message[]>((resolve, reject) =>
        consumer.consume(100, (error, messages) => {
          if (!error) return resolve(messages);
          const typed = toKafkaClientError(error, `could not read ${options.dlqTopic}`, KafkaClientError);
          // Transient (a broker restarting): try again; nothing was processed.
          if (typed.retriable) resolve([]);
          else reject(typed);
        }),
      );
      await this.loadNewlyOwned(consumer);
      for (const message of batch) {
        const work = this.work.get(message.partition);
        if (!work || !this.owned.has(message.partition) || message.offset >= work.high) continue;
        const verdict = classify(options, work.progress, message, report);
        if (verdict === 'stop') return;
        if (verdict) await this.move(consumer, producer, work, message);
      }
      for (const [partition, work] of this.work) {
        if (!this.owned.has(partition)) continue;
        const [position] = consumer.position([{ topic: options.dlqTopic, partition }]);
        if (work.progress.next >= work.high || (position && position.offset >= work.high))
          this.finished.add(partition);
      }
      const waiting = withWork.filter((p) => !this.finished.has(p));
      if (waiting.length === 0) return;
      if (waiting.every((p) => !this.owned.has(p)) && Date.now() - startedAt > assignmentWaitMs) {
        report.unassigned = waiting;
        return;
      }
    }
  }

  /** Loads the committed progress of partitions just assigned, settling a pending send first. */
  private async loadNewlyOwned(consumer: RdKafkaConsumer): Promise<void> {
    const { options } = this;
    const fresh = [...this.owned].filter((p) => !this.work.has(p));
    if (fresh.length === 0) return;
    const committed = await new Promise<TopicPartitionOffsetAndMetadata[]>((resolve, reject) =>
      consumer.committed(
        fresh.map((partition) => ({ topic: options.dlqTopic, partition })),
        options.adminTimeoutMs,
        (error, partitions) =>
          error
            ? reject(toKafkaClientError(error, 'could not read the replay progress', KafkaClientError))
            : resolve(partitions),
      ),
    );
    for (const tp of committed) {
      const marks = this.watermarks.get(tp.partition) ?? { low: 0, high: 0 };
      let progress = decodeProgress(tp.offset >= 0 ? tp.offset : undefined, tp.metadata, marks.low);
      if (progress.pending) {
        const pending = progress.pending;
        const landed = await pendingLanded(options, tp.partition, pending);
        progress = landed ? markReplayed(progress, pending.offset) : clearPending(progress);
        if (landed) this.report.recoveredPending++;
        options.out(
          `pending send of ${recordCoordinates(options.dlqTopic, tp.partition, pending.offset)} from an earlier run ${
            landed ? 'had landed: counted as replayed' : 'had not landed: it will be sent'
          }`,
        );
        await this.commit(consumer, tp.partition, progress);
      }
      this.work.set(tp.partition, { progress, high: marks.high });
    }
  }

  private async move(
    consumer: RdKafkaConsumer,
    producer: FleetProducer,
    work: PartitionWork,
    message: Message,
  ): Promise<void> {
    const { options } = this;
    const record = toDlqRecord(message);
    const replay = buildReplayRecord(record, new Date(this.now()))!;
    const pending = markPending(work.progress, record.offset, this.now(), replay.topic);
    const done = markReplayed(work.progress, record.offset);
    if (!fitsMetadata(pending) || !fitsMetadata(done)) {
      throw new RefusedError(
        `the replay progress of ${options.dlqTopic} partition ${record.partition} is full (too many scattered replayed records above offset ${work.progress.next}); replay the records below them (without filters) to compact it`,
        false,
      );
    }
    // Back to the partition it was read from, where its key's other records are (the partitioner
    // of this tool need not be the one of the original producer). A topic with fewer partitions
    // now (recreated) leaves the choice to the key, said so in the output.
    const partitions = await this.partitionCountOf(replay.topic);
    const partition = replay.partition < partitions ? replay.partition : undefined;
    if (partition === undefined) {
      options.out(
        `warning: ${replay.topic} has ${partitions} partitions now, ${replay.marker} came from partition ${replay.partition}: the key picks one`,
      );
    }
    await this.pace();
    await this.commit(consumer, record.partition, pending);
    // The original's headers as they were (trace context, correlation id), plus the replay marker.
    const receipt = await producer.sendRaw(replay.topic, {
      key: replay.key,
      value: replay.value,
      headers: replay.headers,
      verbatimHeaders: true,
      ...(partition === undefined ? {} : { partition }),
    });
    work.progress = done;
    await this.commit(consumer, record.partition, done);
    this.report.moved++;
    options.out(
      `moved ${replay.marker} -> ${receipt.topic}/${receipt.partition}/${receipt.offset} (${record.info!.errorClass})`,
    );
  }

  /** How many partitions `topic` has (asked once per topic and run). */
  private async partitionCountOf(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    const offsets = await retryRetriable(`could not read the partitions of ${topic}`, () =>
      this.options.admin.fetchTopicOffsets(topic, { timeout: this.options.adminTimeoutMs } as never),
    );
    this.partitionCounts.set(topic, offsets.length);
    return offsets.length;
  }

  /** Waits so that sends stay at or below --rate. */
  private async pace(): Promise<void> {
    const wait = this.nextSendAt - Date.now();
    if (wait > 0) await sleep(wait);
    this.nextSendAt = Math.max(Date.now(), this.nextSendAt) + 1000 / this.options.ratePerSecond;
  }

  private commit(consumer: RdKafkaConsumer, partition: number, progress: ReplayProgress): Promise<void> {
    const { offset, metadata } = encodeProgress(progress);
    const entry: TopicPartitionOffsetAndMetadata = {
      topic: this.options.dlqTopic,
      partition,
      offset,
      metadata,
    };
    return new Promise<void>((resolve, reject) =>
      consumer.commitCb([entry], (error) =>
        error
          ? reject(
              toKafkaClientError(
                error,
                `could not record the replay progress of ${this.options.dlqTopic} partition ${partition}`,
                KafkaClientError,
              ),
            )
          : resolve(),
      ),
    );
  }
}
