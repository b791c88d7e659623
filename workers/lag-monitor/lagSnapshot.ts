import type { LagStatus } from './partitionStatus.ts';

/**
 * The JSON the lag monitor serves on GET /v1/lag and `ops lag --json` prints. `null` always means
 * unknown (a failed read, too little history), never zero; version 1 only ever gains fields.
 */
export interface LagSnapshot {
  version: 1;
  /** When the figures were read (ISO 8601). */
  at: string;
  /** The same instant, ms since epoch. */
  time: number;
  /** Whether the last poll reached Kafka; false leaves every figure null. */
  up: boolean;
  /** Why the last poll failed, when it did. */
  error: string | null;
  settings: SnapshotSettings;
  groups: GroupLag[];
  topics: TopicProduction[];
}

/** The settings the figures were computed with, so a reader can interpret them. */
export interface SnapshotSettings {
  pollIntervalMs: number;
  statusWindow: number;
  targetDrainSeconds: number;
  scaleWindow: number;
  kedaLagThreshold: number;
}

/** One consumer group. */
export interface GroupLag {
  group: string;
  state: string | null;
  members: number | null;
  /** Worst partition status. */
  status: LagStatus | null;
  /** Messages behind over every partition (one never committed counts from LAG_OFFSET_RESET); null when a read failed. */
  lag: number | null;
  /**
   * Oldest unconsumed record's age over the partitions whose age is known (max): a lower bound
   * when a lagging partition's age is unknown; null only when no lagging partition's age is known.
   */
  lagSeconds: number | null;
  topics: GroupTopicRates[];
  partitions: PartitionLag[];
  autoscale: GroupAutoscale;
  /** Reads that failed for this group or its topics in the last poll. */
  errors: string[];
}

/** Rates of one topic as one group sees it. */
export interface GroupTopicRates {
  topic: string;
  /** Committed-offset advance, msgs/s over the status window. */
  consumeRate: number | null;
  /** Log-end advance, msgs/s over the same window. */
  produceRate: number | null;
}

/** One partition of one group. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's committed offset; null when it never committed here (lag then counts from LAG_OFFSET_RESET). */
  committed: number | null;
  logEnd: number | null;
  lag: number | null;
  lagSeconds: number | null;
  status: LagStatus | null;
  ownedByLiveMember: boolean | null;
}

/** The autoscale signal of one group and what it was computed from. */
export interface GroupAutoscale {
  /** The smoothed signal (fleet_autoscale_desired_replicas). */
  desiredReplicas: number | null;
  /** This poll's recommendation before smoothing. */
  rawReplicas: number | null;
  /** KEDA's ceil(totalLag / lagThreshold) capped at the partition count, for comparison. */
  kedaReplicas: number | null;
  currentReplicas: number | null;
  partitionCount: number | null;
  /** Backlog ÷ consume rate over the partitions that count; null when unknown or nothing is consumed. */
  drainSeconds: number | null;
  /** Per-replica throughput used, msgs/s. */
  capacityPerReplica: number | null;
  reason: string | null;
  /** Partitions left out of the signal (STALL: more replicas cannot move them). */
  excluded: { topic: string; partition: number }[];
}

/** Production into one topic. */
export interface TopicProduction {
  topic: string;
  partitions: number | null;
  /** Log-end advance, msgs/s over the status window. */
  produceRate: number | null;
}
