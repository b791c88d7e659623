/**
 * The P5 report's picture: every decided request's 202 → settled latency against the time it was
 * sent, the p99 of each half second over it, and the goal. A steady queue and a few machine
 * stalls give the same p99 but look nothing alike here.
 */
import type { ChartSeries, TimeSeriesChartSpec } from '../report/timeSeriesChart.ts';
import { acceptedToSettledMs, type DecidedSample, latencyTimeline } from './latencyTimeline.ts';

/** One open-loop phase of P5 as the chart needs it. */
export interface P5ChartPhase {
  rate: number;
  decided: readonly DecidedSample[];
}

const binMs = 500;

/** The chart of the main phase and, after it on the same clock, the diagnostic phase if it ran. */
export function p5LatencyChart(options: {
  main: P5ChartPhase;
  diagnostic?: P5ChartPhase;
  goalMs: number;
  subtitle: string;
}): TimeSeriesChartSpec {
  const { main, diagnostic, goalMs } = options;
  const start = Math.min(...main.decided.map((s) => s.sentAt));
  const seconds = (ms: number) => (ms - start) / 1000;
  const phaseSeries = (phase: P5ChartPhase, dotColor: string, lineColor: string): ChartSeries[] => {
    const first = Math.min(...phase.decided.map((s) => s.sentAt));
    return [
      {
        label: `each request at ${phase.rate} req/s`,
        color: dotColor,
        style: 'dots',
        points: phase.decided.map((s) => [seconds(s.sentAt), acceptedToSettledMs(s)] as const),
      },
      {
        label: `p99 per ${binMs / 1000} s at ${phase.rate} req/s`,
        color: lineColor,
        style: 'line',
        points: latencyTimeline(phase.decided, binMs).map(
          (bin) => [seconds(first + bin.offsetMs + binMs / 2), bin.acceptedToSettledP99Ms] as const,
        ),
      },
    ];
  };
  return {
    title: `P5: 202 → settled (decision event produced), per request, at ${main.rate} req/s offered`,
    subtitle: options.subtitle,
    xLabel: 'seconds since the first measured request was sent',
    yLabel: 'latency (ms, log scale)',
    yScale: 'log',
    series: [
      ...phaseSeries(main, '#3b6fb6', '#c0392b'),
      ...(diagnostic && diagnostic.decided.length > 0 ? phaseSeries(diagnostic, '#7aa874', '#1e6b1e') : []),
    ],
    rules: [{ label: `goal: p99 ≤ ${goalMs} ms`, y: goalMs, color: '#d35400' }],
  };
}
