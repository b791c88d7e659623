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
import { pendingLanded } from './pendingRecovery.ts';
import { lockHolderRefusal, replayLockInstanceId } from './replayLock.ts';
import {
  clearPending,
  decodeProgress,
  encodeProgress,
  fitsMetadata,
  isReplayed,
  markPending,
  markReplayed,
  type ReplayProgress,
  ReplayProgressError,
} from './replayProgress.ts';
import { buildReplayRecord } from './replayRecord.ts';
import { readRanges } from './topicReader.ts';

const ERRORS = RdKafka.CODES.ERRORS;

/** The consumer group whose commits hold a DLQ's replay progress (and whose membership locks it). */
export function progressGroupOf(dlqTopic: string): string {
  return `fleet.ops.dlq-replay.${dlqTopic}`;
}

/**
 * How long recording a pending send may take before the send starts. A send starts at most this
 * long after its recorded start and is acknowledged or failed within twice the producer's message
 * timeout (fleetProducer.ts), which bounds where a crash recovery must look for it.
 */
const pendingCommitAllowanceMs = 30_000;
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
  /** Partitions with records to replay that were never assigned to this run (the coordinator did not answer in time). */
  unassigned: number[];
  stoppedAtMax: boolean;
}

interface PartitionWork {
  /** The DLQ partition. */
  partition: number;
  progress: ReplayProgress;
  high: number;
  /** The offset committed for the partition as last read or written: a commit never goes below it. */
  committedNext: number;
}

/** A failure of the progress-group consumer (joining, reading, committing); fatal when the coordinator refused or fenced this run. */
export class ProgressGroupError extends KafkaClientError {}

