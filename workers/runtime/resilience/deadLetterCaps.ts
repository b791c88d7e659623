import type { Counter, Gauge, Registry } from 'prom-client';
import { type DeadLetterCapsConfig, resolveDeadLetterCapsConfig } from './deadLetterCapsConfig.ts';
import { PartitionDeadLetterWindow } from './partitionDeadLetterWindow.ts';
import { counterOn, gaugeOn } from './registryMetrics.ts';
import { type ResilienceLogger, silentLogger } from './resilienceLogger.ts';
import {
  blockedPartitionKey,
  type DeadLetterBlockStore,
  RedisDeadLetterBlocks,
  type TopicPartitionRef,
} from './sharedDeadLetterBlocks.ts';
import {
  type DeadLetterRateGate,
  type RateCapMode,
  type RateDecision,
  SharedDeadLetterRate,
} from './sharedDeadLetterRate.ts';

export { readDeadLetterCapsConfig } from './deadLetterCapsConfig.ts';

/** Which cap refused a dead letter. */
export type DeadLetterCap = 'ratio' | 'consecutive' | 'rate';

/** The answer to "may this message be dead-lettered?". An admitted dead letter is already counted. */
export type DeadLetterVerdict = { admitted: true } | { admitted: false; cap: DeadLetterCap; reason: string };

/** A tripped cap: one partition (ratio, consecutive) or the whole worker (rate). */
export interface DeadLetterBlock {
  scope: 'partition' | 'worker';
  /** Set when scope is 'partition'. */
  topic?: string;
  /** Set when scope is 'partition'. */
  partition?: number;
  cap: DeadLetterCap;
  reason: string;
  /** When the cap tripped (ms since epoch, by the injected clock). */
  since: number;
  /** When the cool-down lifts it, or null when only an operator can. */
  resumesAt: number | null;
}

/**
 * Called when a block lifts: with the topic and partition for a partition block, with neither for
 * the worker-wide rate block (resume every partition paused for the DLQ cap).
 */
export type DeadLetterResumedListener = (
  topic: string | undefined,
  partition: number | undefined,
  resumption: DeadLetterResumption,
) => void;

/** A lifted block: the engine resumes the partition (or, for scope 'worker', every partition). */
export interface DeadLetterResumption {
  scope: 'partition' | 'worker';
  topic?: string;
  partition?: number;
  cap: DeadLetterCap;
  by: 'cool-down' | 'operator';
}

/** Why an admitted dead letter could not be written. */
export interface DeadLetterWriteFailure {
  /** Bounded error code (librdkafka's symbolic name, e.g. `ERR_MSG_SIZE_TOO_LARGE`); the metric label. */
  code: string;
  /** False when writing the same record again cannot succeed until an operator acts (too large, no DLQ topic). */
  retriable: boolean;
  message: string;
}

/** The admitted dead letters of one partition whose write failed and that are not written yet, by offset. */
interface FailingWrites {
  topic: string;
  partition: number;
  offsets: Map<number, DeadLetterWriteFailure & { failures: number }>;
}

export interface DeadLetterCapsOptions extends Partial<DeadLetterCapsConfig> {
  /** Worker name: the metric label and the key of the rate cap shared by the worker's replicas. */
  worker: string;
  /** Longest wait for one Redis round trip of the rate cap, in ms. Default 500. */
  redisTimeoutMs?: number;
  /** Longest wait in start() for Redis before starting on the fallback budget, in ms. Default 2000. */
  redisStartTimeoutMs?: number;
  /** First delay before probing Redis after a failed take (doubles up to 5 s), in ms. Default 250. */
  probeMinDelayMs?: number;
  /** Prefix of the rate limiter's id (Redis keys `b_<prefix><worker>_*`). Default 'fleet:dlq-rate:'. */
  limiterIdPrefix?: string;
}

export interface DeadLetterCapsDeps {
  /** Registry for the cap metrics; metrics already registered under the same names are reused. */
  registry: Registry;
  /** Default: silent. */
  logger?: ResilienceLogger;
  /** Clock for windows and cool-downs. Default Date.now. */
  now?: () => number;
  /** Redis of the shared rate cap (REDIS_URL); required unless `rateGate` is given. */
  redisUrl?: string;
  /** A rate cap to use instead of the Redis one (tests). */
  rateGate?: DeadLetterRateGate;
  /**
   * Where partition blocks outlive this replica (default: Redis at `redisUrl`; none when only a
   * `rateGate` is given): the partition's next owner inherits them (`inheritBlocks`).
   */
  blockStore?: DeadLetterBlockStore;
}

