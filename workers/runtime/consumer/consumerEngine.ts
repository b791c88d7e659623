import { setTimeout as sleep } from 'node:timers/promises';
import type { LibrdKafkaError, Message, TopicPartition } from '@confluentinc/kafka-javascript';
import pRetry from 'p-retry';
import {
  DependencyUnavailableError,
  describeError,
  dispositionOf,
  ProcessingError,
  RetriableError,
} from '../errors/processingErrors.ts';
import { answerWithin } from '../resilience/answerWithin.ts';
import type { DeadLetterWriteFailure } from '../resilience/deadLetterCaps.ts';
import type { FailedMessage } from '../resilience/deadLetterRecord.ts';
import type { ConsumedMessage, MessageHandler, ValueDecoder } from './consumedMessage.ts';
import type { ConsumerOptions } from './consumerOptions.ts';
import {
  type EngineObserver,
  type PartitionSnapshot,
  type PauseReason,
  silentObserver,
} from './engineObserver.ts';
import { LaneScheduler, type Schedulable } from './laneScheduler.ts';
import { OffsetTracker } from './offsetTracker.ts';
import { createRdKafkaConsumer, type RdKafkaConsumer } from './rdkafkaConsumer.ts';

const ERR_ASSIGN_PARTITIONS = -175;
const ERR_REVOKE_PARTITIONS = -174;
/**
 * Least time a revoke's commit gets when the in-flight handlers used up CONSUMER_REVOKE_TIMEOUT_MS:
 * committing what did finish saves the next owner from redoing it.
 */
const REVOKE_COMMIT_MIN_MS = 1000;
/** How often the engine checks that the topics it subscribed to exist (a mistyped or deleted one feeds nothing). */
const SUBSCRIBED_TOPIC_CHECK_MS = 30_000;
/** The same while one is missing: readiness comes back within seconds of the topic's creation. */
const MISSING_TOPIC_RECHECK_MS = 2_000;
/** How long the ListOffsets that wakes librdkafka's fetcher after a resume may take (its answer is unused). */
const FETCHER_WAKE_TIMEOUT_MS = 1_000;
/**
 * Wakes in flight at once. Each holds a libuv thread-pool thread (4 by default) until answered,
 * and the client's consume() needs one too: a burst of resumes against a slow broker must not
 * starve the poll loop. A skipped wake costs that partition at most the broker thread's second.
 */
const MAX_FETCHER_WAKES_IN_FLIGHT = 2;

/** What a worker declares: its group, its topics and its handler. */
export interface WorkerSpec<V> {
  /** Worker name: metrics, logs and DLQ headers carry it. */
  name: string;
  /** Consumer group id. */
  groupId: string;
  /** Topics consumed by the group. */
  topics: string[];
  /** Business logic for one message. */
  handler: MessageHandler<V>;
  /** Turns value bytes into the handler's value (Avro through the registry for fleet workers). */
  decoder: ValueDecoder<V>;
  /** Names of circuit breakers the handler calls; while one is open the worker's partitions pause. */
  dependsOn?: readonly string[];
}

/** A failed message on its way to the DLQ: the original record plus why and after how many tries. */
export type DeadLetterInput = FailedMessage;

/** Publishes a dead letter and resolves once the broker acknowledged it. */
export interface DeadLetterPublisher {
  publish(input: DeadLetterInput): Promise<void>;
}

/** The DLQ volume caps, as the engine uses them (see resilience/deadLetterCaps.ts). */
export interface DeadLetterGate {
  admitDeadLetter(
    topic: string,
    partition: number,
  ): Promise<{ admitted: true } | { admitted: false; reason: string }>;
  recordSuccess(topic: string, partition: number): void;
  /** An admitted dead letter's write failed; the admission stands (only the write is retried). */
  deadLetterWriteFailed(
    topic: string,
    partition: number,
    offset: number,
    failure: DeadLetterWriteFailure,
  ): void;
  /** An admitted dead letter was acknowledged by the broker. */
  deadLetterWritten(topic: string, partition: number, offset: number): void;
  /** Whether a tripped cap holds the partition (its own, or the worker-wide rate block). */
  isBlocked(topic: string, partition: number): boolean;
  /** Registers a listener for "dead-lettering may resume" (all partitions, or one). */
  onResumed(listener: (topic?: string, partition?: number) => void): void;
  degradedReason(): string | undefined;
  /** Forgets a partition this process no longer owns: its block and windows go with it. */
  releasePartition(topic: string, partition: number): void;
  /**
   * The newly assigned partitions that arrive blocked: a previous owner's cap, still in force, that
   * the gate now holds as its own (it lifts them like its own). Never throws.
   */
  inheritBlocks?(
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<{ topic: string; partition: number }[]>;
}

/** The circuit breakers a worker depends on, as the engine uses them. */
export interface BreakerWatch {
  /** True while any of the named breakers is open. */
  anyOpen(names: readonly string[]): boolean;
  /** Registers a listener for breaker state changes. */
  onStateChange(listener: (name: string, state: 'closed' | 'open' | 'half-open') => void): void;
}

/** Structured logger (pino's signature). */
export interface EngineLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Everything the engine needs besides the worker. */
export interface ConsumerEngineDeps {
  /** Kafka bootstrap servers. */
  bootstrapServers: string;
  options: ConsumerOptions;
  deadLetters: DeadLetterPublisher;
  dlqGate?: DeadLetterGate;
  breakers?: BreakerWatch;
  observer?: EngineObserver;
  logger?: EngineLogger;
  /** Wraps each handler call (tracing spans, log context). */
  instrument?: <V>(message: ConsumedMessage<V>, run: () => Promise<void>) => Promise<void>;
  /** Extra librdkafka settings (tests, tuning). */
  kafkaConfig?: Record<string, string | number | boolean>;
}

interface Envelope extends Schedulable {
  readonly partitionId: string;
  readonly orderingKey: string;
  readonly epoch: number;
  readonly record: Message;
  readonly size: number;
  readonly headers: Readonly<Record<string, Buffer>>;
  attempts: number;
  /** When the current handler call started (ms), for the stuck-handler liveness check. */
  startedAt: number;
  /** The scheduler's lane of this envelope (saves a key lookup per completion). */
  laneRef: unknown;
  /** Started by the scheduler and not yet completed or requeued: it still holds a slot and its lane. */
  holdsSlot: boolean;
  /** Set once the DLQ caps admitted its dead letter: from then on only the write runs, never the handler. */
  deadLetter?: PendingDeadLetter;
}

/** An admitted dead letter not yet acknowledged by the broker. */
interface PendingDeadLetter {
  readonly error: unknown;
  readonly description: { errorClass: string; code: string; message: string };
  failedWrites: number;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly id: string;
  readonly epoch: number;
  readonly tracker: OffsetTracker;
  bufferedBytes: number;
  inFlight: number;
  committed: number | undefined;
  readonly pausedFor: Set<PauseReason>;
  revoking: boolean;
  /** Consecutive "dependency unavailable" failures, for the probe delay when no breaker watches it. */
  dependencyFailures: number;
  /** Timers acting on this assignment of the partition; cleared on revoke and on stop. */
  readonly timers: Set<NodeJS.Timeout>;
  /** Aborted on revoke: wakes messages of this assignment that wait to run again (retryLater). */
  readonly revoked: AbortController;
  /** Offsets whose admitted dead letter failed to be written: the partition stays paused until none is left. */
  readonly failingDeadLetterWrites: Set<number>;
}

/**
 * Carries a handler's unexpected failure (anything but a ProcessingError) through p-retry, which
 * never retries a TypeError or a non-Error value by itself; retriable, as processingErrors.ts
 * promises for unknown errors. The original is its `cause` and is what metrics, logs and dead
 * letters see.
 */
class UnexpectedHandlerFailure extends RetriableError {
  constructor(original: unknown) {
    super(describeError(original).message, { cause: original, code: 'UNEXPECTED' });
  }
}

function asRetriable(error: unknown): unknown {
  return error instanceof ProcessingError ? error : new UnexpectedHandlerFailure(error);
}

function unwrapUnexpected(error: unknown): unknown {
  return error instanceof UnexpectedHandlerFailure ? error.cause : error;
}

type Lifecycle = 'new' | 'starting' | 'running' | 'draining' | 'stopping' | 'stopped';

const silentLogger: EngineLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/**
 * The worker runtime's consumer: pulls records fast from librdkafka's node-rdkafka-style
 * API, schedules them in per-key lanes under a global concurrency limit, commits only the
 * contiguous finished watermark of each partition (periodically, on revoke, on shutdown),
 * fences in-flight work of revoked partitions by assignment epoch, pauses single partitions
 * for backpressure, open breakers and DLQ caps while it keeps polling, retries with
 * backoff while the key stays blocked, and dead-letters what cannot be processed.
 */
export class ConsumerEngine<V = unknown> {
  private readonly worker: WorkerSpec<V>;
  private readonly deps: ConsumerEngineDeps;
  private readonly options: ConsumerOptions;
  private readonly observer: EngineObserver;
  private readonly logger: EngineLogger;
  private readonly partitions = new Map<string, PartitionState>();
  private readonly scheduler: LaneScheduler<Envelope>;
  private readonly running = new Set<Envelope>();
  private consumer: RdKafkaConsumer | undefined;
  /** ListOffsets requests sent to wake librdkafka's fetcher and not yet answered. */
  private fetcherWakesInFlight = 0;
  private lifecycle: Lifecycle = 'new';
  private epochCounter = 0;
  private totalUnfinished = 0;
  private totalBytes = 0;
  private processFull = false;
  private pollLoopDone: Promise<void> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private topicCheckTimer: NodeJS.Timeout | undefined;
  /** Metadata look-ups of the subscribed topics not answered yet (a slow broker must not pile them up). */
  private topicChecksInFlight = 0;
  /** Whether the drain's commit completed; undefined before a drain. */
  private drainCommitted: boolean | undefined;
  /** Subscribed topics the cluster's metadata does not know: this member can never be given their partitions. */
  private readonly missingTopics = new Set<string>();
  private commitChain: Promise<void> = Promise.resolve();
  private rebalanceChain: Promise<void> = Promise.resolve();
  private lastPollAt = 0;
  private joinedGroup = false;
  /** The client's group coordinator connection is up (statistics): a member the group may give nothing. */
  private coordinatorUp = false;
  private operatorPaused = false;
  private readonly abort = new AbortController();
  private readonly idleWaiters: Array<() => void> = [];
  private startPromise: Promise<void> | undefined;
  private drainPromise: Promise<boolean> | undefined;
  private stopPromise: Promise<void> | undefined;

