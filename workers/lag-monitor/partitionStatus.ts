/** Burrow-style consumer statuses, from healthy to worst. */
export const lagStatuses = ['OK', 'WARN', 'REWIND', 'STALL', 'STOP'] as const;
export type LagStatus = (typeof lagStatuses)[number];

/**
 * How bad a status is; a group takes its worst partition's. STOP (nobody consumes) outranks
 * STALL (a live consumer is stuck), which outranks REWIND (offsets moved back once) and WARN
 * (falling behind but moving). Also the value of the documented numeric status code.
 */
export const statusSeverity: Readonly<Record<LagStatus, number>> = Object.freeze({
  OK: 0,
  WARN: 1,
  REWIND: 2,
  STALL: 3,
  STOP: 4,
});

/** One evaluation of a partition: the committed offset and the lag (messages) at `time`. */
export interface StatusSample {
  time: number;
  committed: number;
  lag: number;
}

/** What a partition's status is judged on. */
export interface PartitionStatusInput {
  /** The last evaluations, oldest first; the last one is now. */
  window: readonly StatusSample[];
  /** The configured window length: trend statuses (STALL, WARN) need a full window. */
  windowSize: number;
  /** When the committed offset last changed (or was first seen), ms since epoch; may predate the window. */
  committedSince: number;
  /**
   * Whether a live member of the group owns the partition. The Admin API shows no commit
   * timestamps, so this is how a consumer stuck on a record (STALL: alive, not moving) is told
   * from one that is gone (STOP).
   */
  ownedByLiveMember: boolean;
}

/**
 * Judges a partition over its sliding window, in Burrow's order: STOP (lag > 0, no commit for
 * longer than the window spans, nobody owns it), REWIND (the committed offset went back), then —
 * only while lag never touched zero in the window — STALL (a live member owns the partition but its
 * committed offset never moved) and
 * WARN (it moved, but the lag grew at every step). Undefined (unknown) with fewer than two samples.
 */
export function evaluatePartitionStatus(input: PartitionStatusInput): LagStatus | undefined {
  const { window } = input;
  const first = window[0];
  const last = window[window.length - 1];
  if (first === undefined || last === undefined || window.length < 2) return undefined;
  const span = last.time - first.time;
  if (last.lag > 0 && !input.ownedByLiveMember && last.time - input.committedSince > span) return 'STOP';
  for (let i = 1; i < window.length; i++) {
    if (window[i]!.committed < window[i - 1]!.committed) return 'REWIND';
  }
  if (window.some((sample) => sample.lag === 0)) return 'OK';
  if (window.length < input.windowSize) return 'OK';
  // STALL is a live consumer that does not move; without one, STOP follows once the window slides.
  if (last.committed === first.committed) return input.ownedByLiveMember ? 'STALL' : 'OK';
  let lagNeverShrank = true;
  for (let i = 1; i < window.length; i++) {
    if (window[i]!.lag < window[i - 1]!.lag) lagNeverShrank = false;
  }
  if (lagNeverShrank && last.lag > first.lag) return 'WARN';
  return 'OK';
}

/** The worst of some statuses; undefined when none is known. */
export function worstStatus(statuses: Iterable<LagStatus | undefined>): LagStatus | undefined {
  let worst: LagStatus | undefined;
  for (const status of statuses) {
    if (status !== undefined && (worst === undefined || statusSeverity[status] > statusSeverity[worst])) {
      worst = status;
    }
  }
  return worst;
}
