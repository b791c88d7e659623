import { describe, expect, it } from 'vitest';
import { acceptedToSettledMs, type DecidedSample, latencyTimeline } from './latencyTimeline.ts';

/** A request sent at `sentAt` whose legs took the given milliseconds (no read leg: a lazy watcher). */
function sample(
  sentAt: number,
  legs: [ingress: number, toDecision: number, toProduce: number, afterProduce?: number],
): DecidedSample {
  const answeredAt = sentAt + legs[0];
  const occurredAt = answeredAt + legs[1];
  const producedAt = occurredAt + legs[2];
  const read = legs[3] === undefined ? {} : { seenAt: producedAt + legs[3] };
  return { sentAt, answeredAt, occurredAt, producedAt, ...read };
}

describe('acceptedToSettledMs', () => {
  it('ends at the end of the CreateTime millisecond, so a truncated timestamp never flatters', () => {
    expect(acceptedToSettledMs({ sentAt: 0, answeredAt: 10.4, occurredAt: 12, producedAt: 15 })).toBeCloseTo(
      5.6,
    );
  });
});

describe('latencyTimeline', () => {
  it('bins by send time from the first request and keeps the slowest wait of each leg', () => {
    const bins = latencyTimeline(
      [
        sample(1_000, [3, 1, 2, 4]),
        sample(1_200, [9, 1, 1, 1]),
        sample(1_499, [1, 8, 1, 1]),
        // Nothing sent in [1500, 2000): that bin is left out.
        sample(2_100, [2, 2, 30, 5]),
      ],
      500,
    );
    expect(bins).toEqual([
      {
        offsetMs: 0,
        requests: 3,
        ingressMaxMs: 9,
        toDecisionMaxMs: 8,
        toProduceMaxMs: 2,
        afterProduceMaxMs: 4,
        acceptedToSettledP99Ms: 10,
        acceptedToSettledMaxMs: 10,
      },
      {
        offsetMs: 1_000,
        requests: 1,
        ingressMaxMs: 2,
        toDecisionMaxMs: 2,
        toProduceMaxMs: 30,
        afterProduceMaxMs: 5,
        acceptedToSettledP99Ms: 33,
        acceptedToSettledMaxMs: 33,
      },
    ]);
  });

  it('has no read leg without a live watcher', () => {
    const [bin] = latencyTimeline([sample(0, [1, 2, 3])], 500);
    expect(bin?.afterProduceMaxMs).toBeNaN();
    expect(bin?.acceptedToSettledMaxMs).toBe(6);
  });

  it('gives nothing for no samples and refuses a bin width that is not positive', () => {
    expect(latencyTimeline([], 500)).toEqual([]);
    expect(() => latencyTimeline([sample(0, [1, 1, 1, 1])], 0)).toThrow(/binMs must be positive/);
  });
});