/**
 * Moves dead letters back onto their original topics, each exactly once across runs: progress
 * per DLQ partition lives in the commits of `fleet.ops.dlq-replay.<dlq>` (see replayProgress.ts),
 * a send is recorded as pending before it starts and as done only after the broker acknowledged
 * it, and a pending send left by a run that died is settled by looking for its `fleet.replay.of`
 * marker on the original topic. The run joins that group under a fixed group.instance.id, which
 * the coordinator lets one live member hold (replayLock.ts): a second replay of the same DLQ is
 * refused (RefusedError), even one started at the same moment. Dry runs read the same way, join
 * nothing and change nothing.
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
  const watermarks = await dlqWatermarks(options);
  if (options.dryRun) {
    await dryRun(options, watermarks, report);
    return report;
  }
  await new Replayer(options, watermarks, report).run();
  return report;
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

/** The real run: the progress group's one member, reading its DLQ partitions and moving their records. */
class Replayer {
  private readonly options: ReplayOptions;
  private readonly watermarks: ReadonlyMap<number, { low: number; high: number }>;
  private readonly report: ReplayReport;
  private readonly owned = new Set<number>();
  /** Progress of owned partitions only: dropped on revoke, read again from the broker on every assign. */
  private readonly work = new Map<number, PartitionWork>();
  private readonly finished = new Set<number>();
  private nextSendAt = 0;
  private rebalanceError: Error | undefined;
  /** librdkafka's text for a fatal consumer error (it reports only ERR__FATAL to the caller). */
  private fatalReason: string | undefined;
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
    } catch (error) {
      throw await this.explainFailure(error);
    } finally {
      if (consumer) {
        const c = consumer;
        await new Promise<void>((resolve) => c.disconnect(() => resolve()));
      }
      await producer.stop();
    }
  }

  /** A fatal progress-group error means the coordinator refused or fenced this run: say who holds the lock. */
  private async explainFailure(error: unknown): Promise<unknown> {
    if (!(error instanceof ProgressGroupError && error.fatal)) return error;
    const { options } = this;
    const group = progressGroupOf(options.dlqTopic);
    const refusal = await lockHolderRefusal(
      options.admin,
      options.adminTimeoutMs,
      options.dlqTopic,
      group,
      () => this.fatalReason,
    );
    if (refusal) return refusal;
    if (this.fatalReason === undefined) return error;
    return new ProgressGroupError(`${error.message}: ${this.fatalReason}`, {
      code: error.errno,
      retriable: false,
      fatal: true,
      cause: error,
    });
  }

  private async joinProgressGroup(): Promise<RdKafkaConsumer> {
    const { options } = this;
    const consumer = createRdKafkaConsumer(
      {
        ...baseClientConfig(options.client),
        'client.id': `ops-dlq-replay-${process.pid}`,
        'group.id': progressGroupOf(options.dlqTopic),
        'group.protocol': 'consumer',
        // The lock: a second live member with this id is refused by the coordinator.
        'group.instance.id': replayLockInstanceId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        // Log events: the reason of a fatal error arrives only as a log line.
        event_cb: true,
        rebalance_cb: (error: LibrdKafkaError, assignment: TopicPartition[]) => {
          try {
            if (error.code === ERRORS.ERR__ASSIGN_PARTITIONS) {
              consumer.incrementalAssign(assignment);
              for (const tp of assignment) this.owned.add(tp.partition);
            } else {
              this.release(assignment.map((tp) => tp.partition));
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
    consumer.on('event.log', (log: { fac?: string; message?: string }) => {
      if (log.fac === 'FATAL' && log.message) this.fatalReason = log.message;
    });
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: options.client.socketTimeoutMs }, (error) =>
        error
          ? reject(toKafkaClientError(error, 'could not join the replay progress group', ProgressGroupError))
          : resolve(),
      ),
    );
    consumer.setDefaultConsumeTimeout(200);
    consumer.subscribe([options.dlqTopic]);
    return consumer;
  }

  /**
   * Forgets revoked partitions, their progress included: whoever owns one meanwhile may move it
   * further, so it is read again from the broker if it comes back.
   */
  private release(partitions: readonly number[]): void {
    for (const partition of partitions) {
      this.owned.delete(partition);
      this.work.delete(partition);
    }
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
          const typed = toKafkaClientError(error, `could not read ${options.dlqTopic}`, ProgressGroupError);
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
      this.noteFinished(consumer);
      const waiting = withWork.filter((p) => !this.finished.has(p));
      if (waiting.length === 0) return;
      if (waiting.every((p) => !this.owned.has(p)) && Date.now() - startedAt > assignmentWaitMs) {
        report.unassigned = waiting;
        return;
      }
    }
  }

  /** Marks owned partitions whose progress or read position reached the end seen at the start. */
  private noteFinished(consumer: RdKafkaConsumer): void {
    for (const [partition, work] of this.work) {
      if (!this.owned.has(partition)) continue;
      const [position] = consumer.position([{ topic: this.options.dlqTopic, partition }]);
      if (work.progress.next >= work.high || (position && position.offset >= work.high))
        this.finished.add(partition);
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
            ? reject(toKafkaClientError(error, 'could not read the replay progress', ProgressGroupError))
            : resolve(partitions),
      ),
    );
    for (const tp of committed) {
      const marks = this.watermarks.get(tp.partition) ?? { low: 0, high: 0 };
      const stored = decodeProgress(tp.offset >= 0 ? tp.offset : undefined, tp.metadata, marks.low);
      const work: PartitionWork = {
        partition: tp.partition,
        progress: stored,
        high: marks.high,
        committedNext: stored.next,
      };
      if (stored.pending) await this.settlePending(consumer, work);
      this.work.set(tp.partition, work);
    }
  }

  /** Settles a send an earlier run left pending: counted as replayed if its marker landed, else sent again. */
  private async settlePending(consumer: RdKafkaConsumer, work: PartitionWork): Promise<void> {
    const { options } = this;
    const { partition } = work;
    const pending = work.progress.pending!;
    const landed = await pendingLanded(options, partition, pending);
    const settled = landed ? markReplayed(work.progress, pending.offset) : clearPending(work.progress);
    if (landed) this.report.recoveredPending++;
    options.out(
      `pending send of ${recordCoordinates(options.dlqTopic, partition, pending.offset)} from an earlier run ${
        landed ? 'had landed: counted as replayed' : 'had not landed: it will be sent'
      }`,
    );
    await this.commit(consumer, work, settled);
    work.progress = settled;
  }

  private async move(
    consumer: RdKafkaConsumer,
    producer: FleetProducer,
    work: PartitionWork,
    message: Message,
  ): Promise<void> {
    const { options } = this;
    const record = toDlqRecord(message);
    const info = record.info!;
    const done = markReplayed(work.progress, record.offset);
    const largestPending = this.pendingProgress(
      work,
      record.offset,
      info.originalTopic,
      info.originalPartition,
      Date.now(),
    );
    if (!fitsMetadata(largestPending) || !fitsMetadata(done)) {
      throw new RefusedError(
        `the replay progress of ${options.dlqTopic} partition ${record.partition} is full (too many scattered replayed records above offset ${work.progress.next}); replay the records below them (without filters) to compact it`,
        false,
      );
    }
    // Back to the partition it was read from, where its key's other records are (the partitioner
    // of this tool need not be the one of the original producer). A topic with fewer partitions
    // now (recreated) leaves the choice to the key, said so in the output.
    const partitions = await this.partitionCountOf(info.originalTopic);
    const partition = info.originalPartition < partitions ? info.originalPartition : undefined;
    await this.pace();
    const at = await this.recordPending(consumer, work, record.offset, info.originalTopic, partition);
    const replay = buildReplayRecord(record, new Date(at))!;
    if (partition === undefined) {
      options.out(
        `warning: ${replay.topic} has ${partitions} partitions now, ${replay.marker} came from partition ${replay.partition}: the key picks one`,
      );
    }
    // The original's headers as they were (trace context, correlation id), plus the replay marker;
    // stamped with the recorded start, so that a crash recovery finds it by time.
    const receipt = await producer.sendRaw(replay.topic, {
      key: replay.key,
      value: replay.value,
      headers: replay.headers,
      verbatimHeaders: true,
      timestamp: at,
      ...(partition === undefined ? {} : { partition }),
    });
    await this.commit(consumer, work, done);
    work.progress = done;
    this.report.moved++;
    options.out(
      `moved ${replay.marker} -> ${receipt.topic}/${receipt.partition}/${receipt.offset} (${info.errorClass})`,
    );
  }

  /** The progress that records a send of `offset` starting at `at`, with the time by which it lands or fails. */
  private pendingProgress(
    work: PartitionWork,
    offset: number,
    topic: string,
    partition: number | undefined,
    at: number,
  ): ReplayProgress {
    const until = at + pendingCommitAllowanceMs + 2 * this.options.producerSettings.messageTimeoutMs;
    return markPending(work.progress, offset, { at, topic, partition, until });
  }

  /**
   * Commits the pending send of `offset` and returns its recorded start. Recorded again when
   * committing took longer than allowed: the send must start within the allowance, or it could
   * land after the recorded deadline, where a crash recovery would not look.
   */
  private async recordPending(
    consumer: RdKafkaConsumer,
    work: PartitionWork,
    offset: number,
    topic: string,
    partition: number | undefined,
  ): Promise<number> {
    for (;;) {
      const at = Date.now();
      await this.commit(consumer, work, this.pendingProgress(work, offset, topic, partition, at));
      if (Date.now() - at <= pendingCommitAllowanceMs) return at;
    }
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

  /**
   * Stores `progress` as the partition's commit. Never below the offset committed before: a
   * lower one would mark records replayed since as waiting, and a later run would send them again.
   */
  private async commit(
    consumer: RdKafkaConsumer,
    work: PartitionWork,
    progress: ReplayProgress,
  ): Promise<void> {
    const { dlqTopic } = this.options;
    if (progress.next < work.committedNext) {
      throw new ReplayProgressError(
        `refusing to move the replay progress of ${dlqTopic} partition ${work.partition} back from offset ${work.committedNext} to ${progress.next}`,
      );
    }
    const { offset, metadata } = encodeProgress(progress);
    const entry: TopicPartitionOffsetAndMetadata = {
      topic: dlqTopic,
      partition: work.partition,
      offset,
      metadata,
    };
    await new Promise<void>((resolve, reject) =>
      consumer.commitCb([entry], (error) =>
        error
          ? reject(
              toKafkaClientError(
                error,
                `could not record the replay progress of ${dlqTopic} partition ${work.partition}`,
                ProgressGroupError,
              ),
            )
          : resolve(),
      ),
    );
    work.committedNext = progress.next;
  }
}
