import type { PolicyOutcome } from './rateLimitTypes.ts';

/**
 * IETF draft-ietf-httpapi-ratelimit-headers-11 fields, as structured-field lists:
 *   RateLimit-Policy: "customer";q=60;w=60, "ip";q=300;w=60
 *   RateLimit: "customer";r=59;t=1, "ip";r=299;t=1
 * `t` is the seconds until the policy's whole quota is available again; on a 429 the
 * Retry-After field (which wins over `t`) says when one request will be admitted.
 */
export function rateLimitFields(outcomes: readonly PolicyOutcome[]): { policy: string; limit: string } {
  return {
    policy: outcomes.map((o) => `"${o.policy}";q=${o.quota};w=${o.windowSeconds}`).join(', '),
    limit: outcomes.map((o) => `"${o.policy}";r=${o.remaining};t=${o.resetSeconds}`).join(', '),
  };
}

/** Seconds a refused client should wait: the longest wait of the refusing policies (at least 1). */
export function retryAfterSeconds(outcomes: readonly PolicyOutcome[]): number {
  return Math.max(1, ...outcomes.map((o) => o.retryAfterSeconds));
}
