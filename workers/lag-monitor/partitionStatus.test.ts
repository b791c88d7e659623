import { describe, expect, it } from 'vitest';
import {
  evaluatePartitionStatus,
  type PartitionStatusInput,
  type StatusSample,
  worstStatus,
} from './partitionStatus.ts';

/** Samples 1 s apart from `committed` and `lag` lists. */
function samples(committed: number[], lag: number[]): StatusSample[] {
  return committed.map((c, i) => ({ time: 10_000 + i * 1000, committed: c, lag: lag[i] ?? 0 }));
}

function judge(overrides: Partial<PartitionStatusInput> & { window: StatusSample[] }) {
  return evaluatePartitionStatus({
    windowSize: overrides.window.length,
    committedSince: overrides.window[0]?.time ?? 0,
    ownedByLiveMember: true,
    ...overrides,
  });
}

describe('evaluatePartitionStatus (Burrow rules)', () => {
  it('is unknown with fewer than two samples', () => {
    expect(judge({ window: samples([5], [3]) })).toBeUndefined();
  });

  it('STOP: lag, nobody owns the partition, and no commit for longer than the window spans', () => {
    const window = samples([5, 5, 5, 5], [3, 3, 3, 3]);
    // The commit happened 5 s before the window's last sample; the window spans 3 s.
    expect(judge({ window, committedSince: window[3]!.time - 5000, ownedByLiveMember: false })).toBe('STOP');
  });

  it('is not STOP while the commit is inside the window or the lag is zero', () => {
    const window = samples([5, 5, 5, 5], [3, 3, 3, 3]);
    expect(judge({ window, committedSince: window[1]!.time, ownedByLiveMember: false })).not.toBe('STOP');
    const caughtUp = samples([5, 5, 5, 5], [3, 3, 3, 0]);
    expect(judge({ window: caughtUp, committedSince: 0, ownedByLiveMember: false })).toBe('OK');
  });

  it('STALL, not STOP, when a live member owns it but its committed offset never moves', () => {
    const window = samples([5, 5, 5, 5], [3, 4, 6, 9]);
    expect(judge({ window, committedSince: 0, ownedByLiveMember: true })).toBe('STALL');
  });

  it('is never STALL without a live owner: that is STOP once the window slid past the commit', () => {
    const window = samples([5, 5, 5, 5], [3, 4, 6, 9]);
    expect(judge({ window, committedSince: window[0]!.time, ownedByLiveMember: false })).toBe('OK');
  });

  it('REWIND when the committed offset goes back', () => {
    expect(judge({ window: samples([10, 12, 4, 6], [5, 5, 9, 8]) })).toBe('REWIND');
  });

  it('WARN when offsets advance but the lag grows at every step', () => {
    expect(judge({ window: samples([10, 12, 14, 16], [5, 6, 6, 9]) })).toBe('WARN');
  });

  it('OK when the lag shrinks somewhere, or touches zero anywhere in the window', () => {
    expect(judge({ window: samples([10, 12, 14, 16], [5, 7, 6, 9]) })).toBe('OK');
    expect(judge({ window: samples([5, 5, 5, 5], [3, 0, 3, 3]) })).toBe('OK');
  });

  it('judges trends (STALL, WARN) only on a full window', () => {
    const window = samples([5, 5, 5], [3, 4, 6]);
    expect(judge({ window, windowSize: 10 })).toBe('OK');
    expect(judge({ window, windowSize: 3 })).toBe('STALL');
  });
});

describe('worstStatus', () => {
  it('takes the worst partition: STOP > STALL > REWIND > WARN > OK; unknown when none is known', () => {
    expect(worstStatus(['OK', 'WARN', 'OK'])).toBe('WARN');
    expect(worstStatus(['STALL', 'REWIND', 'STOP'])).toBe('STOP');
    expect(worstStatus(['REWIND', undefined, 'STALL'])).toBe('STALL');
    expect(worstStatus([undefined])).toBeUndefined();
    expect(worstStatus([])).toBeUndefined();
  });
});
