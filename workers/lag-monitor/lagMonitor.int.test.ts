import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EnvReader } from '../runtime/config/envReader.ts';
import { loadStackEndpoints } from '../runtime/config/stackEndpoints.ts';
import { readKafkaClientSettings } from '../runtime/kafka/clientConfig.ts';
import { TestTopics } from '../runtime/kafka/testTopics.ts';
import { bootstrap, committedOffsets, produceRecords, waitUntil } from '../runtime/testing/kafkaTestKit.ts';
import { openKafkaAdmin } from './kafkaAdmin.ts';
import { KafkaLagReader } from './kafkaLagReader.ts';
import type { GroupLag, LagSnapshot } from './lagSnapshot.ts';
import type { RunningLagMonitor } from './startLagMonitor.ts';
import {
  closedPort,
  deleteGroups,
  metricLines,
  SteadyProducer,
  startTestMonitor,
  waitForSnapshot,
} from './testing/lagTestKit.ts';
import { TestGroupConsumer } from './testing/testGroupConsumer.ts';

const topics = new TestTopics(bootstrap);
const groups: string[] = [];
const cleanups: Array<() => Promise<void>> = [];

function newGroup(purpose: string): string {
  const group = `fleet.test-lag-${purpose}-${randomUUID().slice(0, 8)}`;
  groups.push(group);
  return group;
}

/** Registers something to close after the test, in reverse order. */
function closeLater<T extends { stop(): Promise<void> }>(resource: T): T {
  cleanups.push(() => resource.stop());
  return resource;
}

function groupOf(snapshot: LagSnapshot, group: string): GroupLag | undefined {
  return snapshot.groups.find((g) => g.group === group);
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await deleteGroups(bootstrap, groups);
  await topics.close();
});

