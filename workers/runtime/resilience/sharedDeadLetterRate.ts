import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { answerWithin } from './answerWithin.ts';
import { failFastRedisOptions } from './failFastRedis.ts';
import { LocalRateBudget } from './localRateBudget.ts';
import { type ResilienceLogger, silentLogger } from './resilienceLogger.ts';

/** Where a rate decision came from: the budget shared through Redis, or this process's fallback budget. */
export type RateCapMode = 'shared' | 'local-fallback';

/** One rate-cap decision. `admitted` means a dead-letter write may happen now. */
export interface RateDecision {
  admitted: boolean;
  mode: RateCapMode;
}

/** The rate cap as DeadLetterCaps uses it (an interface so unit tests can inject a fake). */
export interface DeadLetterRateGate {
  start(): Promise<void>;
  /** Takes one dead-letter write from the budget; never blocks longer than the Redis timeout, never throws. */
  tryTake(): Promise<RateDecision>;
  /** The mode the last decision (or connection event) put the gate in. */
  mode(): RateCapMode;
  /** Subscribes to mode changes; returns the unsubscribe function. */
  onModeChange(listener: (mode: RateCapMode, reason: string) => void): () => void;
  stop(): Promise<void>;
}

export interface SharedDeadLetterRateOptions {
  /** Worker name: replicas with the same name share one budget. */
  worker: string;
  /** Dead-letter writes allowed per window across all replicas. */
  maxPerWindow: number;
  /** Dead-letter writes allowed per window in this process while Redis is unreachable. */
  fallbackMaxPerWindow: number;
  /** Window length in ms. Default 60000 (per minute). */
  windowMs?: number;
  /** Redis URL (REDIS_URL). */
  redisUrl: string;
  /** Longest wait for one Redis round trip before the fallback answers, in ms. Default 500. */
  redisTimeoutMs?: number;
  /** Longest wait in start() for Redis; past it the gate starts in fallback and keeps connecting. Default 2000. */
  startTimeoutMs?: number;
  /** Prefix of the bottleneck limiter id (its Redis keys are `b_<id>_*`). Default 'fleet:dlq-rate:'. */
  limiterIdPrefix?: string;
  /** TTL of the limiter's Redis keys after the last use, in ms (BRIEF §6: every key has a TTL). Default 600000. */
  keyTtlMs?: number;
  /** Delay before rebuilding the Redis limiter after its initialisation failed, in ms. Default 5000. */
  rebuildDelayMs?: number;
  /** First delay before probing Redis after it failed a take, in ms; it doubles up to `probeMaxDelayMs`. Default 250. */
  probeMinDelayMs?: number;
  /** Longest delay between two probes, in ms. Default 5000. */
  probeMaxDelayMs?: number;
  /** Clock of the local fallback budget. Default Date.now. */
  now?: () => number;
  /** Default: silent. */
  logger?: ResilienceLogger;
}

interface SharedStore {
  client: Redis;
  connection: Bottleneck.IORedisConnection;
  limiter: Bottleneck;
  ready: boolean;
  /** Settles with whether the limiter initialised (never rejects). */
  initialised: Promise<boolean>;
}

/**
 * The DLQ rate cap shared by every replica of a worker: a bottleneck limiter in Redis whose
 * reservoir holds the writes left in the current window and is refreshed to `maxPerWindow`
 * every `windowMs` (bottleneck computes the refresh lazily inside its Lua scripts).
 *
 * A take is one atomic script, `incrementReservoir(-1)`: it decrements and then applies a due
 * refresh, returning the reservoir. `>= 0` means a unit was left. Exactly `maxPerWindow` means a
 * refresh overwrote our decrement (no other path can return it: the reservoir never exceeds the
 * amount), so we take again in the fresh window. A refused take leaves the reservoir negative; it
 * is never given back, because a give-back landing after a refresh would mint an extra unit. We do
 * not use `schedule()` (it queues until the next refresh: up to a minute of blocking) nor
 * `check()` + `schedule()` (two round trips: replicas race between them).
 *
 * Redis unreachable (not connected, error or timeout): the local per-process budget answers, the
 * mode switches to 'local-fallback' (logged once per switch), and a background probe (PING with
 * backoff) watches Redis. Until it answers (or the connection becomes ready again), takes skip Redis:
 * after one timed-out take, no take waits for a slow Redis again. A slow answer does not drop the
 * connection, so without the probe the mode would stay on fallback until the next dead letter.
 * ioredis runs without an offline queue, so nothing waits for a reconnect.
 */
export class SharedDeadLetterRate implements DeadLetterRateGate {
  private readonly options: Required<Omit<SharedDeadLetterRateOptions, 'now' | 'logger'>>;
  private readonly now: () => number;
  private readonly logger: ResilienceLogger;
  private readonly local: LocalRateBudget;
  private readonly limiterId: string;
  private readonly modeListeners = new Set<(mode: RateCapMode, reason: string) => void>();
  private store: SharedStore | undefined;
  private currentMode: RateCapMode = 'shared';
  private rebuildTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  /** Set from a failed take until a probe (or a reconnect) shows Redis answers: takes skip Redis meanwhile. */
  private probing = false;
  private state: 'new' | 'started' | 'stopped' = 'new';