const workerScopeKey = '\u0000worker';

/**
 * Volume caps on a worker's dead letters, so a poison flood or a bug pauses the worker instead
 * of emptying the topic into the DLQ. Three caps, checked in this order for each dead letter:
 * consecutive (per partition), ratio over a sliding window (per partition), and a rate shared by
 * every replica through Redis (per worker). The rate cap is consulted last, so a unit of the
 * shared budget is only spent on a dead letter the local caps admit.
 *
 * A tripped cap blocks the partition (ratio, consecutive) or the whole worker (rate) until the
 * cool-down lifts it or an operator calls `resume()`; the engine follows `onBlocked`/`onResumed`
 * to pause and resume consumption, and keeps the refused message uncommitted.
 */
export class DeadLetterCaps {
  private readonly config: DeadLetterCapsConfig;
  private readonly worker: string;
  private readonly logger: ResilienceLogger;
  private readonly now: () => number;
  private readonly rateGate: DeadLetterRateGate;
  private readonly blockStore: DeadLetterBlockStore | undefined;
  private readonly timedWindows: boolean;
  private readonly windows = new Map<string, Map<number, PartitionDeadLetterWindow>>();
  private readonly activeBlocks = new Map<string, DeadLetterBlock>();
  private readonly blockedListeners = new Set<(block: DeadLetterBlock) => void>();
  private readonly resumedListeners = new Set<DeadLetterResumedListener>();
  private readonly metrics: {
    capReached: Gauge<'worker'>;
    degraded: Gauge<'reason'>;
    blockedPartitions: Gauge<'worker'>;
    rateFallback: Gauge<'worker'>;
    trips: Counter<'worker' | 'cap'>;
    writeFailures: Counter<'worker' | 'code'>;
    failingWritePartitions: Gauge<'worker'>;
  };
  private readonly failingWrites = new Map<string, FailingWrites>();
  private coolDownTimer: NodeJS.Timeout | undefined;
  private unsubscribeMode: (() => void) | undefined;
  private state: 'new' | 'starting' | 'started' | 'stopped' = 'new';
  private startPromise: Promise<void> | undefined;

  constructor(options: DeadLetterCapsOptions, deps: DeadLetterCapsDeps) {
    const { worker, redisTimeoutMs, redisStartTimeoutMs, probeMinDelayMs, limiterIdPrefix, ...limits } =
      options;
    if (!worker || worker.trim() === '') throw new RangeError('dead-letter caps: worker must not be empty');
    this.config = resolveDeadLetterCapsConfig(limits);
    this.worker = worker;
    this.logger = deps.logger ?? silentLogger;
    this.now = deps.now ?? Date.now;
    this.timedWindows = this.config.ratioWindowMs > 0;
    if (deps.rateGate) {
      this.rateGate = deps.rateGate;
    } else if (deps.redisUrl) {
      this.rateGate = new SharedDeadLetterRate({
        worker,
        maxPerWindow: this.config.maxPerMinute,
        fallbackMaxPerWindow: this.config.fallbackMaxPerMinute,
        windowMs: 60_000,
        redisUrl: deps.redisUrl,
        redisTimeoutMs,
        probeMinDelayMs,
        startTimeoutMs: redisStartTimeoutMs,
        limiterIdPrefix,
        now: this.now,
        logger: this.logger,
      });
    } else {
      throw new TypeError('dead-letter caps: pass deps.redisUrl (or deps.rateGate)');
    }
    this.blockStore =
      deps.blockStore ??
      (deps.redisUrl && !deps.rateGate
        ? new RedisDeadLetterBlocks({
            worker,
            redisUrl: deps.redisUrl,
            timeoutMs: redisTimeoutMs,
            now: this.now,
            logger: this.logger,
          })
        : undefined);
    const { registry } = deps;
    this.metrics = {
      capReached: gaugeOn(
        registry,
        'fleet_dlq_cap_reached',
        '1 while a dead-letter cap of the worker is tripped',
        ['worker'],
      ),
      degraded: gaugeOn(registry, 'fleet_worker_degraded', '1 while the worker is degraded, by reason', [
        'reason',
      ]),
      blockedPartitions: gaugeOn(
        registry,
        'fleet_dlq_blocked_partitions',
        'Partitions paused by a per-partition dead-letter cap',
        ['worker'],
      ),
      rateFallback: gaugeOn(
        registry,
        'fleet_dlq_rate_cap_fallback',
        '1 while the shared dead-letter rate cap runs on the per-process fallback budget (Redis unreachable)',
        ['worker'],
      ),
      trips: counterOn(registry, 'fleet_dlq_cap_trips_total', 'Dead-letter caps tripped, by cap', [
        'worker',
        'cap',
      ]),
      writeFailures: counterOn(
        registry,
        'fleet_dlq_write_failures_total',
        'Admitted dead letters the DLQ did not acknowledge (each try), by error code',
        ['worker', 'code'],
      ),
      failingWritePartitions: gaugeOn(
        registry,
        'fleet_dlq_write_failing_partitions',
        'Partitions paused on a dead letter whose write failed and is retried',
        ['worker'],
      ),
    };
    this.publishBlockMetrics();
    this.publishWriteMetrics();
    this.metrics.rateFallback.set({ worker }, 0);
  }

