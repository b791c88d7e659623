import type { Redis } from 'ioredis';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../runtime/observability/logger.ts';
import { MemoryGcraLimiter } from './memoryGcraLimiter.ts';
import type { RateCheck, RateDecision, RateLimiter } from './rateLimitTypes.ts';
import { ResilientRateLimiter, redisRetryPauseMs } from './resilientRateLimiter.ts';

const checks: RateCheck[] = [{ policy: 'ip', identity: 'ip1', quota: 100, windowSeconds: 60 }];

/** A shared limiter standing in for a Redis that stalls: every call fails (its command timeout). */
function stalledShared(): RateLimiter & { calls: number; healthy: boolean } {
  const shared = {
    calls: 0,
    healthy: false,
    async check(): Promise<RateDecision> {
      shared.calls++;
      if (!shared.healthy) throw new Error('Command timed out');
      return { admitted: true, mode: 'shared', outcomes: [] };
    },
  };
  return shared;
}

describe('ResilientRateLimiter', () => {
  it('after a failed Redis call, answers from the fallback without asking Redis for a pause, then tries again', async () => {
    const clock = { now: 0 };
    const shared = stalledShared();
    const limiter = new ResilientRateLimiter({
      redis: { status: 'ready' } as Redis,
      shared,
      fallback: new MemoryGcraLimiter({ maxKeys: 100 }),
      fallbackInstances: 1,
      fallbackGauge: new Gauge({ name: 'fallback_test', help: 'test', registers: [new Registry()] }),
      logger: createLogger({ worker: 'rate-limit-test', level: 'silent' }),
      now: () => clock.now,
    });
    expect((await limiter.check(checks, 1)).mode).toBe('fallback');
    expect(shared.calls).toBe(1);
    // Within the pause: ten more decisions, none of them waits on the stalled Redis.
    for (let i = 0; i < 10; i++) {
      clock.now += Math.floor((redisRetryPauseMs - 1) / 10);
      expect((await limiter.check(checks, 1)).mode).toBe('fallback');
    }
    expect(shared.calls).toBe(1);
    // Past it, Redis is asked again; once it answers, the shared limit decides again.
    shared.healthy = true;
    clock.now = redisRetryPauseMs;
    expect((await limiter.check(checks, 1)).mode).toBe('shared');
    expect(shared.calls).toBe(2);
    expect(limiter.degraded).toBe(false);
  });
});
