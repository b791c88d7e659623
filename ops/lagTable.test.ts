import { describe, expect, it } from 'vitest';
import { LagTracker } from '../workers/lag-monitor/lagTracker.ts';
import { FakeCluster, testTrackerSettings } from '../workers/lag-monitor/testing/fakeCluster.ts';
import { formatLagTable } from './lagTable.ts';

describe('formatLagTable', () => {
  it('shows unknown figures as ? and never as 0', () => {
    const cluster = new FakeCluster({ partitions: 1 });
    cluster.logEnd[0] = 50;
    cluster.committed[0] = 10;
    const snapshot = new LagTracker(testTrackerSettings()).observe(cluster.sample());
    const [header, row] = formatLagTable(snapshot);
    expect(header?.split(/\s+/)).toEqual([
      'GROUP',
      'STATUS',
      'MEMBERS',
      'LAG',
      'LAG_S',
      'CONSUME/S',
      'PRODUCE/S',
      'DESIRED',
      'KEDA',
    ]);
    // One sample: no status, no time lag, no rates, no desired replicas yet; KEDA needs none (ceil(40/10) capped at 1 partition).
    expect(row?.split(/\s+/)).toEqual([cluster.group, '?', '1', '40', '?', '?', '?', '?', '1']);
  });

  it('says when Kafka could not be read and which partitions the signal leaves out', () => {
    const tracker = new LagTracker(testTrackerSettings());
    const cluster = new FakeCluster({ partitions: 1 });
    tracker.observe(cluster.sample());
    const failed = formatLagTable(tracker.failed('Local: Timed out', Date.now()));
    expect(failed[1]?.split(/\s+/)).toEqual([cluster.group, '?', '?', '?', '?', '?', '?', '?', '?']);
    expect(failed.at(-1)).toBe('Kafka could not be read: Local: Timed out');

    const withStall = new LagTracker(testTrackerSettings()).observe(cluster.sample());
    withStall.groups[0]!.autoscale.excluded = [{ topic: cluster.topic, partition: 0 }];
    expect(formatLagTable(withStall)).toContain(
      `${cluster.group}: left out of DESIRED (STALL): ${cluster.topic}/0`,
    );
  });
});
