import type { Redis } from 'ioredis';
import { gcraLuaScript } from './gcraScript.ts';
import {
  paramsOf,
  policyOutcome,
  type RateCheck,
  type RateDecision,
  type RateLimiter,
} from './rateLimitTypes.ts';

const commandName = 'fleetIngressGcra';

type GcraCommand = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** The limiter's Redis call failed or answered something unexpected; the fallback takes over. */
export class RateLimitStoreError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RateLimitStoreError';
  }
}

/**
 * The distributed limiter: one EVALSHA per request (ioredis' defineCommand sends EVALSHA and
 * falls back to EVAL once when the server lost its script cache), over every policy of the
 * request. Keys are `<prefix><policy>:<hashed identity>`. In Redis Cluster both keys of one
 * call must share a slot: give the prefix a hash tag (`{rl}:`) there.
 */
export class RedisGcraLimiter implements RateLimiter {
  private readonly keyPrefix: string;
  private readonly command: GcraCommand;

  constructor(redis: Redis, keyPrefix: string) {
    this.keyPrefix = keyPrefix;
    const existing = (redis as unknown as Record<string, unknown>)[commandName];
    if (typeof existing !== 'function') redis.defineCommand(commandName, { lua: gcraLuaScript });
    this.command = ((redis as unknown as Record<string, GcraCommand>)[commandName] as GcraCommand).bind(
      redis,
    );
  }

  /** The Redis key of one check (exported for tests that inspect TTLs). */
  keyOf(check: Pick<RateCheck, 'policy' | 'identity'>): string {
    return `${this.keyPrefix}${check.policy}:${check.identity}`;
  }

  async check(checks: readonly RateCheck[], cost: 0 | 1): Promise<RateDecision> {
    const args: (string | number)[] = checks.map((c) => this.keyOf(c));
    args.push(cost);
    for (const check of checks) {
      const params = paramsOf(check);
      args.push(params.emissionUs, params.windowUs);
    }
    let reply: unknown;
    try {
      reply = await this.command(checks.length, ...args);
    } catch (error) {
      throw new RateLimitStoreError(`rate limit script failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (
      !Array.isArray(reply) ||
      reply.length !== checks.length + 2 ||
      !reply.every((v) => typeof v === 'number')
    ) {
      throw new RateLimitStoreError('rate limit script returned an unexpected reply');
    }
    const [admittedFlag, nowUs, ...tats] = reply as number[];
    const admitted = admittedFlag === 1;
    const outcomes = checks.map((check, i) => policyOutcome(check, tats[i], nowUs as number, admitted));
    return { admitted, mode: 'shared', outcomes };
  }
}