  /** The resolved limits (defaults applied). */
  get limits(): DeadLetterCapsConfig {
    return this.config;
  }

  /** Connects the shared rate cap (at most the Redis start timeout; falls back otherwise). Idempotent. */
  start(): Promise<void> {
    if (this.state === 'stopped') return Promise.reject(new Error('dead-letter caps are stopped'));
    this.startPromise ??= this.startOnce();
    return this.startPromise;
  }

  /** Clears the cool-down timer and disconnects Redis. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasStarting = this.startPromise;
    this.state = 'stopped';
    clearTimeout(this.coolDownTimer);
    this.coolDownTimer = undefined;
    this.unsubscribeMode?.();
    // Let a start in progress settle first so its connections are the ones closed here.
    await wasStarting?.catch(() => {});
    await this.rateGate.stop();
    await this.blockStore?.stop();
  }

  /** Records a message of the partition that was processed without dead-lettering (resets the run). */
  recordSuccess(topic: string, partition: number): void {
    this.windowFor(topic, partition).record(false, this.timedWindows ? this.now() : 0);
  }

  /**
   * Asks whether the message may go to the DLQ; an admitted one is counted, once: if its write
   * fails, only the write is retried (report it with `deadLetterWriteFailed`). Never throws on a
   * Redis failure and never waits longer than the Redis timeout (see SharedDeadLetterRate): the
   * local caps are judged at once, and a dead letter they admit holds its place in the partition's
   * window while the shared rate is asked, so concurrent dead letters of one partition cannot both
   * slip under a cap, and no admit waits for another one's Redis round trip.
   */
  async admitDeadLetter(topic: string, partition: number): Promise<DeadLetterVerdict> {
    if (this.state !== 'started') {
      throw new Error(`dead-letter caps are ${this.state === 'stopped' ? 'stopped' : 'not started'}`);
    }
    const verdict = this.admitLocally(topic, partition);
    if (verdict !== 'reserved') return verdict;
    const window = this.windowFor(topic, partition);
    let decision: RateDecision;
    try {
      decision = await this.rateGate.tryTake();
    } catch (error) {
      window.settleReserved(false, this.now());
      throw error;
    }
    // A revoke meanwhile replaced the window: settling the old one is harmless.
    window.settleReserved(decision.admitted, this.now());
    return decision.admitted ? { admitted: true } : this.refuseForRate(decision);
  }

  /**
   * The engine could not write an admitted dead letter (the DLQ refused it or is unreachable): the
   * admission stands and nothing is charged again; counted and reported until it is written.
   */
  deadLetterWriteFailed(
    topic: string,
    partition: number,
    offset: number,
    failure: DeadLetterWriteFailure,
  ): void {
    this.metrics.writeFailures.inc({ worker: this.worker, code: failure.code });
    const key = partitionKey(topic, partition);
    let failing = this.failingWrites.get(key);
    if (!failing) {
      failing = { topic, partition, offsets: new Map() };
      this.failingWrites.set(key, failing);
    }
    const previous = failing.offsets.get(offset);
    failing.offsets.set(offset, { ...failure, failures: (previous?.failures ?? 0) + 1 });
    this.publishWriteMetrics();
  }