  constructor(worker: WorkerSpec<V>, deps: ConsumerEngineDeps) {
    this.worker = worker;
    this.deps = deps;
    this.options = deps.options;
    this.observer = deps.observer ?? silentObserver;
    this.logger = deps.logger ?? silentLogger;
    this.scheduler = new LaneScheduler<Envelope>(
      this.options.ordering,
      this.options.maxConcurrency,
      (envelope) => this.run(envelope),
    );
    deps.breakers?.onStateChange((name, state) => this.onBreakerChange(name, state));
    deps.dlqGate?.onResumed((topic, partition) => this.onDeadLettersResumed(topic, partition));
  }

  /** Connects, subscribes and starts polling; resolves once connected; idempotent. */
  start(): Promise<void> {
    this.startPromise ??= this.startOnce();
    return this.startPromise;
  }

  private async startOnce(): Promise<void> {
    if (this.lifecycle !== 'new') return;
    this.lifecycle = 'starting';
    const consumer = createRdKafkaConsumer(this.consumerConfig(), {
      'auto.offset.reset': this.options.autoOffsetReset,
    });
    this.consumer = consumer;
    consumer.setDefaultConsumeTimeout(this.options.pollTimeoutMs);
    consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    consumer.on('event.error', (error) =>
      this.logger.warn({ err: error.message, code: error.code }, 'kafka client error'),
    );
    consumer.on('event.stats', (stats: { message: string }) => this.onClientStats(stats.message));
    await new Promise<void>((resolve, reject) => {
      consumer.connect({ timeout: 30_000 }, (error) => (error ? reject(error) : resolve()));
    }).catch((error: LibrdKafkaError) => {
      this.lifecycle = 'stopped';
      throw new Error(
        `${this.worker.name}: cannot connect to Kafka at ${this.deps.bootstrapServers}: ${error.message}`,
      );
    });
    // stop() came while connecting: it waits for this start and closes the client; start nothing.
    if (this.lifecycle !== 'starting') return;
    consumer.subscribe(this.worker.topics);
    this.lifecycle = 'running';
    this.lastPollAt = Date.now();
    this.commitTimer = setInterval(() => {
      this.commitFinished().catch((error: Error) =>
        this.logger.warn({ err: error.message }, 'periodic commit failed'),
      );
    }, this.options.commitIntervalMs);
    this.pollLoopDone = this.pollLoop();
    this.checkSubscribedTopics();
    this.logger.info(
      { topics: this.worker.topics, group: this.worker.groupId, protocol: this.options.groupProtocol },
      'consumer started',
    );
  }

  /** Runs the next subscribed-topic check in `delayMs` (replacing the one scheduled). */
  private scheduleTopicCheck(delayMs: number): void {
    clearTimeout(this.topicCheckTimer);
    if (this.lifecycle !== 'running') return;
    this.topicCheckTimer = setTimeout(() => this.checkSubscribedTopics(), delayMs);
    this.topicCheckTimer.unref();
  }

  /**
   * Looks each subscribed topic up in the cluster's metadata. A topic that does not exist (a
   * mistyped name, one deleted under the worker; auto-creation is off) is subscribed without an
   * error and assigns nothing: the member would be alive, in its group and idle for ever. It is
   * logged and makes the member not ready until the topic appears. A failed look-up changes nothing.
   */
  private checkSubscribedTopics(): void {
    const consumer = this.consumer;
    if (!consumer || this.lifecycle !== 'running') return;
    this.scheduleTopicCheck(
      this.missingTopics.size > 0 ? MISSING_TOPIC_RECHECK_MS : SUBSCRIBED_TOPIC_CHECK_MS,
    );
    // Each look-up holds a libuv thread, as consume() and commits do: never more than one round.
    if (this.topicChecksInFlight > 0) return;
    for (const topic of this.worker.topics) {
      this.topicChecksInFlight++;
      consumer.getMetadata({ topic, allTopics: false, timeout: 5_000 }, (error, metadata) => {
        this.topicChecksInFlight--;
        if (error || this.lifecycle !== 'running') return;
        const found = metadata?.topics.find((t) => t.name === topic);
        const missing = !found || found.partitions.length === 0;
        if (missing && !this.missingTopics.has(topic)) {
          this.missingTopics.add(topic);
          this.logger.error(
            { topic },
            'subscribed topic does not exist: nothing is consumed from it (not ready)',
          );
          this.scheduleTopicCheck(MISSING_TOPIC_RECHECK_MS);
        } else if (!missing && this.missingTopics.delete(topic)) {
          this.logger.info({ topic }, 'subscribed topic exists now');
        }
      });
    }
  }

