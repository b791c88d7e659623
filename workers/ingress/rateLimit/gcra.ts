/**
 * GCRA (generic cell rate algorithm), the arithmetic shared by the Redis script and the
 * in-memory fallback so both enforce exactly the same limit. State per key is one number: the
 * theoretical arrival time (TAT). A policy of `q` requests per window `w` spaces requests
 * `T = floor(w / q)` apart and tolerates a burst of `q`; everything is integer microseconds so
 * the Lua side (doubles) computes bit-for-bit the same values.
 */

/** A policy in integer microseconds. */
export interface GcraParams {
  /** T: the spacing between requests at the sustained rate. */
  emissionUs: number;
  /** w: the window; a fresh key admits floor(w / T) = q requests at once. */
  windowUs: number;
}

/** Converts `quota` per `windowSeconds` into GCRA parameters. */
export function gcraParams(quota: number, windowSeconds: number): GcraParams {
  const windowUs = windowSeconds * 1_000_000;
  // floor keeps q·T ≤ w (q fit in a burst) and, since w ≥ q·(q+1) µs for any sane policy, (q+1)·T > w.
  return { emissionUs: Math.floor(windowUs / quota), windowUs };
}

/** One policy's verdict for one request. */
export interface GcraVerdict {
  admitted: boolean;
  /** The TAT to store when the request is admitted and consumes (cost 1). */
  newTatUs: number;
}

/** Whether a request of `cost` (0 peeks, 1 consumes) fits under the policy at `nowUs`. */
export function gcraDecide(
  storedTatUs: number | undefined,
  nowUs: number,
  params: GcraParams,
  cost: number,
): GcraVerdict {
  const tat = storedTatUs === undefined || storedTatUs < nowUs ? nowUs : storedTatUs;
  const newTatUs = tat + params.emissionUs * cost;
  return { admitted: nowUs >= newTatUs - params.windowUs, newTatUs };
}

/** What the RateLimit field reports for one policy, from the TAT in force after the decision. */
export interface GcraState {
  /** Requests that would be admitted right now. */
  remaining: number;
  /** Until the whole quota is available again (RateLimit `t`). */
  resetUs: number;
  /** Until one request is admitted again (Retry-After); 0 when one would be now. */
  retryUs: number;
}

/** Reads the state of a key whose TAT is `tatUs` (or absent). */
export function gcraState(tatUs: number | undefined, nowUs: number, params: GcraParams): GcraState {
  const tat = tatUs === undefined || tatUs < nowUs ? nowUs : tatUs;
  const headroom = params.windowUs - (tat - nowUs);
  const remaining = Math.max(0, Math.floor(headroom / params.emissionUs));
  const nextAllowedAt = tat + params.emissionUs - params.windowUs;
  return { remaining, resetUs: tat - nowUs, retryUs: Math.max(0, nextAllowedAt - nowUs) };
}
