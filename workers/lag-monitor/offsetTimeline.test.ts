import { describe, expect, it } from 'vitest';
import { appendLogEnd, estimateWriteTime, lagSeconds, type OffsetPoint } from './offsetTimeline.ts';

function timeline(points: [offset: number, time: number][]): OffsetPoint[] {
  return points.reduce<OffsetPoint[]>((t, [offset, time]) => appendLogEnd(t, { offset, time }, 100), []);
}

describe('appendLogEnd', () => {
  it('keeps a flat run as its first and last sighting', () => {
    const t = timeline([
      [10, 1000],
      [10, 2000],
      [10, 3000],
      [10, 4000],
      [20, 5000],
    ]);
    expect(t).toEqual([
      { offset: 10, time: 1000 },
      { offset: 10, time: 4000 },
      { offset: 20, time: 5000 },
    ]);
  });

  it('starts over when the log end goes back (the topic was recreated)', () => {
    expect(
      timeline([
        [100, 1000],
        [200, 2000],
        [5, 3000],
      ]),
    ).toEqual([{ offset: 5, time: 3000 }]);
  });

  it('keeps at most maxPoints, dropping the oldest', () => {
    let t: OffsetPoint[] = [];
    for (let i = 0; i < 10; i++) t = appendLogEnd(t, { offset: i * 10, time: i * 1000 }, 3);
    expect(t.map((p) => p.offset)).toEqual([70, 80, 90]);
  });

  it('ignores an observation that is not newer than the last', () => {
    const t = timeline([[10, 2000]]);
    expect(appendLogEnd(t, { offset: 15, time: 2000 }, 10)).toEqual(t);
  });
});

describe('estimateWriteTime (kafka-lag-exporter interpolation)', () => {
  const t = timeline([
    [0, 0],
    [100, 10_000],
    [300, 20_000],
  ]);

  it('interpolates t = t2 − (o2 − o)(t2 − t1)/(o2 − o1) between the bracketing points', () => {
    expect(estimateWriteTime(t, 50)).toBe(5000);
    expect(estimateWriteTime(t, 200)).toBe(15_000);
    expect(estimateWriteTime(t, 100)).toBe(10_000);
  });

  it('places a record written after an idle spell by the last idle sighting, not the first', () => {
    const idle = timeline([
      [100, 0],
      [100, 50_000],
      [110, 51_000],
    ]);
    expect(estimateWriteTime(idle, 105)).toBe(50_500);
  });

  it('extends the oldest rising segment below the timeline', () => {
    const later = timeline([
      [1000, 10_000],
      [2000, 20_000],
    ]);
    expect(estimateWriteTime(later, 500)).toBe(5000);
  });

  it('is unknown with fewer than two distinct offsets', () => {
    expect(estimateWriteTime(timeline([[100, 1000]]), 50)).toBeUndefined();
    expect(
      estimateWriteTime(
        timeline([
          [100, 1000],
          [100, 9000],
        ]),
        50,
      ),
    ).toBeUndefined();
    expect(estimateWriteTime([], 0)).toBeUndefined();
  });
});

describe('lagSeconds', () => {
  const t = timeline([
    [0, 0],
    [100, 10_000],
  ]);

  it('is now minus the interpolated write time of the first unconsumed record', () => {
    expect(lagSeconds(t, 40, 30_000)).toBe(26);
  });

  it('is 0 when caught up, also past the latest log end', () => {
    expect(lagSeconds(t, 100, 30_000)).toBe(0);
    expect(lagSeconds(t, 120, 30_000)).toBe(0);
  });

  it('is unknown — never 0 — when the timeline cannot place the record', () => {
    expect(lagSeconds([{ offset: 100, time: 0 }], 40, 30_000)).toBeUndefined();
    expect(lagSeconds([], 40, 30_000)).toBeUndefined();
  });

  it('never goes negative', () => {
    expect(lagSeconds(t, 99, 1000)).toBe(0);
  });
});