  constructor(options: SharedDeadLetterRateOptions) {
    this.options = {
      windowMs: 60_000,
      redisTimeoutMs: 500,
      startTimeoutMs: 2_000,
      limiterIdPrefix: 'fleet:dlq-rate:',
      keyTtlMs: 600_000,
      rebuildDelayMs: 5_000,
      probeMinDelayMs: 250,
      probeMaxDelayMs: 5_000,
      ...stripUndefined(options),
    } as SharedDeadLetterRate['options'];
    if (!(Number.isInteger(options.maxPerWindow) && options.maxPerWindow >= 1)) {
      throw new RangeError('maxPerWindow must be a positive integer');
    }
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.local = new LocalRateBudget(options.fallbackMaxPerWindow, this.options.windowMs);
    this.limiterId = `${this.options.limiterIdPrefix}${options.worker}`;
  }

  /** The bottleneck limiter id; its Redis keys are `b_<id>_settings` and friends. */
  get id(): string {
    return this.limiterId;
  }

  /** Connects and initialises the shared limiter, waiting at most `startTimeoutMs`. Idempotent. */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'started';
    const store = this.buildStore();
    const ready = await waitFor(store.initialised, this.options.startTimeoutMs);
    if (!ready && this.state === 'started') {
      this.enterFallback(`redis not ready within ${this.options.startTimeoutMs} ms`);
    }
  }

  async tryTake(): Promise<RateDecision> {
    if (this.state !== 'started') throw new Error('the dead-letter rate cap is not started');
    const store = this.store;
    // After a failed take, Redis is skipped until a probe shows it answers: no take waits on it again.
    if (!this.probing && store?.ready && store.client.status === 'ready') {
      try {
        const admitted = await answerWithin(
          takeSharedUnit(store.limiter, this.options.maxPerWindow),
          this.options.redisTimeoutMs,
        );
        if (admitted) this.local.recordExternalTake(this.now());
        this.leaveFallback();
        return { admitted, mode: 'shared' };
      } catch (error) {
        this.enterFallback(`redis call failed: ${errorText(error)}`);
        this.startProbing();
      }
    } else if (!this.probing) {
      this.enterFallback(
        store?.ready ? `redis connection is ${store.client.status}` : 'redis limiter not ready',
      );
    }
    return { admitted: this.local.tryTake(this.now()), mode: 'local-fallback' };
  }

  mode(): RateCapMode {
    return this.currentMode;
  }

  onModeChange(listener: (mode: RateCapMode, reason: string) => void): () => void {
    this.modeListeners.add(listener);
    return () => this.modeListeners.delete(listener);
  }

  /** Closes both Redis connections (command and pub/sub) and every timer. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearTimeout(this.rebuildTimer);
    this.stopProbing();
    await this.teardownStore();
    this.modeListeners.clear();
  }

  private buildStore(): SharedStore {
    // Fail fast instead of queueing while disconnected: the fallback answers meanwhile.
    const client = new Redis(
      this.options.redisUrl,
      failFastRedisOptions(this.options.redisTimeoutMs, `fleet-dlq-rate:${this.options.worker}`),
    );
    // Errors surface through takes (fallback) and 'close'; each reconnect attempt would flood the log.
    client.on('error', (error: Error) =>
      this.logger('debug', 'dlq rate cap redis error', { error: error.message }),
    );
    client.on('close', () => {
      if (this.state === 'started' && this.store?.client === client)
        this.enterFallback('redis connection closed');
    });
    client.on('ready', () => {
      if (this.store?.client === client && this.store.ready) this.redisAnswers();
    });
    const connection = new Bottleneck.IORedisConnection({ client, Redis });
    connection.on('error', (error: unknown) =>
      this.logger('debug', 'dlq rate cap limiter connection error', { error: errorText(error) }),
    );
    const limiter = new Bottleneck({
      id: this.limiterId,
      datastore: 'ioredis',
      connection,
      // Another replica may be mid-window: never wipe the shared state on start.
      clearDatastore: false,
      reservoir: this.options.maxPerWindow,
      reservoirRefreshAmount: this.options.maxPerWindow,
      reservoirRefreshInterval: this.options.windowMs,
      timeout: this.options.keyTtlMs,
    });
    limiter.on('error', (error: unknown) =>
      this.logger('debug', 'dlq rate cap limiter error', { error: errorText(error) }),
    );
    const store: SharedStore = {
      client,
      connection,
      limiter,
      ready: false,
      initialised: Promise.resolve(false),
    };
    this.store = store;
    store.initialised = limiter
      .ready()
      // The settings hash outlives a deploy; push this replica's limits so a changed cap applies.
      .then(() =>
        limiter.updateSettings({
          reservoirRefreshAmount: this.options.maxPerWindow,
          reservoirRefreshInterval: this.options.windowMs,
        }),
      )
      .then(
        () => {
          if (this.store !== store || this.state !== 'started') return false;
          store.ready = true;
          this.redisAnswers();
          return true;
        },
        (error: unknown) => {
          if (this.store !== store || this.state !== 'started') return false;
          // bottleneck's ready promise is one-shot: a failed initialisation needs a new limiter.
          this.enterFallback(`redis limiter initialisation failed: ${errorText(error)}`);
          void this.teardownStore().then(() => this.scheduleRebuild());
          return false;
        },
      );
    return store;
  }

  private scheduleRebuild(): void {
    if (this.state !== 'started') return;
    this.rebuildTimer = setTimeout(() => {
      if (this.state === 'started') this.buildStore();
    }, this.options.rebuildDelayMs);
  }

  private async teardownStore(): Promise<void> {
    const store = this.store;
    this.store = undefined;
    if (!store) return;
    // bottleneck duplicates our client for pub/sub; it is not in its typings.
    const subscriber = (store.connection as unknown as { subscriber?: Redis }).subscriber;
    const clients = [store.client, subscriber].filter((c): c is Redis => c !== undefined);
    // disconnect(false) closes both sockets at once; quit() would wait on a dead server.
    await store.connection.disconnect(false);
    await Promise.all(clients.map((client) => untilSocketClosed(client, this.options.redisTimeoutMs * 2)));
  }

  // Probes until Redis answers a PING within the Redis timeout, backing off between tries; the timer
  // is unref'd (it must not keep a stopping process alive) and stop() clears it.
  private startProbing(): void {
    if (this.probing || this.state !== 'started') return;
    this.probing = true;
    this.scheduleProbe(this.options.probeMinDelayMs);
  }

  private scheduleProbe(delayMs: number): void {
    this.probeTimer = setTimeout(() => void this.probe(delayMs), delayMs);
    this.probeTimer.unref();
  }

  private async probe(delayMs: number): Promise<void> {
    this.probeTimer = undefined;
    const answered = await this.pingWithinTimeout();
    if (!this.probing || this.state !== 'started') return;
    if (answered) this.redisAnswers();
    else this.scheduleProbe(Math.min(delayMs * 2, this.options.probeMaxDelayMs));
  }

  private async pingWithinTimeout(): Promise<boolean> {
    const store = this.store;
    if (!(store?.ready && store.client.status === 'ready')) return false;
    try {
      await answerWithin(store.client.ping(), this.options.redisTimeoutMs);
      return true;
    } catch (error) {
      // Expected while Redis is slow or down; the fallback is already reported.
      this.logger('debug', 'dlq rate cap redis probe failed', { error: errorText(error) });
      return false;
    }
  }

  private stopProbing(): void {
    this.probing = false;
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  // Redis answered (a probe, a reconnect, an initialisation): the next take is shared again.
  private redisAnswers(): void {
    this.stopProbing();
    this.leaveFallback();
  }

  private enterFallback(reason: string): void {
    if (this.currentMode === 'local-fallback') return;
    this.currentMode = 'local-fallback';
    this.logger('warn', 'dead-letter rate cap falls back to a per-process budget', {
      worker: this.options.worker,
      reason,
      fallbackMaxPerWindow: this.options.fallbackMaxPerWindow,
      windowMs: this.options.windowMs,
    });
    for (const listener of this.modeListeners) listener('local-fallback', reason);
  }

  private leaveFallback(): void {
    if (this.currentMode === 'shared') return;
    this.currentMode = 'shared';
    this.logger('info', 'dead-letter rate cap is shared through redis again', {
      worker: this.options.worker,
    });
    for (const listener of this.modeListeners) listener('shared', 'redis reachable');
  }
}

/** One atomic take from the shared reservoir (see the class comment for why this shape). */
async function takeSharedUnit(limiter: Bottleneck, amount: number): Promise<boolean> {
  let reservoir = await limiter.incrementReservoir(-1);
  if (reservoir === amount) reservoir = await limiter.incrementReservoir(-1);
  return reservoir >= 0;
}

/**
 * After disconnect(): resolves once the client's socket is closed (or after `ms`, so stop() cannot
 * hang). A client that was between reconnect attempts has no socket and, once its reconnect timer
 * is cleared by disconnect(), never emits 'end'.
 */
function untilSocketClosed(client: Redis, ms: number): Promise<void> {
  if (client.status === 'end' || client.status === 'reconnecting' || client.status === 'wait') {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    client.once('end', done);
    function done(): void {
      clearTimeout(timer);
      client.off('end', done);
      resolve();
    }
  });
}

/** The promise's answer, or false when it takes longer than `ms`. */
async function waitFor(promise: Promise<boolean>, ms: number): Promise<boolean> {
  try {
    return await answerWithin(promise, ms);
  } catch {
    // Not ready in time: the caller starts in fallback; buildStore keeps initialising meanwhile.
    return false;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `value` without its undefined properties, so spreading it over defaults keeps the defaults. */
export function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
