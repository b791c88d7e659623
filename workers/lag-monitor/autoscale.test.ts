import { describe, expect, it } from 'vitest';
import {
  type AutoscaleInputs,
  kedaReplicas,
  recommendReplicas,
  type ScaleSmoothing,
  smoothReplicas,
} from './autoscale.ts';

const base: AutoscaleInputs = {
  currentReplicas: 2,
  partitionCount: 12,
  lag: 0,
  consumeRate: 100,
  produceRate: 100,
  learnedCapacity: undefined,
  targetDrainSeconds: 30,
  busyDrainSeconds: 10,
  tolerance: 0.1,
};

describe('recommendReplicas', () => {
  it('is n × drain / target when nothing new arrives (the time-to-drain rule)', () => {
    // 2 replicas consume 100/s together; 6000 behind drains in 60 s; the target is 30 s.
    const decision = recommendReplicas({ ...base, lag: 6000, produceRate: 0 });
    expect(decision.drainSeconds).toBe(60);
    expect(decision.measuredCapacity).toBe(50);
    expect(decision.desired).toBe(4);
  });

  it('also counts arrivals: at produce = consume a backlog needs more than n × drain / target', () => {
    // need = (100 + 3000/30) / 50 = 4; n × drain / target would say 2 × 30/30 = 2 and never drain.
    expect(recommendReplicas({ ...base, lag: 3000 }).desired).toBe(4);
  });

  it('holds the current count within the tolerance band', () => {
    // need = (100 + 150/30) / 50 = 2.1: within 10 % of 2, so no rebalance for it.
    expect(recommendReplicas({ ...base, lag: 150, learnedCapacity: 50 }).desired).toBe(2);
    expect(recommendReplicas({ ...base, lag: 150, learnedCapacity: 50 }).reason).toBe('within-tolerance');
  });

  it('caps at the partition count and never goes below 1', () => {
    expect(recommendReplicas({ ...base, lag: 1_000_000, produceRate: 0 }).desired).toBe(12);
    expect(recommendReplicas({ ...base, lag: 0, produceRate: 0, learnedCapacity: 50 }).desired).toBe(1);
  });

  it('scales below the current count once a busy capacity is known', () => {
    // Caught up; 8 replicas once did 50/s each; 100/s arrive → 2 replicas are enough.
    const decision = recommendReplicas({ ...base, currentReplicas: 8, learnedCapacity: 50 });
    expect(decision.measuredCapacity).toBeUndefined();
    expect(decision.desired).toBe(2);
  });

  it('does not measure capacity when the backlog is shallow, and probes one replica down without a figure', () => {
    // Keeping up at 2 says 2 suffice, not that 2 are needed: one fewer is tried (the smoothing
    // paces it); a backlog that builds then keeps the replicas busy and measures the capacity.
    const decision = recommendReplicas({ ...base, lag: 50, heldReplicas: 2 });
    expect(decision.drainSeconds).toBe(0.5);
    expect(decision.measuredCapacity).toBeUndefined();
    expect(decision.reason).toBe('probe-down-unknown-capacity');
    expect(decision.desired).toBe(1);
    // Nothing published yet (a monitor that just started): the current count first.
    expect(recommendReplicas({ ...base, lag: 50 })).toMatchObject({
      desired: 2,
      reason: 'hold-unknown-capacity',
    });
    expect(recommendReplicas({ ...base, currentReplicas: 6, heldReplicas: 6 }).desired).toBe(5);
  });

  it('does not go down while partitions are stalled, but still goes up', () => {
    // Every counted partition idle (all others in STALL): no backlog, no arrivals to count.
    const idle = {
      ...base,
      currentReplicas: 8,
      heldReplicas: 8,
      consumeRate: 0,
      produceRate: 0,
      learnedCapacity: 50,
    };
    expect(recommendReplicas(idle)).toMatchObject({ desired: 1, reason: 'scale' });
    expect(recommendReplicas({ ...idle, stalled: true })).toMatchObject({
      desired: 8,
      reason: 'hold-while-stalled',
    });
    expect(recommendReplicas({ ...idle, stalled: true, learnedCapacity: undefined }).desired).toBe(8);
    // need = (0 + 6000/30) / 20 = 10 > 8: up as usual.
    expect(recommendReplicas({ ...idle, stalled: true, lag: 6000, learnedCapacity: 20 }).desired).toBe(10);
  });

  it('holds (at least 1) without any capacity figure instead of inventing one', () => {
    expect(recommendReplicas({ ...base, consumeRate: 0, lag: 500 }).desired).toBe(2);
    expect(recommendReplicas({ ...base, currentReplicas: 0, consumeRate: 0, lag: 500 }).desired).toBe(1);
  });

  it('starts a group with no members from the learned capacity', () => {
    // need = (0 + 3000/30) / 25 = 4
    const decision = recommendReplicas({
      ...base,
      currentReplicas: 0,
      consumeRate: 0,
      produceRate: 0,
      lag: 3000,
      learnedCapacity: 25,
    });
    expect(decision.drainSeconds).toBe(Number.POSITIVE_INFINITY);
    expect(decision.desired).toBe(4);
  });
});

describe('kedaReplicas', () => {
  it('is ceil(totalLag / lagThreshold) capped at the partition count', () => {
    expect(kedaReplicas(0, 10, 12)).toBe(0);
    expect(kedaReplicas(25, 10, 12)).toBe(3);
    expect(kedaReplicas(5000, 10, 12)).toBe(12);
  });
});

describe('smoothReplicas', () => {
  function run(raws: number[], window: number, downStep: number): number[] {
    let state: ScaleSmoothing = { recent: [], current: undefined };
    return raws.map((raw) => {
      const next = smoothReplicas(state, raw, window, downStep);
      state = next.state;
      return next.value;
    });
  }

  it('goes up at once', () => {
    expect(run([1, 1, 6], 3, 1)).toEqual([1, 1, 6]);
  });

  it('holds the window max, then steps down at most downStep per evaluation', () => {
    expect(run([6, 1, 1, 1, 1, 1, 1, 1, 1], 3, 2)).toEqual([6, 6, 6, 4, 2, 1, 1, 1, 1]);
  });

  it('ignores a single dip inside the window', () => {
    expect(run([4, 4, 1, 4, 4], 3, 1)).toEqual([4, 4, 4, 4, 4]);
  });
});