  /** The broker acknowledged a dead letter: it no longer counts as a failing write. */
  deadLetterWritten(topic: string, partition: number, offset: number): void {
    const key = partitionKey(topic, partition);
    const failing = this.failingWrites.get(key);
    if (!failing?.offsets.delete(offset)) return;
    if (failing.offsets.size === 0) this.failingWrites.delete(key);
    this.publishWriteMetrics();
  }

  /** Whether the partition may not dead-letter now (its own block, or the worker-wide rate block). */
  isBlocked(topic: string, partition: number): boolean {
    this.expireCoolDowns();
    return this.blockOf(topic, partition) !== undefined;
  }

  /** Why the worker is degraded, or undefined when no cap is tripped (for /readyz bodies and logs). */
  degradedReason(): string | undefined {
    this.expireCoolDowns();
    const reasons = [
      listed('dlq_cap', [...this.activeBlocks.values()].map(describeBlock)),
      listed('dlq_write', [...this.failingWrites.values()].map(describeFailingWrites)),
    ].filter((reason) => reason !== undefined);
    return reasons.length === 0 ? undefined : reasons.join('; ');
  }

  /** Every tripped cap. */
  blocks(): DeadLetterBlock[] {
    this.expireCoolDowns();
    return [...this.activeBlocks.values()].map((block) => ({ ...block }));
  }

  /** Whether the rate cap is currently shared through Redis or on the per-process fallback. */
  rateCapMode(): RateCapMode {
    return this.rateGate.mode();
  }

  /**
   * Operator command: lifts tripped caps and clears the counters of each resumed partition.
   * No argument: everything, including the worker-wide rate block. A topic: its partitions. A topic
   * and partition: that one. Returns the lifted blocks.
   */
  resume(topic?: string, partition?: number): DeadLetterBlock[] {
    const lifted = [...this.activeBlocks.entries()].filter(([, block]) => {
      if (topic === undefined) return true;
      if (block.scope === 'worker' || block.topic !== topic) return false;
      return partition === undefined || block.partition === partition;
    });
    for (const [key, block] of lifted) this.lift(key, block, 'operator');
    if (lifted.length > 0) this.afterBlocksChanged();
    return lifted.map(([, block]) => block);
  }

  /** Lifts every block whose cool-down has passed; the cool-down timer calls it, tests may too. */
  expireCoolDowns(): number {
    if (this.activeBlocks.size === 0) return 0;
    const now = this.now();
    let lifted = 0;
    for (const [key, block] of this.activeBlocks) {
      if (block.resumesAt !== null && block.resumesAt <= now) {
        this.lift(key, block, 'cool-down');
        lifted += 1;
      }
    }
    if (lifted > 0) this.afterBlocksChanged();
    return lifted;
  }

  /**
   * Forgets a partition this process no longer owns (after a revoke); no event is emitted. Its
   * block, if any, stays in the block store for the partition's next owner to inherit.
   */
  releasePartition(topic: string, partition: number): void {
    this.windows.get(topic)?.delete(partition);
    // Its unwritten dead letter is the next owner's to handle again.
    if (this.failingWrites.delete(partitionKey(topic, partition))) this.publishWriteMetrics();
    if (this.activeBlocks.delete(partitionKey(topic, partition))) this.afterBlocksChanged();
  }

  /**
   * Takes over the blocks a previous owner of these newly assigned partitions left in the block
   * store and still in force (same cap, reason and cool-down end), so a poison flood does not get
   * another run of dead letters at every rebalance. Returns the partitions that arrive blocked:
   * the engine keeps them paused until the block lifts. Never throws; without the store (or when
   * it cannot answer in time) nothing is inherited.
   */
  async inheritBlocks(partitions: readonly TopicPartitionRef[]): Promise<TopicPartitionRef[]> {
    if (!this.blockStore || partitions.length === 0 || this.state === 'stopped') return [];
    const stored = await this.blockStore.load(partitions);
    const inherited: TopicPartitionRef[] = [];
    for (const ref of partitions) {
      const block = stored.get(blockedPartitionKey(ref));
      if (!block) continue;
      const key = partitionKey(ref.topic, ref.partition);
      if (!this.activeBlocks.has(key)) {
        this.activeBlocks.set(key, { ...block });
        this.logger(
          'warn',
          "dead-letter cap inherited from the partition's previous owner: it stays paused",
          {
            worker: this.worker,
            cap: block.cap,
            topic: ref.topic,
            partition: ref.partition,
            reason: block.reason,
            resumesAt:
              block.resumesAt === null ? 'on operator resume' : new Date(block.resumesAt).toISOString(),
          },
        );
      }
      inherited.push(ref);
    }
    if (inherited.length > 0) this.afterBlocksChanged();
    return inherited;
  }

