import type { Redis } from 'ioredis';
import type { Gauge } from 'prom-client';
import type { Logger } from '../../runtime/observability/logger.ts';
import type { MemoryGcraLimiter } from './memoryGcraLimiter.ts';
import type { RateCheck, RateDecision, RateLimiter } from './rateLimitTypes.ts';

/** What the resilient limiter is built from. */
export interface ResilientRateLimiterOptions {
  redis: Redis;
  shared: RateLimiter;
  fallback: MemoryGcraLimiter;
  /** Each fallback decision enforces ceil(quota / fallbackInstances). */
  fallbackInstances: number;
  /** `fleet_ingress_rate_limit_fallback`: 1 while decisions come from the fallback. */
  fallbackGauge: Gauge;
  logger: Logger;
  /** Monotonic clock in ms (tests); default performance.now. */
  now?: () => number;
}

/**
 * After a failed or timed-out Redis call, how long decisions stay with the fallback before Redis
 * is tried again: a Redis that accepts connections but stalls would otherwise cost every request
 * the whole command timeout before its fallback answer.
 */
export const redisRetryPauseMs = 1000;

/**
 * The shared Redis limiter with a per-instance fallback (ANCHORS §4: never fail open silently,
 * never hang, never 500). While the Redis connection is not ready the fallback answers at once
 * (ioredis runs without an offline queue); a failed or slow call (commandTimeout) falls back, and
 * so do the requests of the next `redisRetryPauseMs`, without asking Redis. Entering and leaving
 * fallback each log one line and flip the gauge.
 */
export class ResilientRateLimiter implements RateLimiter {
  private readonly options: ResilientRateLimiterOptions;
  private readonly now: () => number;
  private inFallback = false;
  /** Until then (clock ms) Redis is not asked: its last call failed. */
  private redisPausedUntil = Number.NEGATIVE_INFINITY;

  constructor(options: ResilientRateLimiterOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    options.fallbackGauge.set(0);
  }

  /** Whether the last decision came from the fallback. */
  get degraded(): boolean {
    return this.inFallback;
  }

  async check(checks: readonly RateCheck[], cost: 0 | 1): Promise<RateDecision> {
    const { redis } = this.options;
    if (redis.status !== 'ready') {
      this.enterFallback(`redis connection is ${redis.status}`);
    } else if (this.now() >= this.redisPausedUntil) {
      try {
        const decision = await this.options.shared.check(checks, cost);
        this.leaveFallback();
        return decision;
      } catch (error) {
        this.redisPausedUntil = this.now() + redisRetryPauseMs;
        this.enterFallback(`redis call failed: ${(error as Error).message}`);
      }
    }
    const divisor = this.options.fallbackInstances;
    const local = divisor === 1 ? checks : checks.map((c) => ({ ...c, quota: Math.ceil(c.quota / divisor) }));
    return this.options.fallback.check(local, cost);
  }

  private enterFallback(reason: string): void {
    if (this.inFallback) return;
    this.inFallback = true;
    this.options.fallbackGauge.set(1);
    this.options.logger.warn(
      { reason, fallbackInstances: this.options.fallbackInstances },
      'rate limiter falls back to per-instance limits',
    );
  }

  private leaveFallback(): void {
    if (!this.inFallback) return;
    this.inFallback = false;
    this.options.fallbackGauge.set(0);
    this.options.logger.info({}, 'rate limiter uses the shared redis limits again');
  }
}
