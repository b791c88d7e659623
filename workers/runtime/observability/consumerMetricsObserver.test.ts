import { describe, expect, it } from 'vitest';
import type { PartitionSnapshot } from '../consumer/engineObserver.ts';
import { consumerMetricsObserver, PartitionGaugeReporter } from './consumerMetricsObserver.ts';
import { createConsumerMetrics, createMetricsRegistry } from './metrics.ts';

function setup() {
  const registry = createMetricsRegistry({ worker: 'w', collectDefaultMetrics: false });
  return { registry, metrics: createConsumerMetrics(registry) };
}

function snapshot(partial: Partial<PartitionSnapshot> & { partition: number }): PartitionSnapshot {
  return {
    topic: 'fleet.x.v1',
    epoch: 1,
    unfinished: 0,
    bufferedBytes: 0,
    queued: 0,
    inFlight: 0,
    committed: undefined,
    committable: undefined,
    pausedFor: [],
    oldestUnfinishedAgeMs: 0,
    lag: undefined,
    ...partial,
  };
}

describe('consumerMetricsObserver', () => {
  it('maps engine events onto the contract metrics', async () => {
    const { registry, metrics } = setup();
    const observer = consumerMetricsObserver(metrics);
    observer.consumed('t', 5);
    observer.processed('t', 'success', 0.002, 0.04);
    observer.processed('t', 'dead_lettered', 0.001, -0.5);
    observer.failed('t', 'PermanentError');
    observer.retried('t');
    observer.deadLettered('t', 'PERMANENT');
    observer.rebalanced('assign', 3);
    observer.committed(0.004, 3);
    const text = await registry.metrics();
    expect(text).toContain('fleet_consumer_messages_consumed_total{topic="t",worker="w"} 5');
    expect(text).toContain(
      'fleet_consumer_messages_processed_total{topic="t",outcome="success",worker="w"} 1',
    );
    expect(text).toContain(
      'fleet_consumer_messages_failed_total{topic="t",error_class="PermanentError",worker="w"} 1',
    );
    expect(text).toContain('fleet_consumer_messages_retried_total{topic="t",worker="w"} 1');
    expect(text).toContain('fleet_consumer_dead_letters_total{topic="t",reason="PERMANENT",worker="w"} 1');
    expect(text).toContain('fleet_consumer_rebalances_total{type="assign",worker="w"} 1');
    expect(text).toContain('fleet_consumer_commit_duration_seconds_count{worker="w"} 1');
    // The clock-skewed negative latency is clamped into the lowest bucket.
    expect(text).toContain(
      'fleet_consumer_end_to_end_latency_seconds_bucket{le="0.005",worker="w",topic="t"} 1',
    );
    expect(text).toContain(
      'fleet_consumer_end_to_end_latency_seconds_bucket{le="0.05",worker="w",topic="t"} 2',
    );
  });
});

describe('PartitionGaugeReporter', () => {
  it('sets per-partition gauges, counts pauses by reason and drops revoked partitions', async () => {
    const { registry, metrics } = setup();
    const reporter = new PartitionGaugeReporter(metrics);
    reporter.report([
      snapshot({
        partition: 0,
        unfinished: 4,
        bufferedBytes: 400,
        inFlight: 2,
        lag: 10,
        oldestUnfinishedAgeMs: 1500,
        uncommitted: 37,
      }),
      snapshot({ partition: 1, pausedFor: ['breaker', 'backpressure'], inFlight: 1 }),
    ]);
    let text = await registry.metrics();
    expect(text).toContain('fleet_consumer_queue_depth{topic="fleet.x.v1",partition="0",worker="w"} 4');
    expect(text).toContain('fleet_consumer_buffered_bytes{topic="fleet.x.v1",partition="0",worker="w"} 400');
    expect(text).toContain('fleet_consumer_lag{topic="fleet.x.v1",partition="0",worker="w"} 10');
    expect(text).not.toContain('fleet_consumer_lag{topic="fleet.x.v1",partition="1"');
    expect(text).toContain(
      'fleet_consumer_oldest_unfinished_age_seconds{topic="fleet.x.v1",partition="0",worker="w"} 1.5',
    );
    expect(text).toContain(
      'fleet_consumer_uncommitted_messages{topic="fleet.x.v1",partition="0",worker="w"} 37',
    );
    expect(text).not.toContain('fleet_consumer_uncommitted_messages{topic="fleet.x.v1",partition="1"');
    expect(text).toContain('fleet_consumer_paused_partitions{reason="breaker",worker="w"} 1');
    expect(text).toContain('fleet_consumer_paused_partitions{reason="dlq_cap",worker="w"} 0');
    expect(text).toContain('fleet_consumer_in_flight{worker="w"} 3');
    expect(text).toContain('fleet_consumer_assigned_partitions{worker="w"} 2');

    reporter.report([snapshot({ partition: 1 })]);
    text = await registry.metrics();
    expect(text).not.toContain('partition="0"');
    expect(text).toContain('fleet_consumer_paused_partitions{reason="breaker",worker="w"} 0');
    expect(text).toContain('fleet_consumer_assigned_partitions{worker="w"} 1');
  });
});
