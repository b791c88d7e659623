import type { Registry } from 'prom-client';
import type { LogLevel, ResilienceLogger } from './resilienceLogger.ts';

/** A clock the test moves by hand. */
export function fakeClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** A logger that keeps its lines for assertions. */
export function recordingLogger(): {
  logger: ResilienceLogger;
  lines: { level: LogLevel; msg: string; fields: Record<string, unknown> }[];
} {
  const lines: { level: LogLevel; msg: string; fields: Record<string, unknown> }[] = [];
  return { logger: (level, msg, fields = {}) => void lines.push({ level, msg, fields }), lines };
}

/** The value of one series of a metric, or undefined when the series does not exist. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match?.value;
}
