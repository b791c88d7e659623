/**
 * The offsets of one partition that were handed to the runtime and are not yet committed.
 * Offsets arrive in increasing order (the broker delivers a partition in order, possibly
 * with gaps from compaction or transaction markers); they finish in any order. The
 * committable offset is the lowest unfinished one — or one past the last received when
 * everything is finished — so a commit never passes unfinished work.
 */
export class OffsetTracker {
  // Offsets in arrival order from `head`; `done` marks finished ones. Compacted lazily so
  // each offset costs O(1) amortised (no Array#shift on the hot path).
  private offsets: number[] = [];
  private finished: boolean[] = [];
  private head = 0;
  private lastReceived = -1;
  private finishedCount = 0;
  private readonly firstUnfinishedSince = new Map<number, number>();

  /** The offset to commit (the next one to consume on restart), or undefined when nothing was received. */
  committable(): number | undefined {
    if (this.head < this.offsets.length) return this.offsets[this.head];
    return this.lastReceived >= 0 ? this.lastReceived + 1 : undefined;
  }

  /** Records a received offset; throws when offsets go backwards (a bug or a missed reset). */
  received(offset: number, now = Date.now()): void {
    if (offset <= this.lastReceived) {
      throw new Error(
        `offset ${offset} received after ${this.lastReceived}: offsets must increase within a partition`,
      );
    }
    this.lastReceived = offset;
    this.offsets.push(offset);
    this.finished.push(false);
    if (this.head === this.offsets.length - 1) this.firstUnfinishedSince.set(offset, now);
  }

  /** Marks an offset finished (handled, dead-lettered or deliberately skipped). */
  finish(offset: number, now = Date.now()): void {
    const index = this.indexOf(offset);
    if (index < 0 || this.finished[index]) return;
    this.finished[index] = true;
    this.finishedCount++;
    if (index !== this.head) return;
    this.firstUnfinishedSince.delete(offset);
    while (this.head < this.offsets.length && this.finished[this.head]) {
      this.head++;
      this.finishedCount--;
    }
    if (this.head < this.offsets.length) this.firstUnfinishedSince.set(this.offsets[this.head]!, now);
    if (this.head > 1024 && this.head * 2 > this.offsets.length) {
      this.offsets = this.offsets.slice(this.head);
      this.finished = this.finished.slice(this.head);
      this.head = 0;
    }
  }

  /** The highest offset received so far (-1 before the first). */
  lastReceivedOffset(): number {
    return this.lastReceived;
  }

  /** Offsets received but not finished. */
  unfinished(): number {
    return this.offsets.length - this.head - this.finishedCount;
  }

  /**
   * Offsets received from the committable one on, finished or not: what the tracker holds for the
   * partition, and what its next owner would consume again. Counted in messages, not in offset
   * distance, so compaction gaps and transaction markers cost nothing.
   */
  uncommitted(): number {
    return this.offsets.length - this.head;
  }

  /** Milliseconds the lowest unfinished offset has been blocking the watermark (0 when none). */
  oldestUnfinishedAgeMs(now = Date.now()): number {
    if (this.head >= this.offsets.length) return 0;
    const since = this.firstUnfinishedSince.get(this.offsets[this.head]!);
    return since === undefined ? 0 : now - since;
  }

  // Binary search: offsets are strictly increasing.
  private indexOf(offset: number): number {
    let low = this.head;
    let high = this.offsets.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = this.offsets[mid]!;
      if (value === offset) return mid;
      if (value < offset) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }
}
