import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type PollStage, pollStages } from './clusterSample.ts';
import type { LagSnapshot } from './lagSnapshot.ts';
import { lagStatuses } from './partitionStatus.ts';

/** The lag monitor's metrics (docs/lag-monitor.md). Labels: group, topic, partition, status, stage — never a key or offset. */
export interface LagMetrics {
  lag: Gauge<'consumergroup' | 'topic' | 'partition'>;
  lagSum: Gauge<'consumergroup' | 'topic'>;
  lagSeconds: Gauge<'consumergroup' | 'topic' | 'partition'>;
  groupLagSeconds: Gauge<'consumergroup'>;
  members: Gauge<'consumergroup'>;
  consumeRate: Gauge<'consumergroup' | 'topic'>;
  produceRate: Gauge<'topic'>;
  partitionStatus: Gauge<'consumergroup' | 'topic' | 'partition' | 'status'>;
  groupStatus: Gauge<'consumergroup' | 'status'>;
  desiredReplicas: Gauge<'consumergroup'>;
  kedaReplicas: Gauge<'consumergroup'>;
  up: Gauge<string>;
  pollErrors: Counter<'stage'>;
  pollDuration: Histogram<string>;
}

/** Registers the lag monitor's metrics in the process registry. */
export function createLagMetrics(registry: Registry): LagMetrics {
  const registers = [registry];
  const group = ['consumergroup'] as const;
  const groupTopic = ['consumergroup', 'topic'] as const;
  const groupPartition = ['consumergroup', 'topic', 'partition'] as const;
  const metrics: LagMetrics = {
    lag: new Gauge({
      name: 'kafka_consumergroup_lag',
      help: 'Messages between the committed offset and the log end, per partition.',
      labelNames: groupPartition,
      registers,
    }),
    lagSum: new Gauge({
      name: 'kafka_consumergroup_lag_sum',
      help: 'Messages behind, summed over the partitions of a topic.',
      labelNames: groupTopic,
      registers,
    }),
    lagSeconds: new Gauge({
      name: 'kafka_consumergroup_lag_seconds',
      help: 'Age of the first unconsumed record, interpolated from the log-end history (0 when caught up).',
      labelNames: groupPartition,
      registers,
    }),
    groupLagSeconds: new Gauge({
      name: 'kafka_consumergroup_group_lag_seconds',
      help: 'Largest partition lag in seconds of the group.',
      labelNames: group,
      registers,
    }),
    members: new Gauge({
      name: 'kafka_consumergroup_members',
      help: 'Live members of the group.',
      labelNames: group,
      registers,
    }),
    consumeRate: new Gauge({
      name: 'fleet_lag_consume_rate',
      help: 'Committed-offset advance in messages per second over the status window.',
      labelNames: groupTopic,
      registers,
    }),
    produceRate: new Gauge({
      name: 'fleet_lag_produce_rate',
      help: 'Log-end advance in messages per second over the status window.',
      labelNames: ['topic'],
      registers,
    }),
    partitionStatus: new Gauge({
      name: 'fleet_lag_partition_status',
      help: 'Burrow-style partition status, one-hot: 1 for the current status (OK, WARN, REWIND, STALL, STOP), else 0.',
      labelNames: [...groupPartition, 'status'],
      registers,
    }),
    groupStatus: new Gauge({
      name: 'fleet_lag_group_status',
      help: "Group status (its worst partition's), one-hot over OK, WARN, REWIND, STALL, STOP.",
      labelNames: [...group, 'status'],
      registers,
    }),
    desiredReplicas: new Gauge({
      name: 'fleet_autoscale_desired_replicas',
      help: 'Replicas that drain the backlog within the target at the observed throughput, smoothed, STALL partitions left out.',
      labelNames: group,
      registers,
    }),
    kedaReplicas: new Gauge({
      name: 'fleet_autoscale_keda_replicas',
      help: "KEDA's ceil(totalLag / lagThreshold) capped at the partition count, for comparison.",
      labelNames: group,
      registers,
    }),
    up: new Gauge({
      name: 'fleet_lag_monitor_up',
      help: 'Whether the last poll reached Kafka (1) or not (0).',
      registers,
    }),
    pollErrors: new Counter({
      name: 'fleet_lag_poll_errors_total',
      help: 'Admin reads that failed, by stage (list_groups, describe_groups, fetch_offsets, topic_offsets), per group or topic left unknown.',
      labelNames: ['stage'],
      registers,
    }),
    pollDuration: new Histogram({
      name: 'fleet_lag_poll_duration_seconds',
      help: 'Time one poll of the cluster took.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
  metrics.up.set(0);
  // Every stage's series exists from the start, so rate() sees the first error.
  for (const stage of pollStages) metrics.pollErrors.inc({ stage }, 0);
  return metrics;
}

/** Counts failed reads by stage. */
export function countPollErrors(metrics: LagMetrics, stages: readonly PollStage[]): void {
  for (const stage of stages) metrics.pollErrors.inc({ stage });
}

/**
 * Makes the gauges say what the snapshot says: every series is removed first, then only known
 * figures are set, so an unknown value is an absent series (never a stale one, never 0).
 */
export function publishSnapshot(metrics: LagMetrics, snapshot: LagSnapshot): void {
  const gauges = [
    metrics.lag,
    metrics.lagSum,
    metrics.lagSeconds,
    metrics.groupLagSeconds,
    metrics.members,
    metrics.consumeRate,
    metrics.produceRate,
    metrics.partitionStatus,
    metrics.groupStatus,
    metrics.desiredReplicas,
    metrics.kedaReplicas,
  ];
  for (const gauge of gauges) gauge.reset();
  metrics.up.set(snapshot.up ? 1 : 0);
  if (!snapshot.up) return;
  for (const topic of snapshot.topics) {
    if (topic.produceRate !== null) metrics.produceRate.set({ topic: topic.topic }, topic.produceRate);
  }
  for (const group of snapshot.groups) {
    const consumergroup = group.group;
    if (group.members !== null) metrics.members.set({ consumergroup }, group.members);
    if (group.lagSeconds !== null) metrics.groupLagSeconds.set({ consumergroup }, group.lagSeconds);
    if (group.status !== null) {
      for (const status of lagStatuses) {
        metrics.groupStatus.set({ consumergroup, status }, status === group.status ? 1 : 0);
      }
    }
    const { desiredReplicas, kedaReplicas } = group.autoscale;
    if (desiredReplicas !== null) metrics.desiredReplicas.set({ consumergroup }, desiredReplicas);
    if (kedaReplicas !== null) metrics.kedaReplicas.set({ consumergroup }, kedaReplicas);
    for (const rates of group.topics) {
      if (rates.consumeRate !== null) {
        metrics.consumeRate.set({ consumergroup, topic: rates.topic }, rates.consumeRate);
      }
    }
    const topicSums = new Map<string, number | null>();
    for (const p of group.partitions) {
      const labels = { consumergroup, topic: p.topic, partition: String(p.partition) };
      if (p.lag !== null) metrics.lag.set(labels, p.lag);
      if (p.lagSeconds !== null) metrics.lagSeconds.set(labels, p.lagSeconds);
      if (p.status !== null) {
        for (const status of lagStatuses) {
          metrics.partitionStatus.set({ ...labels, status }, status === p.status ? 1 : 0);
        }
      }
      // A topic sum over partly unknown partitions would under-report: leave it out instead.
      const sum = topicSums.get(p.topic);
      topicSums.set(p.topic, p.lag === null || sum === null ? null : (sum ?? 0) + p.lag);
    }
    for (const [topic, sum] of topicSums) {
      if (sum !== null) metrics.lagSum.set({ consumergroup, topic }, sum);
    }
  }
}