describe('lag monitor against the real broker', () => {
  it('reports lag = N − K exactly after a real group consumed and committed K of N', async () => {
    const topic = await topics.create('lag-exact', 3);
    const group = newGroup('exact');
    await produceRecords(
      topic,
      Array.from({ length: 300 }, (_, i) => ({ key: `vehicle-${i % 17}`, value: `v${i}` })),
    );
    const consumer = closeLater(
      await TestGroupConsumer.start({ bootstrap, groupId: group, topic, commit: 'each', limit: 120 }),
    );
    await consumer.waitForHandled(120);
    await consumer.stop();
    await consumer.waitForCommitted(120);

    const monitor = closeLater(await startTestMonitor(group));
    const snapshot = await waitForSnapshot(monitor.port, (s) => groupOf(s, group)?.lag != null);
    const observed = groupOf(snapshot, group)!;
    expect(observed.lag).toBe(180);
    const committed = await committedOffsets(group, topic);
    expect([...committed.values()].reduce((sum, o) => sum + o, 0)).toBe(120);
    for (const partition of observed.partitions) {
      // A partition the group never committed on counts from its start (LAG_OFFSET_RESET=earliest).
      expect(partition.committed).toBe(committed.get(partition.partition) ?? null);
      expect(partition.lag).toBe((partition.logEnd ?? 0) - (committed.get(partition.partition) ?? 0));
    }
    const lines = await metricLines(monitor.port, `kafka_consumergroup_lag{consumergroup="${group}"`);
    expect(lines).toHaveLength(3);
    expect(lines.reduce((sum, line) => sum + Number(line.split(' ').pop()), 0)).toBe(180);
  });

  it('estimates lag seconds within ±2 s of the true age of the first unconsumed record under a steady producer', async () => {
    const topic = await topics.create('lag-seconds', 1);
    const group = newGroup('seconds');
    const monitor = closeLater(await startTestMonitor(group, { LAG_POLL_INTERVAL_MS: '250' }));
    // The consumer joins first, so the monitor follows the topic's log end from its first record.
    const consumer = closeLater(
      await TestGroupConsumer.start({ bootstrap, groupId: group, topic, commit: 'each', limit: 50 }),
    );
    await waitForSnapshot(monitor.port, (s) => (groupOf(s, group)?.members ?? 0) > 0);
    const producer = closeLater(new SteadyProducer(bootstrap));
    await producer.start(topic, [0], 25);
    await consumer.waitForHandled(50);
    // Let the backlog age a few seconds behind the committed offset 50.
    const snapshot = await waitForSnapshot(monitor.port, (s) => {
      const writtenAt = producer.writtenAt.get('0:50');
      return writtenAt !== undefined && s.time - writtenAt > 5000 && groupOf(s, group)?.lagSeconds != null;
    });
    const observed = groupOf(snapshot, group)!;
    const trueAge = (snapshot.time - producer.writtenAt.get('0:50')!) / 1000;
    expect(observed.partitions[0]!.committed).toBe(50);
    expect(Math.abs(observed.lagSeconds! - trueAge)).toBeLessThanOrEqual(2);
    const lines = await metricLines(
      monitor.port,
      `kafka_consumergroup_group_lag_seconds{consumergroup="${group}"`,
    );
    expect(lines).toHaveLength(1);
  });

  it('says STOP for a group whose consumer stopped with lag left', async () => {
    const topic = await topics.create('lag-stop', 2);
    const group = newGroup('stop');
    await produceRecords(
      topic,
      Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    const consumer = closeLater(
      await TestGroupConsumer.start({ bootstrap, groupId: group, topic, commit: 'each', limit: 40 }),
    );
    await consumer.waitForHandled(40);
    await consumer.stop();
    await consumer.waitForCommitted(40);
    const monitor = closeLater(await startTestMonitor(group, { LAG_POLL_INTERVAL_MS: '250' }));
    const snapshot = await waitForSnapshot(monitor.port, (s) => groupOf(s, group)?.status === 'STOP');
    expect(groupOf(snapshot, group)).toMatchObject({ members: 0, lag: 60, status: 'STOP' });
    const status = await metricLines(monitor.port, `fleet_lag_group_status{consumergroup="${group}"`);
    expect(status.filter((line) => line.endsWith(' 1'))).toEqual([
      `fleet_lag_group_status{consumergroup="${group}",status="STOP",worker="lag-monitor"} 1`,
    ]);
  });

  it('marks a partition whose live consumer never commits STALL, leaves it out of the autoscale signal and holds it', async () => {
    const topic = await topics.create('lag-stall', 3);
    const group = newGroup('stall');
    // A backlog on partition 0 that the consumer reads but stops committing at offset 10 (stuck behind a record).
    await produceRecords(
      topic,
      Array.from({ length: 3000 }, (_, i) => ({ key: null, value: `p0-${i}`, partition: 0 })),
    );
    closeLater(
      await TestGroupConsumer.start({
        bootstrap,
        groupId: group,
        topic,
        commit: 'each',
        stuckAt: { partition: 0, offset: 10 },
      }),
    );
    const producer = closeLater(new SteadyProducer(bootstrap));
    await producer.start(topic, [1, 2], 25);
    const monitor = closeLater(await startTestMonitor(group, { LAG_TARGET_DRAIN_SECONDS: '5' }));
    const snapshot = await waitForSnapshot(monitor.port, (s) => {
      const g = groupOf(s, group);
      return g?.partitions[0]?.status === 'STALL' && g.autoscale.desiredReplicas !== null;
    });
    const observed = groupOf(snapshot, group)!;
    expect(observed.status).toBe('STALL');
    expect(observed.partitions[0]).toMatchObject({ committed: 10, lag: 2990, ownedByLiveMember: true });
    expect(observed.autoscale.excluded).toEqual([{ topic, partition: 0 }]);
    // KEDA's rule counts the stuck backlog and would scale to every partition for nothing.
    expect(observed.autoscale.kedaReplicas).toBe(3);
    // The stuck backlog no longer raises the signal, and while it stalls the signal does not go
    // down either: those records need the replicas once the partition moves again.
    const held = observed.autoscale.desiredReplicas!;
    const seen: LagSnapshot[] = [];
    await waitForSnapshot(monitor.port, () => seen.length >= 20, { seen });
    const during = seen.map((s) => groupOf(s, group)).filter((g) => g?.partitions[0]?.status === 'STALL');
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((g) => (g?.autoscale.desiredReplicas ?? 0) >= held)).toBe(true);
    expect(during.every((g) => (g?.autoscale.desiredReplicas ?? 0) <= 3)).toBe(true);
  });

  it("reads each live member's own assignment, which the capacity per replica is divided by", async () => {
    const topic = await topics.create('lag-assignments', 2);
    const group = newGroup('assignments');
    for (let i = 0; i < 2; i++) {
      closeLater(await TestGroupConsumer.start({ bootstrap, groupId: group, topic, commit: 'each' }));
    }
    const admin = await openKafkaAdmin(
      readKafkaClientSettings(new EnvReader({}), loadStackEndpoints(), 'lag-assignments-test'),
    );
    cleanups.push(() => admin.disconnect());
    const reader = new KafkaLagReader({ admin, groupPattern: new RegExp(`^${group}$`), timeoutMs: 5000 });
    let assignments: string[][] = [];
    await waitUntil(
      async () => {
        const observed = (await reader.read()).groups.find((g) => g.groupId === group);
        assignments = (observed?.assignments ?? []).map((owned) => [...owned].sort());
        return assignments.length === 2 && assignments.every((owned) => owned.length === 1);
      },
      30_000,
      `both members of ${group} to own one partition each`,
    );
    expect(assignments.flat().sort()).toEqual([`${topic}:0`, `${topic}:1`]);
  });

  it('raises the autoscale signal with a backlog, lowers it after the drain, never above the partition count', async () => {
    const topic = await topics.create('lag-scale', 4);
    const group = newGroup('scale');
    const consumer = closeLater(
      await TestGroupConsumer.start({ bootstrap, groupId: group, topic, commit: 'auto' }),
    );
    consumer.delayMs = 5;
    const monitor = closeLater(
      await startTestMonitor(group, { LAG_TARGET_DRAIN_SECONDS: '2', LAG_SCALE_WINDOW: '2' }),
    );
    const seen: LagSnapshot[] = [];
    await waitForSnapshot(monitor.port, (s) => groupOf(s, group)?.autoscale.desiredReplicas === 1, { seen });
    await produceRecords(
      topic,
      Array.from({ length: 4000 }, (_, i) => ({ key: null, value: `b${i}`, partition: i % 4 })),
    );
    await waitForSnapshot(monitor.port, (s) => groupOf(s, group)?.autoscale.desiredReplicas === 4, { seen });
    consumer.delayMs = 0;
    await waitForSnapshot(
      monitor.port,
      (s) => groupOf(s, group)?.lag === 0 && groupOf(s, group)?.autoscale.desiredReplicas === 1,
      { seen },
    );
    const signal = seen.map((s) => groupOf(s, group)?.autoscale.desiredReplicas ?? null);
    expect(signal.every((value) => value === null || value <= 4)).toBe(true);
    expect(signal.indexOf(4)).toBeGreaterThan(signal.indexOf(1));
    expect(signal.lastIndexOf(1)).toBeGreaterThan(signal.lastIndexOf(4));
  });

  it('reports the signal unknown — absent, never 0 — while the broker is unreachable', async () => {
    const group = newGroup('unreachable');
    groups.pop(); // never created on the real broker
    const monitor: RunningLagMonitor = closeLater(
      await startTestMonitor(group, {
        KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${await closedPort()}`,
        LAG_ADMIN_TIMEOUT_MS: '300',
        LAG_POLL_INTERVAL_MS: '200',
      }),
    );
    const snapshot = await waitForSnapshot(monitor.port, (s) => !s.up);
    expect(snapshot.groups).toEqual([]);
    expect(snapshot.error).toMatch(/timed out/i);
    expect(await metricLines(monitor.port, 'fleet_lag_monitor_up')).toEqual([
      'fleet_lag_monitor_up{worker="lag-monitor"} 0',
    ]);
    expect(await metricLines(monitor.port, 'fleet_autoscale_desired_replicas')).toEqual([]);
    expect(await metricLines(monitor.port, 'kafka_consumergroup_lag')).toEqual([]);
    const errors = await metricLines(monitor.port, 'fleet_lag_poll_errors_total{stage="list_groups"');
    expect(Number(errors[0]?.split(' ').pop())).toBeGreaterThan(0);
    const ready = await fetch(`http://127.0.0.1:${monitor.port}/readyz`);
    expect(ready.status).toBe(503);
    await ready.body?.cancel();
  });
});
