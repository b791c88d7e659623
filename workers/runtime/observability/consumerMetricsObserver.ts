import type { EngineObserver, PartitionSnapshot } from '../consumer/engineObserver.ts';
import type { ConsumerMetrics } from './metrics.ts';

/**
 * Turns engine events into the consumer metrics. Label children are cached per topic so a
 * message costs a few increments, not label hashing (the runtime's budget is about 1 µs).
 */
export function consumerMetricsObserver(metrics: ConsumerMetrics): EngineObserver {
  const byTopic = new Map<string, ReturnType<typeof topicInstruments>>();
  const forTopic = (topic: string) => {
    let found = byTopic.get(topic);
    if (!found) {
      found = topicInstruments(metrics, topic);
      byTopic.set(topic, found);
    }
    return found;
  };
  return {
    consumed: (topic, count) => forTopic(topic).consumed.inc(count),
    processed: (topic, outcome, handlerSeconds, endToEndSeconds) => {
      const i = forTopic(topic);
      if (outcome === 'success') i.success.inc();
      else metrics.messagesProcessed.inc({ topic, outcome });
      i.handler.observe(handlerSeconds);
      // A record timestamp in the future (producer clock skew) would be a negative latency.
      i.endToEnd.observe(Math.max(0, endToEndSeconds));
    },
    failed: (topic, errorClass) => metrics.messagesFailed.inc({ topic, error_class: errorClass }),
    retried: (topic) => forTopic(topic).retried.inc(),
    deadLettered: (topic, reason) => metrics.deadLetters.inc({ topic, reason }),
    rebalanced: (type) => metrics.rebalances.inc({ type }),
    committed: (seconds) => metrics.commitDuration.observe(seconds),
    // Pause gauges come from snapshots: a partition revoked while paused never reports "resumed".
    paused: () => undefined,
    resumed: () => undefined,
  };
}

function topicInstruments(metrics: ConsumerMetrics, topic: string) {
  return {
    consumed: metrics.messagesConsumed.labels(topic),
    success: metrics.messagesProcessed.labels(topic, 'success'),
    retried: metrics.messagesRetried.labels(topic),
    handler: metrics.handlerDuration.labels(topic),
    endToEnd: metrics.endToEndLatency.labels(topic),
  };
}

/** Reasons always exported (as 0 when nothing is paused for them), so alerts see a series. */
const knownPauseReasons = ['backpressure', 'breaker', 'dlq_cap', 'operator', 'draining'];

/**
 * Sets the per-partition gauges from the engine's snapshot, typically right before a scrape
 * (HealthServer's `beforeMetrics`). Series of partitions no longer assigned are removed, and an
 * unknown lag is left out rather than reported as 0.
 */
export class PartitionGaugeReporter {
  private readonly metrics: ConsumerMetrics;
  private reported = new Map<string, { topic: string; partition: string }>();

  constructor(metrics: ConsumerMetrics) {
    this.metrics = metrics;
  }

  report(snapshots: readonly PartitionSnapshot[]): void {
    const m = this.metrics;
    const current = new Map<string, { topic: string; partition: string }>();
    const pausedByReason = new Map<string, number>(knownPauseReasons.map((reason) => [reason, 0]));
    let inFlight = 0;
    for (const snapshot of snapshots) {
      const labels = { topic: snapshot.topic, partition: String(snapshot.partition) };
      current.set(`${labels.topic}\u0000${labels.partition}`, labels);
      m.queueDepth.set(labels, snapshot.unfinished);
      m.bufferedBytes.set(labels, snapshot.bufferedBytes);
      m.oldestUnfinishedAge.set(labels, snapshot.oldestUnfinishedAgeMs / 1000);
      if (snapshot.uncommitted === undefined) m.uncommitted.remove(labels);
      else m.uncommitted.set(labels, snapshot.uncommitted);
      if (snapshot.lag === undefined) m.lag.remove(labels);
      else m.lag.set(labels, snapshot.lag);
      for (const reason of snapshot.pausedFor)
        pausedByReason.set(reason, (pausedByReason.get(reason) ?? 0) + 1);
      inFlight += snapshot.inFlight;
    }
    for (const [id, labels] of this.reported) {
      if (current.has(id)) continue;
      m.queueDepth.remove(labels);
      m.bufferedBytes.remove(labels);
      m.oldestUnfinishedAge.remove(labels);
      m.uncommitted.remove(labels);
      m.lag.remove(labels);
    }
    this.reported = current;
    for (const [reason, count] of pausedByReason) m.pausedPartitions.set({ reason }, count);
    m.inFlight.set(inFlight);
    m.assignedPartitions.set(snapshots.length);
  }
}
