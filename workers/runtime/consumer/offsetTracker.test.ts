import { describe, expect, it } from 'vitest';
import { OffsetTracker } from './offsetTracker.ts';

describe('OffsetTracker', () => {
  it('commits nothing before anything was received', () => {
    expect(new OffsetTracker().committable()).toBeUndefined();
  });

  it('never passes the lowest unfinished offset when completions are out of order', () => {
    const tracker = new OffsetTracker();
    for (const offset of [10, 11, 12, 13]) tracker.received(offset);
    expect(tracker.committable()).toBe(10);
    tracker.finish(12);
    tracker.finish(11);
    expect(tracker.committable()).toBe(10);
    tracker.finish(10);
    expect(tracker.committable()).toBe(13);
    tracker.finish(13);
    expect(tracker.committable()).toBe(14);
    expect(tracker.unfinished()).toBe(0);
  });

  it('handles offset gaps from compaction or transaction markers', () => {
    const tracker = new OffsetTracker();
    for (const offset of [5, 9, 20]) tracker.received(offset);
    tracker.finish(9);
    tracker.finish(5);
    expect(tracker.committable()).toBe(20);
    tracker.finish(20);
    expect(tracker.committable()).toBe(21);
  });

  it('refuses offsets that go backwards', () => {
    const tracker = new OffsetTracker();
    tracker.received(7);
    expect(() => tracker.received(7)).toThrow(/must increase/);
  });

  it('ignores unknown and repeated completions', () => {
    const tracker = new OffsetTracker();
    tracker.received(1);
    tracker.received(2);
    tracker.finish(99);
    tracker.finish(2);
    tracker.finish(2);
    expect(tracker.unfinished()).toBe(1);
    expect(tracker.committable()).toBe(1);
  });

  it('stays correct across internal compaction with random completion order', () => {
    const tracker = new OffsetTracker();
    const total = 5000;
    for (let offset = 0; offset < total; offset++) tracker.received(offset);
    const order = Array.from({ length: total }, (_, i) => i).sort(() => Math.random() - 0.5);
    const done = new Set<number>();
    for (const offset of order) {
      tracker.finish(offset);
      done.add(offset);
      let expected = 0;
      while (done.has(expected)) expected++;
      expect(tracker.committable()).toBe(expected);
    }
    expect(tracker.unfinished()).toBe(0);
  });

  it('reports how long the lowest unfinished offset has blocked the watermark', () => {
    const tracker = new OffsetTracker();
    tracker.received(1, 1000);
    tracker.received(2, 1500);
    expect(tracker.oldestUnfinishedAgeMs(4000)).toBe(3000);
    tracker.finish(1, 5000);
    expect(tracker.oldestUnfinishedAgeMs(6000)).toBe(1000);
  });

  it('counts what it holds past the committable offset, finished or not, and drops it once the head finishes', () => {
    const tracker = new OffsetTracker();
    expect(tracker.uncommitted()).toBe(0);
    for (const offset of [10, 11, 12, 40]) tracker.received(offset);
    tracker.finish(11);
    tracker.finish(12);
    tracker.finish(40);
    // The head (10) blocks: everything after it is held although finished; the gap 13-39 costs nothing.
    expect(tracker.unfinished()).toBe(1);
    expect(tracker.uncommitted()).toBe(4);
    tracker.finish(10);
    expect(tracker.uncommitted()).toBe(0);
    expect(tracker.committable()).toBe(41);
  });
});
