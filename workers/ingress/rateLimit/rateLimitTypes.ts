import { type GcraParams, gcraParams, gcraState } from './gcra.ts';

/** Policy names as they appear in RateLimit-Policy / RateLimit (IETF draft-11). */
export type PolicyName = 'customer' | 'ip';

/** One policy applied to one request: the identity it counts and the limit it enforces. */
export interface RateCheck {
  policy: PolicyName;
  /** Opaque, already hashed identity (never a raw customer id or address in Redis). */
  identity: string;
  quota: number;
  windowSeconds: number;
}

/** One policy's state after the decision, as the RateLimit field reports it. */
export interface PolicyOutcome {
  policy: PolicyName;
  /** The limit actually enforced (smaller than configured while a fallback divides it). */
  quota: number;
  windowSeconds: number;
  remaining: number;
  resetSeconds: number;
  /** Seconds until one request is admitted again; 0 when admitted. */
  retryAfterSeconds: number;
}

/** Where a decision came from: Redis (shared by every instance) or this instance's fallback. */
export type LimiterMode = 'shared' | 'fallback';

/** The decision for one request over all its policies. */
export interface RateDecision {
  admitted: boolean;
  mode: LimiterMode;
  outcomes: PolicyOutcome[];
}

/** Decides requests against a set of policies; `cost` 0 reports without consuming. */
export interface RateLimiter {
  check(checks: readonly RateCheck[], cost: 0 | 1): Promise<RateDecision>;
}

/** The GCRA parameters of a check. */
export function paramsOf(check: Pick<RateCheck, 'quota' | 'windowSeconds'>): GcraParams {
  return gcraParams(check.quota, check.windowSeconds);
}

/** The RateLimit view of one policy whose TAT after the decision is `tatUs`. */
export function policyOutcome(
  check: RateCheck,
  tatUs: number | undefined,
  nowUs: number,
  admitted: boolean,
): PolicyOutcome {
  const state = gcraState(tatUs, nowUs, paramsOf(check));
  return {
    policy: check.policy,
    quota: check.quota,
    windowSeconds: check.windowSeconds,
    remaining: state.remaining,
    resetSeconds: Math.ceil(state.resetUs / 1_000_000),
    retryAfterSeconds: admitted ? 0 : Math.ceil(state.retryUs / 1_000_000),
  };
}