  /** Subscribes to tripped caps (pause the partition, or every partition for scope 'worker'). */
  onBlocked(listener: (block: DeadLetterBlock) => void): () => void {
    this.blockedListeners.add(listener);
    return () => this.blockedListeners.delete(listener);
  }

  /** Subscribes to lifted caps (resume the partition, or every partition for scope 'worker'). */
  onResumed(listener: DeadLetterResumedListener): () => void {
    this.resumedListeners.add(listener);
    return () => this.resumedListeners.delete(listener);
  }

  private async startOnce(): Promise<void> {
    this.state = 'starting';
    this.unsubscribeMode = this.rateGate.onModeChange((mode) => {
      this.metrics.rateFallback.set({ worker: this.worker }, mode === 'local-fallback' ? 1 : 0);
    });
    await Promise.all([this.rateGate.start(), this.blockStore?.start()]);
    this.metrics.rateFallback.set({ worker: this.worker }, this.rateGate.mode() === 'local-fallback' ? 1 : 0);
    if (this.state === 'starting') this.state = 'started';
  }

  // The caps judged without I/O. 'reserved': they admit it, and its place in the window is held
  // until the shared rate answers.
  private admitLocally(topic: string, partition: number): DeadLetterVerdict | 'reserved' {
    this.expireCoolDowns();
    const existing = this.blockOf(topic, partition);
    if (existing) return { admitted: false, cap: existing.cap, reason: `blocked: ${existing.reason}` };
    const window = this.windowFor(topic, partition);
    const breach = window.breachIfDeadLettered(this.now());
    if (breach) {
      const reason = `${topic}[${partition}]: ${breach.reason}`;
      this.trip({ scope: 'partition', topic, partition, cap: breach.cap, reason });
      return { admitted: false, cap: breach.cap, reason };
    }
    window.reserve();
    return 'reserved';
  }

  private refuseForRate(decision: RateDecision): DeadLetterVerdict {
    // Concurrent takes can all be refused: the first trips the worker-wide block, the rest join it.
    const existing = this.activeBlocks.get(workerScopeKey);
    if (existing) return { admitted: false, cap: 'rate', reason: `blocked: ${existing.reason}` };
    const reason =
      decision.mode === 'shared'
        ? `the worker's ${this.config.maxPerMinute} dead letters per minute (all replicas) are spent`
        : `this process's fallback budget of ${this.config.fallbackMaxPerMinute} dead letters per minute is spent (Redis unreachable)`;
    this.trip({ scope: 'worker', cap: 'rate', reason });
    return { admitted: false, cap: 'rate', reason };
  }

  private trip(block: Omit<DeadLetterBlock, 'since' | 'resumesAt'>): void {
    const since = this.now();
    const full: DeadLetterBlock = {
      ...block,
      since,
      resumesAt: this.config.coolDownMs > 0 ? since + this.config.coolDownMs : null,
    };
    const key = block.scope === 'worker' ? workerScopeKey : partitionKey(block.topic!, block.partition!);
    this.activeBlocks.set(key, full);
    // The next owner of the partition inherits it (a rebalance must not reset a poison flood's pause).
    if (full.scope === 'partition') void this.blockStore?.save(full);
    this.metrics.trips.inc({ worker: this.worker, cap: block.cap });
    this.logger(
      'error',
      block.scope === 'worker'
        ? 'dead-letter rate cap reached: the worker stops dead-lettering and pauses'
        : 'dead-letter cap reached: the partition stops dead-lettering and pauses',
      {
        worker: this.worker,
        cap: block.cap,
        topic: block.topic,
        partition: block.partition,
        reason: block.reason,
        resumesAt: full.resumesAt === null ? 'on operator resume' : new Date(full.resumesAt).toISOString(),
      },
    );
    this.afterBlocksChanged();
    this.emit(this.blockedListeners, 'onBlocked', (listener) => listener({ ...full }));
  }

