/**
 * A fixed-window budget of `limit` takes per `windowMs` in this process only: the fallback of
 * the shared dead-letter rate cap while Redis is unreachable (never unbounded, never blocking).
 */
export class LocalRateBudget {
  private readonly limit: number;
  private readonly windowMs: number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(limit: number, windowMs: number) {
    if (!(Number.isInteger(limit) && limit >= 0))
      throw new RangeError('limit must be a non-negative integer');
    if (!(windowMs > 0)) throw new RangeError('windowMs must be > 0');
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** Takes one unit when the current window has any left; false when it is spent. */
  tryTake(now: number): boolean {
    this.roll(now);
    if (this.used >= this.limit) return false;
    this.used += 1;
    return true;
  }

  /**
   * Counts a unit granted elsewhere (by the shared cap), so a switch to the fallback in the middle
   * of a window does not hand out a fresh budget on top of what this process already wrote.
   */
  recordExternalTake(now: number): void {
    this.roll(now);
    this.used += 1;
  }

  /** Units left in the current window. */
  remaining(now: number): number {
    this.roll(now);
    return Math.max(0, this.limit - this.used);
  }

  private roll(now: number): void {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
  }
}
