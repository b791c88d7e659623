import { describe, expect, it } from 'vitest';
import { gcraDecide, gcraParams, gcraState } from './gcra.ts';
import { MemoryGcraLimiter } from './memoryGcraLimiter.ts';
import type { RateCheck } from './rateLimitTypes.ts';

const second = 1_000_000;
const customer = (quota: number, windowSeconds: number, identity = 'c1'): RateCheck => ({
  policy: 'customer',
  identity,
  quota,
  windowSeconds,
});
const ip = (quota: number, windowSeconds: number, identity = 'ip1'): RateCheck => ({
  policy: 'ip',
  identity,
  quota,
  windowSeconds,
});

function limiterAt(start = 1_700_000_000 * second) {
  const clock = { now: start };
  const limiter = new MemoryGcraLimiter({ maxKeys: 1000, now: () => clock.now });
  return { clock, limiter };
}

describe('GCRA arithmetic', () => {
  it('admits exactly the quota in a burst for any sane policy', () => {
    for (const [quota, window] of [
      [1, 1],
      [5, 3600],
      [7, 60],
      [60, 60],
      [300, 60],
      [1000, 1],
    ] as const) {
      const params = gcraParams(quota, window);
      let tat: number | undefined;
      let admitted = 0;
      for (let i = 0; i < quota + 5; i++) {
        const verdict = gcraDecide(tat, 0, params, 1);
        if (verdict.admitted) {
          admitted++;
          tat = verdict.newTatUs;
        }
      }
      expect(admitted, `${quota}/${window}s`).toBe(quota);
    }
  });

  it('reports remaining, full reset and retry for the RateLimit fields', () => {
    const params = gcraParams(60, 60);
    expect(gcraState(undefined, 0, params)).toEqual({ remaining: 60, resetUs: 0, retryUs: 0 });
    expect(gcraState(second, 0, params)).toEqual({ remaining: 59, resetUs: second, retryUs: 0 });
    expect(gcraState(60 * second, 0, params)).toEqual({
      remaining: 0,
      resetUs: 60 * second,
      retryUs: second,
    });
  });
});

describe('MemoryGcraLimiter', () => {
  it('admits the burst, then one request per emission interval, with Retry-After until the next', async () => {
    const { clock, limiter } = limiterAt();
    const checks = [customer(3, 3)];
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.check(checks, 1));
    expect(results.map((r) => r.admitted)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.outcomes[0]?.remaining)).toEqual([2, 1, 0, 0]);
    expect(results[3]?.outcomes[0]).toMatchObject({ retryAfterSeconds: 1, resetSeconds: 3 });
    expect(results[0]?.mode).toBe('fallback');
    clock.now += second - 1;
    expect((await limiter.check(checks, 1)).admitted).toBe(false);
    clock.now += 1;
    expect((await limiter.check(checks, 1)).admitted).toBe(true);
  });

  it('admits only when every policy admits, and a refusal consumes from none', async () => {
    const { limiter } = limiterAt();
    const tight = customer(1, 60);
    const loose = ip(10, 60);
    expect((await limiter.check([tight, loose], 1)).admitted).toBe(true);
    const refused = await limiter.check([tight, loose], 1);
    expect(refused.admitted).toBe(false);
    expect(refused.outcomes.map((o) => [o.policy, o.remaining, o.retryAfterSeconds])).toEqual([
      ['customer', 0, 60],
      ['ip', 9, 0],
    ]);
    expect((await limiter.check([loose], 1)).outcomes[0]?.remaining).toBe(8);
  });

  it('peeks with cost 0: reports without consuming, never refuses', async () => {
    const { limiter } = limiterAt();
    const check = [ip(2, 60)];
    await limiter.check(check, 1);
    await limiter.check(check, 1);
    const peek = await limiter.check(check, 0);
    expect(peek.admitted).toBe(true);
    expect(peek.outcomes[0]?.remaining).toBe(0);
    expect((await limiter.check(check, 1)).admitted).toBe(false);
  });

  it('keeps memory bounded: expired keys are swept and the oldest evicted past maxKeys', async () => {
    const clock = { now: 0 };
    const limiter = new MemoryGcraLimiter({ maxKeys: 100, now: () => clock.now });
    for (let i = 0; i < 250; i++) await limiter.check([ip(10, 60, `addr-${i}`)], 1);
    expect(limiter.size).toBe(100);
    clock.now += 61 * second;
    await limiter.check([ip(10, 60, 'late')], 1);
    expect(limiter.size).toBe(1);
  });
});
