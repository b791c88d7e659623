/**
 * What a storm looked like over time, for its report and its PNG: every second, how many requests
 * had been answered and how many the database holds decided, and when each settler was killed.
 * The picture shows what the checks cannot: decisions stalling at a kill and catching up after it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { TimeSeriesChartSpec } from '../report/timeSeriesChart.ts';

/** One sample, `atSeconds` after the storm's load started. */
export interface StormTimelinePoint {
  atSeconds: number;
  /** Requests answered by the ingress so far (any status). */
  answered: number;
  /** Reservation requests in the database that are no longer pending. */
  decided: number;
}

/** A settler SIGKILL, `atSeconds` after the load started. */
export interface StormKill {
  atSeconds: number;
  victim: string;
}

/** The samples and kills of a run, as the JSON report stores them. */
export interface StormTimeline {
  points: StormTimelinePoint[];
  kills: StormKill[];
}

/** A running sampler: `markKill()` as kills happen, `stop()` once the checks may begin. */
export interface StormTimelineRecorder {
  markKill(victim: string): void;
  stop(): Promise<StormTimeline>;
}

/** Samples every `intervalMs` over its own read-only connection until stopped. */
export async function recordStormTimeline(options: {
  databaseUrl: string;
  answered: () => number;
  intervalMs?: number;
}): Promise<StormTimelineRecorder> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  const started = performance.now();
  const elapsed = () => Number(((performance.now() - started) / 1000).toFixed(2));
  const timeline: StormTimeline = { points: [], kills: [] };
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ decided: number }>(
        `SELECT count(*) FILTER (WHERE status <> 'pending')::int AS decided FROM fleet.reservation_requests`,
      );
      timeline.points.push({ atSeconds: elapsed(), answered: options.answered(), decided: rows[0]!.decided });
      await sleep(options.intervalMs ?? 1000);
    }
  })();
  // A failed sample ends the loop; stop() awaits it and throws that error. Until then this
  // handler only keeps the rejection from being reported as unhandled.
  loop.catch(() => undefined);
  return {
    markKill(victim) {
      timeline.kills.push({ atSeconds: elapsed(), victim });
    },
    async stop() {
      running = false;
      try {
        await loop;
      } finally {
        await client.end();
      }
      return timeline;
    },
  };
}

/**
 * The storm's picture: the settlers' decision rate and the requests answered but not yet decided,
 * a mark at each settler kill. The totals track each other too closely to show a kill; the rate
 * and the backlog do.
 */
export function stormChart(timeline: StormTimeline, subtitle: string): TimeSeriesChartSpec {
  const rate = timeline.points.slice(1).map((p, i) => {
    const before = timeline.points[i]!;
    return [p.atSeconds, (p.decided - before.decided) / (p.atSeconds - before.atSeconds)] as const;
  });
  return {
    title: 'Double-booking storm: settlement while settlers are killed',
    subtitle,
    xLabel: 'seconds since the load started',
    yLabel: 'requests',
    series: [
      { label: 'decided per second', color: '#1e6b1e', style: 'line', points: rate },
      {
        label: 'answered, not yet decided',
        color: '#c0392b',
        style: 'line',
        points: timeline.points.map((p) => [p.atSeconds, Math.max(0, p.answered - p.decided)] as const),
      },
    ],
    marks: timeline.kills.map((kill, i) => ({ label: `kill ${i + 1}`, x: kill.atSeconds, color: '#555' })),
  };
}
