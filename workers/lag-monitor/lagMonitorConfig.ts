import type { EnvReader } from '../runtime/config/envReader.ts';
import type { LagTrackerSettings } from './lagTracker.ts';

/** The lag monitor's own settings (the runtime's KAFKA_*, METRICS_*, LOG_LEVEL apply as well). */
export interface LagMonitorSettings extends LagTrackerSettings {
  /** LAG_POLL_INTERVAL_MS: time between polls; default 5000. */
  pollIntervalMs: number;
  /** LAG_GROUP_PATTERN: regular expression the monitored group ids match; default `^fleet\.(?!ops\.)`. */
  groupPattern: RegExp;
  /** LAG_ADMIN_TIMEOUT_MS: timeout of each admin request; default 5000. */
  adminTimeoutMs: number;
  /** LAG_STATUS_WINDOW: evaluations per Burrow window (and rate window); default 10. */
  statusWindow: number;
  /** LAG_TIMELINE_POINTS: log-end points kept per partition for time lag; default 720 (1 h of changes at 5 s). */
  timelinePoints: number;
  /** LAG_TARGET_DRAIN_SECONDS: a backlog should drain within this; default 30. */
  targetDrainSeconds: number;
  /** LAG_SCALE_WINDOW: evaluations whose max the autoscale signal holds before going down; default 12 (1 min). */
  scaleWindow: number;
  /** LAG_SCALE_DOWN_STEP: replicas the signal may drop per evaluation after that; default 1. */
  scaleDownStep: number;
  /** LAG_SCALE_TOLERANCE: dead band around the current replica count, as a fraction; default 0.1. */
  scaleTolerance: number;
  /** LAG_KEDA_LAG_THRESHOLD: KEDA's lagThreshold for the comparison signal; default 10 (KEDA's default). */
  kedaLagThreshold: number;
  /** LAG_OFFSET_RESET: where a group that never committed on a partition starts, earliest or latest; default earliest (the fleet's consumers). */
  offsetReset: 'earliest' | 'latest';
}

/** Default port of the lag monitor's /metrics, /healthz, /readyz and /v1/lag. */
export const lagMonitorDefaultPort = 9104;

/**
 * The default group pattern: every fleet consumer group, except the ops tools' own
 * (`fleet.ops.dlq-replay.*` keeps DLQ replay progress: its "lag" is dead letters not replayed).
 */
export const defaultGroupPattern = '^fleet\\.(?!ops\\.)';

/**
 * Reads the LAG_* variables with the process's reader; a bad regular expression is one of the
 * problems its `done()` reports.
 */
export function readLagMonitorSettings(reader: EnvReader): LagMonitorSettings {
  return {
    pollIntervalMs: reader.int('LAG_POLL_INTERVAL_MS', 5000, { min: 100, max: 600_000 }),
    groupPattern: readPattern(reader, 'LAG_GROUP_PATTERN', defaultGroupPattern),
    adminTimeoutMs: reader.int('LAG_ADMIN_TIMEOUT_MS', 5000, { min: 100, max: 120_000 }),
    statusWindow: reader.int('LAG_STATUS_WINDOW', 10, { min: 2, max: 1000 }),
    timelinePoints: reader.int('LAG_TIMELINE_POINTS', 720, { min: 2, max: 100_000 }),
    targetDrainSeconds: reader.number('LAG_TARGET_DRAIN_SECONDS', 30, { min: 0.1, max: 86_400 }),
    scaleWindow: reader.int('LAG_SCALE_WINDOW', 12, { min: 1, max: 1000 }),
    scaleDownStep: reader.int('LAG_SCALE_DOWN_STEP', 1, { min: 1, max: 10_000 }),
    scaleTolerance: reader.number('LAG_SCALE_TOLERANCE', 0.1, { min: 0, max: 0.9 }),
    kedaLagThreshold: reader.number('LAG_KEDA_LAG_THRESHOLD', 10, { min: 1, max: 1e12 }),
    offsetReset: reader.oneOf('LAG_OFFSET_RESET', ['earliest', 'latest'] as const, 'earliest'),
  };
}

/** A pattern matching exactly one group id. */
export function exactGroupPattern(groupId: string): RegExp {
  return new RegExp(`^${groupId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** A regular expression variable; a bad one becomes a problem and the fallback is used meanwhile. */
export function readPattern(reader: EnvReader, name: string, fallback: string): RegExp {
  const text = reader.string(name, fallback);
  try {
    return new RegExp(text);
  } catch (error) {
    reader.problem(name, text, `a valid regular expression (${(error as Error).message})`);
    return new RegExp(fallback);
  }
}