  /**
   * Stops starting new messages, waits up to `timeoutMs` for in-flight handlers, then commits.
   * Resolves true when everything in flight finished. Queued-but-unstarted messages are not
   * committed and will be consumed again by whoever owns the partition next.
   */
  drain(timeoutMs: number): Promise<boolean> {
    this.drainPromise ??= this.drainOnce(timeoutMs);
    return this.drainPromise;
  }

  /** Drains (without waiting when `drain` was not called), leaves the group and closes the client; idempotent. */
  stop(): Promise<void> {
    this.stopPromise ??= this.stopOnce();
    return this.stopPromise;
  }

  /** Pauses or resumes every partition on an operator's request (the ops CLI and runbooks use it). */
  setOperatorPause(paused: boolean): void {
    this.operatorPaused = paused;
    for (const state of this.partitions.values()) this.setPaused(state, 'operator', paused);
  }

  /** True while the poll loop turns and no handler is stuck: the /healthz answer. */
  liveness(now = Date.now()): { ok: boolean; reason?: string } {
    if (this.lifecycle !== 'running' && this.lifecycle !== 'draining')
      return { ok: this.lifecycle !== 'stopped', reason: this.lifecycle };
    const pollAge = now - this.lastPollAt;
    if (pollAge > Math.max(30_000, this.options.pollTimeoutMs * 50))
      return { ok: false, reason: `poll loop stalled for ${pollAge} ms` };
    for (const envelope of this.running) {
      const started = envelope.startedAt;
      if (now - started > this.options.stuckHandlerMs)
        return { ok: false, reason: `a handler has run for ${now - started} ms` };
    }
    return { ok: true };
  }

  /**
   * True once this member is in its group, every topic it subscribed to exists, and no DLQ cap
   * holds it: the /readyz answer. In the
   * group means assigned something, or — a replica beyond the partition count — connected to the
   * group's coordinator with nothing assigned: librdkafka's KIP-848 client announces no empty
   * assignment, so such a member would otherwise never be ready and a rollout at full scale would
   * never finish.
   */
  readiness(): { ok: boolean; reason?: string } {
    if (this.lifecycle !== 'running') return { ok: false, reason: `consumer ${this.lifecycle}` };
    if (this.missingTopics.size > 0) {
      return {
        ok: false,
        reason: `subscribed topic(s) not found: ${[...this.missingTopics].sort().join(', ')}`,
      };
    }
    if (!this.joinedGroup && !this.coordinatorUp) {
      return { ok: false, reason: 'not yet a member of the consumer group' };
    }
    const degraded = this.deps.dlqGate?.degradedReason();
    if (degraded) return { ok: false, reason: degraded };
    return { ok: true };
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.scheduler.inFlight;
  }

  /** Per-partition state for gauges and tests. */
  snapshot(): PartitionSnapshot[] {
    const queued = this.scheduler.queuedByPartition();
    const now = Date.now();
    return [...this.partitions.values()].map((state) => {
      const committable = state.tracker.committable();
      return {
        topic: state.topic,
        partition: state.partition,
        epoch: state.epoch,
        unfinished: state.tracker.unfinished(),
        bufferedBytes: state.bufferedBytes,
        queued: queued.get(state.id) ?? 0,
        inFlight: state.inFlight,
        committed: state.committed,
        committable,
        pausedFor: [...state.pausedFor],
        oldestUnfinishedAgeMs: state.tracker.oldestUnfinishedAgeMs(now),
        uncommitted: state.tracker.uncommitted(),
        lag: this.lagOf(state),
      };
    });
  }

  /** Commits every partition's finished watermark that moved since the last commit. */
  commitFinished(only?: ReadonlySet<string>, includeRevoking = false): Promise<void> {
    const next = this.commitChain.then(() => this.commitNow(only, includeRevoking));
    this.commitChain = next.catch(() => undefined);
    return next;
  }

  private consumerConfig(): Record<string, string | number | boolean | ((...args: never[]) => void)> {
    // The caller's client settings first (timeouts, client id, tuning); the engine's own
    // contract — manual commits, no offset store, our rebalance callback — always wins.
    const base: Record<string, string | number | boolean | ((...args: never[]) => void)> = {
      'bootstrap.servers': this.deps.bootstrapServers,
      'client.id': `${this.worker.name}-${process.pid}`,
      'fetch.wait.max.ms': 50,
      'queued.max.messages.kbytes': 8192,
      'fetch.max.bytes': 16777216,
      // For readiness: a member with nothing assigned is seen in the group by its coordinator state.
      'statistics.interval.ms': 5000,
      ...(this.deps.kafkaConfig ?? {}),
      'group.id': this.worker.groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'max.poll.interval.ms': this.options.maxPollIntervalMs,
      'group.protocol': this.options.groupProtocol,
      rebalance_cb: (error: LibrdKafkaError, assignment: TopicPartition[]) => {
        this.rebalanceChain = this.rebalanceChain.then(() =>
          this.onRebalance(error, assignment).catch((e: Error) =>
            this.logger.error({ err: e.message }, 'rebalance handling failed'),
          ),
        );
      },
    };
    if (this.options.groupProtocol === 'classic') {
      base['partition.assignment.strategy'] = 'cooperative-sticky';
      base['session.timeout.ms'] = this.options.sessionTimeoutMs;
      base['heartbeat.interval.ms'] = Math.floor(this.options.sessionTimeoutMs / 4);
    }
    return base;
  }

  // librdkafka's statistics (every statistics.interval.ms): only the group coordinator's state is read.
  private onClientStats(json: string): void {
    try {
      this.coordinatorUp = (JSON.parse(json) as { cgrp?: { state?: string } }).cgrp?.state === 'up';
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'unreadable kafka client statistics');
    }
  }

  private async pollLoop(): Promise<void> {
    const consumer = this.consumer!;
    while (this.lifecycle === 'running' || this.lifecycle === 'draining') {
      let messages: Message[];
      try {
        messages = await new Promise<Message[]>((resolve, reject) => {
          consumer.consume(this.options.fetchBatch, (error, batch) =>
            error ? reject(error) : resolve(batch ?? []),
          );
        });
      } catch (error) {
        const e = error as LibrdKafkaError;
        this.lastPollAt = Date.now();
        if (this.lifecycle !== 'running' && this.lifecycle !== 'draining') break;
        this.logger.warn({ err: e.message, code: e.code }, 'poll failed');
        await sleep(Math.min(1000, this.options.pollTimeoutMs * 5));
        continue;
      }
      this.lastPollAt = Date.now();
      if (messages.length > 0) this.accept(messages);
    }
  }

  private accept(messages: Message[]): void {
    const touched = new Set<PartitionState>();
    const now = Date.now();
    let consumedTopic = '';
    let consumedCount = 0;
    for (const record of messages) {
      const id = `${record.topic}:${record.partition}`;
      const state = this.partitions.get(id);
      // Not ours (anymore) or being revoked: the next owner consumes it from the committed offset.
      if (!state || state.revoking) continue;
      // librdkafka resumes a paused partition from the next unconsumed offset, so this only guards
      // against a redelivery we already hold.
      if (record.offset <= state.tracker.lastReceivedOffset()) continue;
      state.tracker.received(record.offset, now);
      const size = (record.value?.length ?? 0) + (record.key ? Buffer.byteLength(record.key) : 0);
      state.bufferedBytes += size;
      this.totalBytes += size;
      this.totalUnfinished++;
      const headers = record.headers ? headerMap(record.headers) : noHeaders;
      const keyText =
        record.key == null ? '' : typeof record.key === 'string' ? record.key : record.key.toString('utf8');
      this.scheduler.enqueue({
        partitionId: id,
        orderingKey: keyText,
        epoch: state.epoch,
        record,
        size,
        headers,
        startedAt: 0,
        laneRef: undefined,
        attempts: 0,
        holdsSlot: false,
      });
      touched.add(state);
      if (record.topic !== consumedTopic) {
        if (consumedCount > 0) this.observer.consumed(consumedTopic, consumedCount);
        consumedTopic = record.topic;
        consumedCount = 0;
      }
      consumedCount++;
    }
    if (consumedCount > 0) this.observer.consumed(consumedTopic, consumedCount);
    for (const state of touched) this.applyPartitionBackpressure(state);
    this.applyProcessBackpressure();
    this.scheduler.pump();
  }

