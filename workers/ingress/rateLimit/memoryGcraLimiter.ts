import { gcraDecide } from './gcra.ts';
import {
  paramsOf,
  policyOutcome,
  type RateCheck,
  type RateDecision,
  type RateLimiter,
} from './rateLimitTypes.ts';

/** Microseconds since the epoch, from the monotonic-backed high-resolution clock. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * The same GCRA as the Redis script, in this process only: the fallback while Redis is down.
 * Memory is bounded: expired TATs are swept, and past `maxKeys` the oldest key is evicted (its
 * client gets a fresh bucket, which is the lesser evil next to unbounded growth under an
 * address-spraying attack).
 */
export class MemoryGcraLimiter implements RateLimiter {
  private readonly tats = new Map<string, number>();
  private readonly maxKeys: number;
  private readonly now: () => number;
  private nextSweepUs = 0;

  constructor(options: { maxKeys: number; now?: () => number }) {
    this.maxKeys = options.maxKeys;
    this.now = options.now ?? nowMicros;
  }

  /** Keys tracked now (for tests and the memory bound). */
  get size(): number {
    return this.tats.size;
  }

  async check(checks: readonly RateCheck[], cost: 0 | 1): Promise<RateDecision> {
    const nowUs = this.now();
    this.sweep(nowUs);
    const keys = checks.map((c) => `${c.policy}:${c.identity}`);
    const verdicts = checks.map((c, i) =>
      gcraDecide(this.tats.get(keys[i] as string), nowUs, paramsOf(c), cost),
    );
    const admitted = verdicts.every((v) => v.admitted);
    if (admitted && cost > 0) {
      verdicts.forEach((verdict, i) => {
        const key = keys[i] as string;
        // Re-insert so Map order is "least recently consumed first" for eviction.
        this.tats.delete(key);
        this.tats.set(key, verdict.newTatUs);
      });
      this.evictOverflow();
    }
    const outcomes = checks.map((c, i) =>
      policyOutcome(c, this.tats.get(keys[i] as string), nowUs, admitted),
    );
    return { admitted, mode: 'fallback', outcomes };
  }

  /** Drops TATs already in the past (their bucket is full again): at most once a second. */
  private sweep(nowUs: number): void {
    if (nowUs < this.nextSweepUs) return;
    this.nextSweepUs = nowUs + 1_000_000;
    for (const [key, tat] of this.tats) if (tat <= nowUs) this.tats.delete(key);
  }

  private evictOverflow(): void {
    while (this.tats.size > this.maxKeys) {
      const oldest = this.tats.keys().next().value;
      if (oldest === undefined) break;
      this.tats.delete(oldest);
    }
  }
}
