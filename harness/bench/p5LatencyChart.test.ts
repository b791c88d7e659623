import { describe, expect, it } from 'vitest';
import type { DecidedSample } from './latencyTimeline.ts';
import { p5LatencyChart } from './p5LatencyChart.ts';

const decided = (sentAt: number, latencyMs: number): DecidedSample => ({
  sentAt,
  answeredAt: sentAt + 2,
  occurredAt: sentAt + 3,
  // Settled at the end of the CreateTime millisecond: 202 → settled is latencyMs.
  producedAt: sentAt + 1 + latencyMs,
});

describe('p5LatencyChart', () => {
  it('puts both phases on one clock from the first measured send, each with its per-bin p99', () => {
    const chart = p5LatencyChart({
      main: { rate: 500, decided: [decided(10_000, 12), decided(10_100, 30), decided(10_600, 7)] },
      diagnostic: { rate: 100, decided: [decided(14_000, 5)] },
      goalMs: 50,
      subtitle: 'run',
    });
    expect(chart.series.map((s) => [s.label, s.points])).toEqual([
      [
        'each request at 500 req/s',
        [
          [0, 12],
          [0.1, 30],
          [0.6, 7],
        ],
      ],
      [
        'p99 per 0.5 s at 500 req/s',
        [
          [0.25, 30],
          [0.75, 7],
        ],
      ],
      ['each request at 100 req/s', [[4, 5]]],
      ['p99 per 0.5 s at 100 req/s', [[4.25, 5]]],
    ]);
    expect(chart.rules).toEqual([{ label: 'goal: p99 ≤ 50 ms', y: 50, color: expect.any(String) }]);
  });
});