  // The scheduler's run callback. A failure of the engine's own handling of a message (the DLQ caps
  // rejecting, an observer throwing) must neither become an unhandled rejection, which would kill
  // the process, nor leave the message's slot and lane busy for ever.
  private run(envelope: Envelope): void {
    envelope.holdsSlot = true;
    void this.process(envelope).catch((error: unknown) => this.recover(envelope, error));
  }

  private async process(envelope: Envelope): Promise<void> {
    const state = this.partitions.get(envelope.partitionId);
    if (!state || state.epoch !== envelope.epoch) {
      this.completeSlot(envelope);
      this.notifyIdle();
      return;
    }
    state.inFlight++;
    const started = Date.now();
    envelope.startedAt = started;
    this.running.add(envelope);
    try {
      // An admitted dead letter whose write failed: only the write runs again, never the handler.
      if (envelope.deadLetter) return await this.writeDeadLetter(envelope, state, started);
      const result = await this.attempt(envelope, state, started);
      if (result.failed) {
        await this.onFailure(envelope, state, result.error, started);
      } else {
        this.deps.dlqGate?.recordSuccess(envelope.record.topic, envelope.record.partition);
        state.dependencyFailures = 0;
        this.finish(envelope, state, 'success', started);
      }
    } finally {
      state.inFlight--;
      this.running.delete(envelope);
      this.notifyIdle();
    }
  }

  // Decodes and runs the handler with its retries. Resolves to the failure rather than throwing it, so
  // that only what the decoder or handler threw goes to onFailure, never a failure of the bookkeeping.
  private async attempt(
    envelope: Envelope,
    state: PartitionState,
    started: number,
  ): Promise<{ failed: false } | { failed: true; error: unknown }> {
    const record = envelope.record;
    let message: ConsumedMessage<V> | undefined;
    // Decoded inside each attempt until it succeeds: a decoder's failure gets the handler's policy
    // (poison dead-lettered at once, a dependency pauses, anything else CONSUMER_MAX_ATTEMPTS tries).
    const build = (value: V): ConsumedMessage<V> => {
      message = {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        key: record.key == null ? null : Buffer.isBuffer(record.key) ? record.key : Buffer.from(record.key),
        keyText: envelope.orderingKey,
        value,
        rawValue: record.value,
        headers: envelope.headers,
        timestamp: record.timestamp ?? started,
        correlationId: correlationIdOf(envelope),
        attempt: envelope.attempts,
      };
      return message;
    };
    const decoded = (): ConsumedMessage<V> | Promise<ConsumedMessage<V>> => {
      if (message) return message;
      const decoding = this.worker.decoder(record.value, record.topic);
      // Decoders answer synchronously once a schema is cached: no extra microtask then.
      return decoding instanceof Promise ? decoding.then(build) : build(decoding);
    };
    try {
      await this.runWithRetries(envelope, decoded, state);
      return { failed: false };
    } catch (error) {
      return { failed: true, error };
    }
  }

  /**
   * The engine failed while handling a message (not the handler: that goes to onFailure). If the
   * message still holds its slot, its offset was not finished, so no commit passes it: it stays at
   * the head of its lane (its key keeps its order, other keys flow) and runs again after
   * CONSUMER_RETRY_MAX_MS; when this member is draining or stopping it is left to the partition's
   * next owner instead.
   */
  private async recover(envelope: Envelope, error: unknown): Promise<void> {
    const record = envelope.record;
    const { errorClass, message } = describeError(error);
    this.logger.error(
      { topic: record.topic, partition: record.partition, offset: record.offset, errorClass, err: message },
      envelope.holdsSlot
        ? 'failure handling failed: message kept unfinished and tried again'
        : 'bookkeeping failed after the message was finished',
    );
    if (!envelope.holdsSlot) {
      this.scheduler.pump();
      return;
    }
    if (this.lifecycle === 'running') return this.retryLater(envelope);
    this.giveUp(envelope);
  }

  private async runWithRetries(
    envelope: Envelope,
    decoded: () => ConsumedMessage<V> | Promise<ConsumedMessage<V>>,
    state: PartitionState,
  ): Promise<void> {
    const context = { signal: this.abort.signal };
    const topic = envelope.record.topic;
    const invoke = async (): Promise<void> => {
      envelope.attempts++;
      try {
        const ready = decoded();
        const message = ready instanceof Promise ? await ready : ready;
        message.attempt = envelope.attempts;
        await (this.deps.instrument
          ? this.deps.instrument(message, () => this.worker.handler(message, context))
          : this.worker.handler(message, context));
      } catch (error) {
        const dependency = this.breakerOpenedBy(error);
        if (dependency !== undefined) {
          throw new DependencyUnavailableError(
            dependency,
            `${dependency} circuit breaker is open after this call failed: ${describeError(error).message}`,
            { cause: error },
          );
        }
        this.countFailure(topic, error);
        throw error;
      }
    };
    const remaining = this.options.maxAttempts - envelope.attempts;
    if (remaining <= 1) return invoke();
    try {
      await invoke();
      return;
    } catch (first) {
      if (
        dispositionOf(first) !== 'retry' ||
        this.options.maxAttempts - envelope.attempts < 1 ||
        !this.owns(state, envelope)
      )
        throw first;
      this.observer.retried(topic);
    }
    // A backoff ends early on stop and on a revoke: the revoke waits for in-flight work, and a
    // message waiting out its backoff would hold the partition (and the group) for up to
    // CONSUMER_RETRY_MAX_MS only to find it no longer owns it. Built only once a try failed.
    const waits = AbortSignal.any([this.abort.signal, state.revoked.signal]);
    await sleep(this.backoff(envelope.attempts), undefined, { signal: waits }).catch(() => undefined);
    await pRetry(
      async () => {
        if (!this.owns(state, envelope))
          throw new DependencyUnavailableError('partition-ownership', 'partition revoked');
        // p-retry gives up at once on a TypeError or a non-Error: unexpected failures travel wrapped.
        await invoke().catch((error: unknown) => {
          throw asRetriable(error);
        });
      },
      {
        retries: Math.max(0, this.options.maxAttempts - envelope.attempts - 1),
        minTimeout: this.backoff(envelope.attempts + 1),
        maxTimeout: this.options.retryMaxMs,
        factor: 2,
        randomize: true,
        signal: waits,
        shouldRetry: ({ error }) => dispositionOf(error) === 'retry' && this.owns(state, envelope),
        onFailedAttempt: ({ error, retriesLeft }) => {
          if (retriesLeft > 0 && dispositionOf(error) === 'retry') this.observer.retried(topic);
        },
      },
    ).catch((error: unknown) => {
      throw unwrapUnexpected(error);
    });
  }

