/** The per-partition limits judged locally (no I/O). */
export interface PartitionCapLimits {
  /** Highest allowed dead letters / processed over the window. */
  maxRatio: number;
  /** Window length in processed messages (the last N outcomes). */
  ratioWindowMessages: number;
  /** Window length in ms; 0 means the window is bounded by count only. */
  ratioWindowMs: number;
  /** Messages in the window before the ratio is judged at all. */
  minMessages: number;
  /** Highest number of dead letters in a row. */
  maxConsecutive: number;
}

/** Why one more dead letter would break a per-partition cap. */
export interface PartitionCapBreach {
  cap: 'ratio' | 'consecutive';
  reason: string;
}

/**
 * The recent outcomes of one partition — a ring of the last `ratioWindowMessages` outcomes
 * (dead letter or not, with their time) plus the current run of dead letters — so both caps are
 * O(1) per message: the success path is on every message of the worker.
 */
export class PartitionDeadLetterWindow {
  private readonly limits: PartitionCapLimits;
  private readonly deadLetterFlags: Uint8Array;
  private readonly times: Float64Array | undefined;
  private next = 0;
  private size = 0;
  private deadLetters = 0;
  private consecutive = 0;
  /** Dead letters the local caps admitted whose shared-rate take is still in flight. */
  private pending = 0;

  constructor(limits: PartitionCapLimits) {
    this.limits = limits;
    this.deadLetterFlags = new Uint8Array(limits.ratioWindowMessages);
    // Times are only kept when the window is also bounded by age.
    this.times = limits.ratioWindowMs > 0 ? new Float64Array(limits.ratioWindowMessages) : undefined;
  }

  /** Records a processed message: a success (resets the run) or an admitted dead letter. */
  record(deadLettered: boolean, now: number): void {
    const capacity = this.deadLetterFlags.length;
    if (this.size === capacity) {
      this.deadLetters -= this.deadLetterFlags[this.next]!;
    } else {
      this.size += 1;
    }
    this.deadLetterFlags[this.next] = deadLettered ? 1 : 0;
    if (this.times) this.times[this.next] = now;
    this.next = (this.next + 1) % capacity;
    if (deadLettered) {
      this.deadLetters += 1;
      this.consecutive += 1;
    } else {
      this.consecutive = 0;
    }
  }

  /**
   * Holds a place for a dead letter the local caps admitted while its shared-rate take is in
   * flight, so a concurrent admit of the same partition counts it. Ends with `settleReserved`.
   */
  reserve(): void {
    this.pending += 1;
  }

  /** Ends a reservation: records the dead letter when the rate cap admitted it, forgets it otherwise. */
  settleReserved(admitted: boolean, now: number): void {
    if (this.pending === 0) return;
    this.pending -= 1;
    if (admitted) this.record(true, now);
  }

  /**
   * Whether one more dead letter now would break a cap (the dead letter itself is not recorded);
   * reserved dead letters count as recorded ones.
   */
  breachIfDeadLettered(now: number): PartitionCapBreach | undefined {
    const { maxConsecutive, maxRatio, minMessages } = this.limits;
    const added = this.pending + 1;
    if (this.consecutive + added > maxConsecutive) {
      return {
        cap: 'consecutive',
        reason: `${this.consecutive + added} dead letters in a row would exceed the limit of ${maxConsecutive}`,
      };
    }
    this.evictExpired(now);
    const capacity = this.deadLetterFlags.length;
    const evicted = Math.min(this.size, Math.max(0, this.size + added - capacity));
    const processed = Math.min(capacity, this.size + added);
    const deadLetters = this.deadLetters + Math.min(added, capacity) - this.deadLettersAmongOldest(evicted);
    if (processed < minMessages) return undefined;
    const ratio = deadLetters / processed;
    // The epsilon keeps exact limits (1/10 at 0.1) admitted despite floating-point noise.
    if (ratio > maxRatio + 1e-12) {
      return {
        cap: 'ratio',
        reason: `${deadLetters} dead letters in the last ${processed} messages (${ratio.toFixed(3)}) would exceed the ratio ${maxRatio}`,
      };
    }
    return undefined;
  }

  /** Dead letters and processed messages currently in the window, and the current run. */
  snapshot(now: number): { processed: number; deadLetters: number; consecutive: number } {
    this.evictExpired(now);
    return { processed: this.size, deadLetters: this.deadLetters, consecutive: this.consecutive };
  }

  /** Forgets every outcome (after a resume the partition starts with a clean slate); reservations in flight stay. */
  reset(): void {
    this.next = 0;
    this.size = 0;
    this.deadLetters = 0;
    this.consecutive = 0;
  }

  // Dead letters among the `count` oldest outcomes: those that `count` new outcomes would push out.
  private deadLettersAmongOldest(count: number): number {
    const capacity = this.deadLetterFlags.length;
    const oldest = (this.next - this.size + capacity) % capacity;
    let found = 0;
    for (let i = 0; i < count; i += 1) found += this.deadLetterFlags[(oldest + i) % capacity]!;
    return found;
  }

  private evictExpired(now: number): void {
    if (!this.times) return;
    const capacity = this.deadLetterFlags.length;
    const oldestAllowed = now - this.limits.ratioWindowMs;
    while (this.size > 0) {
      const oldest = (this.next - this.size + capacity) % capacity;
      if (this.times[oldest]! > oldestAllowed) break;
      this.deadLetters -= this.deadLetterFlags[oldest]!;
      this.size -= 1;
    }
  }
}