  private lift(key: string, block: DeadLetterBlock, by: DeadLetterResumption['by']): void {
    this.activeBlocks.delete(key);
    if (block.scope === 'partition') void this.blockStore?.remove(block);
    if (block.scope === 'partition') this.windows.get(block.topic!)?.get(block.partition!)?.reset();
    this.logger('info', 'dead-letter cap lifted: consumption resumes', {
      worker: this.worker,
      cap: block.cap,
      topic: block.topic,
      partition: block.partition,
      by,
    });
    const resumption: DeadLetterResumption = { scope: block.scope, cap: block.cap, by };
    if (block.scope === 'partition') {
      resumption.topic = block.topic;
      resumption.partition = block.partition;
    }
    this.emit(this.resumedListeners, 'onResumed', (listener) =>
      listener(resumption.topic, resumption.partition, resumption),
    );
  }

  private afterBlocksChanged(): void {
    this.publishBlockMetrics();
    this.scheduleCoolDownTimer();
  }

  private publishBlockMetrics(): void {
    const blocked = this.activeBlocks.size > 0 ? 1 : 0;
    let partitions = 0;
    for (const block of this.activeBlocks.values()) if (block.scope === 'partition') partitions += 1;
    this.metrics.capReached.set({ worker: this.worker }, blocked);
    this.metrics.degraded.set({ reason: 'dlq_cap' }, blocked);
    this.metrics.blockedPartitions.set({ worker: this.worker }, partitions);
  }

  private publishWriteMetrics(): void {
    this.metrics.failingWritePartitions.set({ worker: this.worker }, this.failingWrites.size);
  }

  private scheduleCoolDownTimer(): void {
    clearTimeout(this.coolDownTimer);
    this.coolDownTimer = undefined;
    if (this.state === 'stopped') return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const block of this.activeBlocks.values()) {
      if (block.resumesAt !== null && block.resumesAt < earliest) earliest = block.resumesAt;
    }
    if (earliest === Number.POSITIVE_INFINITY) return;
    // Without a timer a paused partition would never see another admit to notice its cool-down.
    const delay = Math.min(Math.max(0, earliest - this.now()), 2 ** 31 - 1);
    this.coolDownTimer = setTimeout(() => this.expireCoolDowns(), delay);
    this.coolDownTimer.unref();
  }

  private blockOf(topic: string, partition: number): DeadLetterBlock | undefined {
    return this.activeBlocks.get(workerScopeKey) ?? this.activeBlocks.get(partitionKey(topic, partition));
  }

  private windowFor(topic: string, partition: number): PartitionDeadLetterWindow {
    let partitions = this.windows.get(topic);
    if (!partitions) {
      partitions = new Map();
      this.windows.set(topic, partitions);
    }
    let window = partitions.get(partition);
    if (!window) {
      window = new PartitionDeadLetterWindow(this.config);
      partitions.set(partition, window);
    }
    return window;
  }

  private emit<L>(listeners: Set<L>, name: string, call: (listener: L) => void): void {
    for (const listener of listeners) {
      try {
        call(listener);
      } catch (error) {
        // One faulty listener must not keep the others (the engine's pause) from running.
        this.logger('error', `dead-letter caps ${name} listener threw`, {
          worker: this.worker,
          error: String(error),
        });
      }
    }
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** `<label>: a; b; c; and N more`, or undefined when there is nothing to list. */
function listed(label: string, items: string[]): string | undefined {
  if (items.length === 0) return undefined;
  const shown = items.slice(0, 3);
  const more = items.length > shown.length ? `; and ${items.length - shown.length} more` : '';
  return `${label}: ${shown.join('; ')}${more}`;
}

function describeFailingWrites(failing: FailingWrites): string {
  const [offset, failure] = failing.offsets.entries().next().value!;
  const others = failing.offsets.size > 1 ? ` (and ${failing.offsets.size - 1} more)` : '';
  const verdict = failure.retriable ? 'retried' : 'refused until an operator acts';
  return `${failing.topic}[${failing.partition}] offset ${offset}${others}: the DLQ write failed ${failure.failures}× (${failure.code}; ${verdict})`;
}

function describeBlock(block: DeadLetterBlock): string {
  const until =
    block.resumesAt === null
      ? 'until an operator resumes'
      : `until ${new Date(block.resumesAt).toISOString()}`;
  return `${block.cap} cap: ${block.reason} (${until})`;
}