  /**
   * The dependency whose breaker is open right after a retriable failure: the failure was the
   * dependency's (the call that opened it, or a half-open probe that reopened it), so the message
   * is kept and paused like any refused call — never charged an attempt, never dead-lettered
   * because its dependency stayed down through several probes.
   */
  private breakerOpenedBy(error: unknown): string | undefined {
    if (dispositionOf(error) !== 'retry') return undefined;
    return this.worker.dependsOn?.find((name) => this.deps.breakers?.anyOpen([name]));
  }

  // One count per failed decode or handler attempt, labelled by what was thrown. A dependency being
  // down is not the message failing: it pauses the partition and is counted by the breaker instead.
  private countFailure(topic: string, error: unknown): void {
    if (dispositionOf(error) === 'pause-dependency') return;
    this.observer.failed(topic, describeError(error).errorClass);
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(base * (0.5 + Math.random() * 0.5));
  }

  private owns(state: PartitionState, envelope: Envelope): boolean {
    return (
      (this.lifecycle === 'running' || this.lifecycle === 'draining') &&
      !state.revoking &&
      this.partitions.get(state.id) === state &&
      state.epoch === envelope.epoch
    );
  }

  private async onFailure(
    envelope: Envelope,
    state: PartitionState,
    error: unknown,
    started: number,
  ): Promise<void> {
    if (!this.owns(state, envelope)) return this.giveUp(envelope);
    if (dispositionOf(error) === 'pause-dependency')
      return this.pauseForDependency(envelope, state, error as DependencyUnavailableError);
    const record = envelope.record;
    const description = describeError(error);
    const verdict = this.deps.dlqGate
      ? await this.deps.dlqGate.admitDeadLetter(record.topic, record.partition)
      : { admitted: true as const };
    // A revoke may have come while the caps answered: it dropped the partition's hold and state, and
    // holding the partition now would outlive the revoke and block its next assignment for ever.
    if (!this.owns(state, envelope)) return this.giveUp(envelope);
    if (!verdict.admitted) return this.keepForDeadLetterCap(envelope, state, description, verdict.reason);
    // Admitted once: a failed write keeps the admission and retries only the write.
    envelope.deadLetter = { error, description, failedWrites: 0 };
    return this.writeDeadLetter(envelope, state, started);
  }

  private async writeDeadLetter(envelope: Envelope, state: PartitionState, started: number): Promise<void> {
    const pending = envelope.deadLetter!;
    const record = envelope.record;
    const failure = await this.publishDeadLetter(envelope, pending.error);
    if (failure) {
      pending.failedWrites++;
      // A revoke meanwhile: the next owner handles the message again. Checked before reporting the
      // failure, which the caps would otherwise keep for a partition they already released.
      if (!this.owns(state, envelope)) {
        this.logDeadLetterWriteFailure(
          envelope,
          pending,
          failure,
          'partition revoked: left to its next owner',
        );
        return this.giveUp(envelope);
      }
      this.deps.dlqGate?.deadLetterWriteFailed(record.topic, record.partition, record.offset, failure);
      return this.keepForDeadLetterWrite(envelope, state, pending, failure);
    }
    // Published: the offset is done even if a revoke came meanwhile (finish() ignores a stale epoch).
    // Finished before anything that could throw, so a published dead letter is never published again.
    envelope.deadLetter = undefined;
    this.finish(envelope, state, 'dead_lettered', started);
    if (pending.failedWrites > 0) this.afterFailedDeadLetterWritten(envelope, state);
    this.observer.deadLettered(record.topic, pending.description.code);
    this.logger.warn(
      {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        correlationId: correlationIdOf(envelope),
        errorClass: pending.description.errorClass,
        error: pending.description.message,
        attempts: envelope.attempts,
        failedWrites: pending.failedWrites,
      },
      'message dead-lettered',
    );
  }

  private pauseForDependency(
    envelope: Envelope,
    state: PartitionState,
    error: DependencyUnavailableError,
  ): void {
    const record = envelope.record;
    this.logger.warn(
      {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        dependency: error.dependency,
      },
      'downstream unavailable: pausing the partition, message kept',
    );
    envelope.attempts = Math.max(0, envelope.attempts - 1);
    this.scheduler.hold(state.id);
    this.requeue(envelope);
    const dependency = error.dependency;
    // No breaker watches this dependency (e.g. the schema registry): probe again after a growing
    // delay. Scheduled before setPaused, whose observer call must not be able to skip it.
    if (!(this.worker.dependsOn?.includes(dependency) && this.deps.breakers?.anyOpen([dependency]))) {
      state.dependencyFailures++;
      this.schedulePartitionTimer(state, this.backoff(state.dependencyFailures), () =>
        this.maybeReleaseBreakerHold(state),
      );
    }
    this.setPaused(state, 'breaker', true);
  }

  private keepForDeadLetterCap(
    envelope: Envelope,
    state: PartitionState,
    description: { errorClass: string },
    reason: string,
  ): void {
    this.logger.error(
      { ...positionOf(envelope.record), reason, errorClass: description.errorClass },
      'DLQ cap reached: partition paused, message kept',
    );
    this.scheduler.hold(state.id);
    this.setPaused(state, 'dlq_cap', true);
    this.requeue(envelope);
  }

  // Resolves to why the write failed (the message must then be kept), or undefined once acknowledged.
  private async publishDeadLetter(
    envelope: Envelope,
    error: unknown,
  ): Promise<DeadLetterWriteFailure | undefined> {
    const record = envelope.record;
    try {
      await this.deps.deadLetters.publish({
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: record.timestamp ?? Date.now(),
        key: record.key == null ? null : Buffer.isBuffer(record.key) ? record.key : Buffer.from(record.key),
        value: record.value,
        headers: envelope.headers,
        headerList: headerList(record.headers ?? []),
        error,
        attempts: Math.max(1, envelope.attempts),
        groupId: this.worker.groupId,
        worker: this.worker.name,
      });
      return undefined;
    } catch (publishError) {
      return deadLetterWriteFailure(publishError);
    }
  }

  /**
   * The admitted dead letter was not acknowledged: the partition pauses on the message (no handler
   * re-run, no new admission, nothing committed past it) and only the write is tried again after a
   * backoff. A record the DLQ can never take as it is (too large, no DLQ topic) is tried every
   * CONSUMER_RETRY_MAX_MS, so an operator's fix (a larger max.message.bytes) lets it through.
   */
  private keepForDeadLetterWrite(
    envelope: Envelope,
    state: PartitionState,
    pending: PendingDeadLetter,
    failure: DeadLetterWriteFailure,
  ): void {
    const delayMs = failure.retriable ? this.backoff(pending.failedWrites) : this.options.retryMaxMs;
    this.logDeadLetterWriteFailure(
      envelope,
      pending,
      failure,
      failure.retriable
        ? 'partition paused on the message; only the write is retried'
        : 'the DLQ refuses this record and will until an operator acts: partition paused on it, the write is retried',
      delayMs,
    );
    state.failingDeadLetterWrites.add(envelope.record.offset);
    this.scheduler.hold(state.id);
    this.requeue(envelope);
    // Scheduled before setPaused, whose observer call must not be able to skip it.
    this.schedulePartitionTimer(state, delayMs, () => this.retryDeadLetterWrite(state, delayMs));
    this.setPaused(state, 'dlq_cap', true);
  }

  private logDeadLetterWriteFailure(
    envelope: Envelope,
    pending: PendingDeadLetter,
    failure: DeadLetterWriteFailure,
    outcome: string,
    retryInMs?: number,
  ): void {
    this.logger.error(
      {
        ...positionOf(envelope.record),
        code: failure.code,
        retriable: failure.retriable,
        err: failure.message,
        failedWrites: pending.failedWrites,
        retryInMs,
      },
      `dead-letter write failed: ${outcome}`,
    );
  }

  // Lets the message waiting for its dead-letter write run again, unless something else holds the
  // partition now (a tripped cap, an open breaker): then look again after the same delay, so no
  // hold is left waiting on a release nobody will send.
  private retryDeadLetterWrite(state: PartitionState, delayMs: number): void {
    if (this.lifecycle !== 'running') return;
    const capBlocked = this.deps.dlqGate?.isBlocked(state.topic, state.partition) ?? false;
    if (capBlocked || state.pausedFor.has('breaker')) {
      this.schedulePartitionTimer(state, delayMs, () => this.retryDeadLetterWrite(state, delayMs));
      return;
    }
    this.scheduler.release(state.id);
    this.scheduler.pump();
  }

  // A dead letter whose write had failed is stored: once no other write of the partition is failing
  // and no cap holds it, the partition consumes again.
  private afterFailedDeadLetterWritten(envelope: Envelope, state: PartitionState): void {
    const { topic, partition, offset } = envelope.record;
    this.deps.dlqGate?.deadLetterWritten(topic, partition, offset);
    if (this.partitions.get(state.id) !== state || state.epoch !== envelope.epoch) return;
    state.failingDeadLetterWrites.delete(offset);
    if (state.failingDeadLetterWrites.size > 0 || this.deps.dlqGate?.isBlocked(topic, partition)) return;
    this.setPaused(state, 'dlq_cap', false);
  }

  // Keeps the message at the head of its lane, its key blocked while other keys flow, and runs it
  // again after CONSUMER_RETRY_MAX_MS — unless this member no longer owns its partition by then.
  private async retryLater(envelope: Envelope): Promise<void> {
    const state = this.partitions.get(envelope.partitionId);
    if (!state || !this.owns(state, envelope)) return this.giveUp(envelope);
    // Woken early by stop() or by a revoke of the partition: the ownership check then gives it up,
    // instead of holding a slot (and its key's lane) for the rest of the wait.
    const wake = AbortSignal.any([this.abort.signal, state.revoked.signal]);
    await sleep(this.options.retryMaxMs, undefined, { signal: wake }).catch(() => undefined);
    if (!this.owns(state, envelope)) return this.giveUp(envelope);
    this.requeue(envelope);
    this.scheduler.pump();
    this.notifyIdle();
  }

  // This member no longer owns the message (revoke, stop): its offset stays unfinished, so the
  // partition's next owner consumes it again from the committed offset.
  private giveUp(envelope: Envelope): void {
    this.completeSlot(envelope);
    this.scheduler.pump();
    // The slot may have been the last one a drain or a revoke waits for.
    this.notifyIdle();
  }

  private completeSlot(envelope: Envelope): void {
    envelope.holdsSlot = false;
    this.scheduler.complete(envelope);
  }

  private requeue(envelope: Envelope): void {
    envelope.holdsSlot = false;
    this.scheduler.requeueFront(envelope);
  }

  // Runs `action` after `delayMs` unless the partition was revoked meanwhile: a timer of an old
  // assignment must never act on the partition's next one (same id, new state).
  private schedulePartitionTimer(state: PartitionState, delayMs: number, action: () => void): void {
    const timer = setTimeout(() => {
      state.timers.delete(timer);
      if (this.partitions.get(state.id) === state) action();
    }, delayMs);
    state.timers.add(timer);
  }

  private clearPartitionTimers(state: PartitionState): void {
    for (const timer of state.timers) clearTimeout(timer);
    state.timers.clear();
  }

  private finish(
    envelope: Envelope,
    state: PartitionState,
    outcome: 'success' | 'dead_lettered',
    started: number,
  ): void {
    // The slot first: whatever throws below, the message is done and must never run again.
    this.completeSlot(envelope);
    const now = Date.now();
    if (this.partitions.get(state.id) === state && state.epoch === envelope.epoch) {
      state.tracker.finish(envelope.record.offset, now);
      state.bufferedBytes -= envelope.size;
      this.totalBytes -= envelope.size;
      this.totalUnfinished--;
      this.applyPartitionBackpressure(state);
      this.applyProcessBackpressure();
    }
    this.observer.processed(
      envelope.record.topic,
      outcome,
      (now - started) / 1000,
      (now - (envelope.record.timestamp ?? now)) / 1000,
    );
    this.scheduler.pump();
  }

  // Pauses on unfinished messages and bytes, and on messages received past the committable offset:
  // with the head blocked and other keys finishing, unfinished work stays small while the tracker
  // (and what a restart would redo) grows without end. Each resumes at half its bound.
  private applyPartitionBackpressure(state: PartitionState): void {
    const { partitionMaxMessages, partitionMaxBytes, partitionMaxUncommitted } = this.options;
    const unfinished = state.tracker.unfinished();
    const uncommitted = state.tracker.uncommitted();
    const full =
      unfinished >= partitionMaxMessages ||
      state.bufferedBytes >= partitionMaxBytes ||
      uncommitted >= partitionMaxUncommitted;
    const relieved =
      unfinished <= partitionMaxMessages / 2 &&
      state.bufferedBytes <= partitionMaxBytes / 2 &&
      uncommitted <= partitionMaxUncommitted / 2;
    if (full) this.setPaused(state, 'backpressure', true);
    else if (relieved && !this.processFull) this.setPaused(state, 'backpressure', false);
  }

  private applyProcessBackpressure(): void {
    const full =
      this.totalUnfinished >= this.options.processMaxMessages ||
      this.totalBytes >= this.options.processMaxBytes;
    const relieved =
      this.totalUnfinished <= this.options.processMaxMessages * 0.75 &&
      this.totalBytes <= this.options.processMaxBytes * 0.75;
    if (full && !this.processFull) {
      this.processFull = true;
      for (const state of this.partitions.values()) this.setPaused(state, 'backpressure', true);
    } else if (relieved && this.processFull) {
      this.processFull = false;
      for (const state of this.partitions.values()) this.applyPartitionBackpressure(state);
    }
  }

  /**
   * librdkafka takes a resumed partition back into its fetches only when the leader's broker
   * thread next wakes up, which an idle thread does once a second: 0.5–0.8 s without a message
   * after each resume (`harness/bench/resumeLatency.ts`: 800 ms, 7 ms with the wake), so a
   * partition resumed from backpressure drained its buffer and sat idle (P2 read 142x of its
   * baseline, 205-211x with the wake). Any request to that broker wakes its thread; a ListOffsets
   * for the partition goes to its leader. The answer itself is not needed.
   */
  private wakeFetcher(consumer: RdKafkaConsumer, state: PartitionState): void {
    if (this.fetcherWakesInFlight >= MAX_FETCHER_WAKES_IN_FLIGHT) return;
    this.fetcherWakesInFlight++;
    consumer.queryWatermarkOffsets(state.topic, state.partition, FETCHER_WAKE_TIMEOUT_MS, (error) => {
      this.fetcherWakesInFlight--;
      if (error) {
        this.logger.debug(
          { topic: state.topic, partition: state.partition, err: error.message },
          'waking the fetcher after a resume failed; it resumes at its next wake-up',
        );
      }
    });
  }

  private setPaused(state: PartitionState, reason: PauseReason, paused: boolean): void {
    const consumer = this.consumer;
    if (!consumer || state.revoking) return;
    const wasPaused = state.pausedFor.size > 0;
    if (paused === state.pausedFor.has(reason)) return;
    if (paused) state.pausedFor.add(reason);
    else state.pausedFor.delete(reason);
    const isPaused = state.pausedFor.size > 0;
    try {
      if (isPaused && !wasPaused) consumer.pause([{ topic: state.topic, partition: state.partition }]);
      else if (!isPaused && wasPaused) {
        consumer.resume([{ topic: state.topic, partition: state.partition }]);
        this.wakeFetcher(consumer, state);
      }
    } catch (error) {
      this.logger.warn(
        { topic: state.topic, partition: state.partition, err: (error as Error).message },
        'pause/resume failed',
      );
    }
    if (paused) this.observer.paused(state.topic, state.partition, reason);
    else this.observer.resumed(state.topic, state.partition, reason);
  }

  private onBreakerChange(name: string, breakerState: 'closed' | 'open' | 'half-open'): void {
    if (!this.worker.dependsOn?.includes(name)) return;
    if (breakerState === 'open') {
      this.logger.warn({ breaker: name }, "breaker open: pausing the worker's partitions");
      for (const state of this.partitions.values()) {
        this.scheduler.hold(state.id);
        this.setPaused(state, 'breaker', true);
      }
      return;
    }
    this.logger.info(
      { breaker: name, state: breakerState },
      'breaker probing or closed: resuming partitions',
    );
    for (const state of this.partitions.values()) this.maybeReleaseBreakerHold(state);
  }

  private maybeReleaseBreakerHold(state: PartitionState): void {
    // A revoked assignment's state must not release the hold of the partition's next assignment.
    if (this.partitions.get(state.id) !== state || !state.pausedFor.has('breaker')) return;
    if (this.deps.breakers?.anyOpen(this.worker.dependsOn ?? [])) return;
    this.setPaused(state, 'breaker', false);
    if (!state.pausedFor.has('dlq_cap') && this.lifecycle === 'running') this.scheduler.release(state.id);
    this.scheduler.pump();
  }

  private onDeadLettersResumed(topic?: string, partition?: number): void {
    for (const state of this.partitions.values()) {
      if (topic !== undefined && state.topic !== topic) continue;
      if (partition !== undefined && state.partition !== partition) continue;
      if (!state.pausedFor.has('dlq_cap')) continue;
      // Paused on a dead letter whose write fails: its retry timer releases it, the write's success resumes it.
      if (state.failingDeadLetterWrites.size > 0) continue;
      this.setPaused(state, 'dlq_cap', false);
      if (!state.pausedFor.has('breaker') && this.lifecycle === 'running') this.scheduler.release(state.id);
    }
    this.scheduler.pump();
  }

  private async onRebalance(error: LibrdKafkaError, assignment: TopicPartition[]): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    const cooperative = consumer.rebalanceProtocol() === 'COOPERATIVE';
    if (error.code === ERR_ASSIGN_PARTITIONS) {
      this.joinedGroup = true;
      // Before the client fetches anything: a partition whose previous owner tripped a DLQ cap
      // starts paused, instead of dead-lettering another run of the same flood.
      const inherited = await this.inheritedDeadLetterBlocks(assignment);
      // stop() came during that wait and closed the client: there is nothing left to assign to.
      if (this.lifecycle === 'stopping' || this.lifecycle === 'stopped' || !consumer.isConnected()) return;
      for (const tp of assignment) {
        const id = `${tp.topic}:${tp.partition}`;
        // Nothing a previous assignment of this partition left in the scheduler (a hold, parked or
        // queued messages of the old epoch) may carry over: no pause reason of the new state would
        // ever release it.
        this.scheduler.dropPartition(id);
        this.partitions.set(id, {
          topic: tp.topic,
          partition: tp.partition,
          id,
          epoch: ++this.epochCounter,
          tracker: new OffsetTracker(),
          bufferedBytes: 0,
          inFlight: 0,
          committed: undefined,
          pausedFor: new Set(),
          revoking: false,
          dependencyFailures: 0,
          timers: new Set(),
          revoked: new AbortController(),
          failingDeadLetterWrites: new Set(),
        });
      }
      if (cooperative) consumer.incrementalAssign(assignment);
      else consumer.assign(assignment);
      // librdkafka keeps a partition's pause flag across an incremental unassign/assign: a
      // partition paused when it was revoked would come back paused and never fetch. Start
      // every assigned partition resumed, so the client agrees with our (empty) pause set.
      if (assignment.length > 0) consumer.resume(assignment);
      for (const tp of assignment) {
        const state = this.partitions.get(`${tp.topic}:${tp.partition}`)!;
        // Assigned while draining (another member left): hold it like the rest, or drain never converges.
        if (this.lifecycle !== 'running') {
          this.scheduler.hold(state.id);
          this.setPaused(state, 'draining', true);
        }
        if (this.processFull) this.setPaused(state, 'backpressure', true);
        if (this.operatorPaused) this.setPaused(state, 'operator', true);
        if (inherited.has(state.id)) {
          this.scheduler.hold(state.id);
          this.setPaused(state, 'dlq_cap', true);
        }
        if (this.deps.breakers?.anyOpen(this.worker.dependsOn ?? [])) {
          this.scheduler.hold(state.id);
          this.setPaused(state, 'breaker', true);
        }
      }
      this.observer.rebalanced('assign', assignment.length);
      this.logger.info(
        { partitions: assignment.map(partitionKey), protocol: cooperative ? 'cooperative' : 'eager' },
        'partitions assigned',
      );
      return;
    }
    if (error.code !== ERR_REVOKE_PARTITIONS) {
      this.logger.error({ err: error.message, code: error.code }, 'rebalance error');
      return;
    }
    const lost = consumer.assignmentLost();
    const revoked = (cooperative ? assignment : [...this.partitions.values()])
      .map((tp) => this.partitions.get(partitionKey(tp)))
      .filter((s): s is PartitionState => s !== undefined);
    for (const state of revoked) {
      // Queued messages are given up (never finished, so never committed past): the next owner consumes them.
      state.revoking = true;
      this.clearPartitionTimers(state);
      state.revoked.abort();
      this.scheduler.dropPartition(state.id);
    }
    if (!lost && this.lifecycle !== 'stopping') await this.finishRevoke(revoked);
    // From here on, completions of these partitions' epochs are ignored: nothing commits after the revoke.
    // A DLQ-cap block is the new owner's to trip again if it must, not this replica's readiness.
    for (const state of revoked) {
      this.partitions.delete(state.id);
      this.deps.dlqGate?.releasePartition(state.topic, state.partition);
    }
    this.recountBuffers();
    try {
      if (cooperative) consumer.incrementalUnassign(assignment);
      else consumer.unassign();
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, 'unassign failed');
    }
    this.applyProcessBackpressure();
    this.observer.rebalanced(lost ? 'lost' : 'revoke', revoked.length);
    this.logger.info({ partitions: revoked.map((s) => s.id), lost }, 'partitions revoked');
  }

  /** The ids of the assigned partitions that arrive with a DLQ-cap block (none when the gate cannot tell). */
  private async inheritedDeadLetterBlocks(assignment: readonly TopicPartition[]): Promise<Set<string>> {
    const gate = this.deps.dlqGate;
    if (!gate?.inheritBlocks || assignment.length === 0) return new Set();
    try {
      const blocked = await gate.inheritBlocks(
        assignment.map((tp) => ({ topic: tp.topic, partition: tp.partition })),
      );
      return new Set(blocked.map(partitionKey));
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not read inherited DLQ-cap blocks');
      return new Set();
    }
  }

  // Lets in-flight handlers of the revoked partitions finish, so their work is committed rather than
  // redone, then commits — all within CONSUMER_REVOKE_TIMEOUT_MS, as the group waits on this callback.
  private async finishRevoke(revoked: readonly PartitionState[]): Promise<void> {
    const deadline = Date.now() + this.options.revokeTimeoutMs;
    while (revoked.some((s) => s.inFlight > 0) && Date.now() < deadline)
      await this.waitForIdle(deadline - Date.now());
    // A late commit still carries the revoke-time watermark: at worst it moves the group's offset
    // back below the next owner's, which redoes work, never skips it.
    await this.commitWithin(
      Math.max(REVOKE_COMMIT_MIN_MS, deadline - Date.now()),
      'commit on revoke (revoking anyway)',
      new Set(revoked.map((s) => s.id)),
      true,
    );
  }

  /**
   * Commits what finished, waiting at most `ms`: a coordinator that does not answer (librdkafka
   * holds the commit meanwhile) must not hold a revoke, a drain or a stop for ever. Whatever was
   * not committed is redone by the partition's next owner. Failures and timeouts are logged.
   */
  private async commitWithin(
    ms: number,
    what: string,
    only?: ReadonlySet<string>,
    includeRevoking = false,
  ): Promise<boolean> {
    try {
      await answerWithin(this.commitFinished(only, includeRevoking), ms);
      return true;
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, partitions: only ? [...only] : 'all' },
        `${what} did not complete`,
      );
      return false;
    }
  }

  /** How long a drain's or a stop's commit may wait: the revoke's bound, at least REVOKE_COMMIT_MIN_MS. */
  private get shutdownCommitWaitMs(): number {
    return Math.max(REVOKE_COMMIT_MIN_MS, this.options.revokeTimeoutMs);
  }

  private recountBuffers(): void {
    let unfinished = 0;
    let bytes = 0;
    for (const state of this.partitions.values()) {
      unfinished += state.tracker.unfinished();
      bytes += state.bufferedBytes;
    }
    this.totalUnfinished = unfinished;
    this.totalBytes = bytes;
  }

  private async commitNow(only: ReadonlySet<string> | undefined, includeRevoking: boolean): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || this.lifecycle === 'stopped') return;
    const offsets: { topic: string; partition: number; offset: number }[] = [];
    const states: PartitionState[] = [];
    for (const state of this.partitions.values()) {
      if (only && !only.has(state.id)) continue;
      if (state.revoking && !includeRevoking) continue;
      const committable = state.tracker.committable();
      if (committable === undefined || committable === state.committed) continue;
      offsets.push({ topic: state.topic, partition: state.partition, offset: committable });
      states.push(state);
    }
    if (offsets.length === 0) return;
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      consumer.commitCb(offsets, (error) => (error ? reject(error) : resolve()));
    });
    this.observer.committed((performance.now() - started) / 1000, offsets.length);
    offsets.forEach((o, i) => {
      states[i]!.committed = o.offset;
    });
  }

  private lagOf(state: PartitionState): number | undefined {
    try {
      const { highOffset } = this.consumer!.getWatermarkOffsets(state.topic, state.partition);
      const position = state.tracker.committable() ?? state.committed;
      if (highOffset < 0 || position === undefined) return undefined;
      return Math.max(0, highOffset - position);
    } catch {
      return undefined;
    }
  }

  private waitForIdle(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, timeoutMs));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(done);
    });
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters.splice(0);
    for (const waiter of waiters) waiter();
  }

  private async drainOnce(timeoutMs: number): Promise<boolean> {
    if (this.lifecycle !== 'running') return this.scheduler.inFlight === 0;
    this.lifecycle = 'draining';
    for (const state of this.partitions.values()) {
      this.scheduler.hold(state.id);
      this.setPaused(state, 'draining', true);
    }
    const deadline = Date.now() + timeoutMs;
    while (this.scheduler.inFlight > 0 && Date.now() < deadline)
      await this.waitForIdle(deadline - Date.now());
    const drained = this.scheduler.inFlight === 0;
    this.drainCommitted = await this.commitWithin(this.shutdownCommitWaitMs, 'commit on drain');
    this.logger.info({ drained, inFlight: this.scheduler.inFlight }, drained ? 'drained' : 'drain timed out');
    return drained;
  }

  private async stopOnce(): Promise<void> {
    if (this.lifecycle === 'new') {
      this.lifecycle = 'stopped';
      return;
    }
    if (this.lifecycle === 'starting') {
      this.lifecycle = 'stopping';
      // start() is still connecting: wait until it settles (its caller gets any failure), so the
      // client it connected is closed below and no poll loop or timer starts after this resolves.
      await Promise.allSettled([this.startPromise]);
    }
    if (this.lifecycle === 'running') await this.drain(0);
    this.lifecycle = 'stopping';
    this.abort.abort(new Error('consumer stopping'));
    clearInterval(this.commitTimer);
    this.commitTimer = undefined;
    clearTimeout(this.topicCheckTimer);
    this.topicCheckTimer = undefined;
    for (const state of this.partitions.values()) this.clearPartitionTimers(state);
    await this.pollLoopDone;
    // After a drain whose commit did not complete, a final one would only queue behind it for
    // another full wait: close the client instead (the next owner redoes what is uncommitted).
    if (this.drainCommitted !== false) {
      await this.commitWithin(this.shutdownCommitWaitMs, 'final commit');
    }
    const consumer = this.consumer;
    if (consumer?.isConnected()) {
      await new Promise<void>((resolve) => {
        consumer.disconnect(() => resolve());
      });
    }
    await this.rebalanceChain;
    this.lifecycle = 'stopped';
    this.logger.info({}, 'consumer stopped');
  }
}

function partitionKey(tp: { topic: string; partition: number }): string {
  return `${tp.topic}:${tp.partition}`;
}

const noHeaders: Readonly<Record<string, Buffer>> = Object.freeze({});

/** Where a record sits, for log lines about it. */
function positionOf(record: Message): { topic: string; partition: number; offset: number } {
  return { topic: record.topic, partition: record.partition, offset: record.offset };
}

/** Why a dead letter was not acknowledged, from the producer's typed error (KafkaClientError's `code`, `retriable`). */
function deadLetterWriteFailure(error: unknown): DeadLetterWriteFailure {
  const { errorClass, message } = describeError(error);
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    retriable?: unknown;
  };
  return {
    code: typeof fields.code === 'string' ? fields.code : errorClass,
    // Only an error that says so is hopeless: an unknown one may pass on a later try.
    retriable: fields.retriable !== false,
    message,
  };
}

/**
 * The record's correlation id: its `correlation-id` header, else one derived from its
 * coordinates — unique, free to compute, and the same when the record is consumed again.
 */
function correlationIdOf(envelope: Envelope): string {
  const header = envelope.headers['correlation-id'];
  if (header && header.length > 0) return header.toString('utf8');
  const r = envelope.record;
  return `${r.topic}/${r.partition}/${r.offset}`;
}

/** Every header of a record in order, a repeated name as often as it came (for the dead letter). */
function headerList(headers: NonNullable<Message['headers']>): [string, Buffer][] {
  return headers.flatMap((header) =>
    Object.entries(header).map(([name, value]): [string, Buffer] => [
      name,
      Buffer.isBuffer(value) ? value : Buffer.from(value),
    ]),
  );
}

function headerMap(headers: NonNullable<Message['headers']>): Record<string, Buffer> {
  const map: Record<string, Buffer> = {};
  for (const header of headers) {
    for (const name of Object.keys(header)) {
      const value = header[name]!;
      map[name] = Buffer.isBuffer(value) ? value : Buffer.from(value);
    }
  }
  return map;
}
