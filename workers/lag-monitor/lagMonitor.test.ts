import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthServer } from '../runtime/observability/healthServer.ts';
import { createLogger } from '../runtime/observability/logger.ts';
import { createMetricsRegistry, forbiddenLabelNames } from '../runtime/observability/metrics.ts';
import type { ClusterSample } from './clusterSample.ts';
import { LagApiServer } from './lagApiServer.ts';
import { LagReadError } from './lagErrors.ts';
import { createLagMetrics } from './lagMetrics.ts';
import { LagMonitor, type LagReader } from './lagMonitor.ts';
import type { LagSnapshot } from './lagSnapshot.ts';
import { LagTracker } from './lagTracker.ts';
import { FakeCluster, testTrackerSettings } from './testing/fakeCluster.ts';

/** A reader that serves the fake cluster, or fails while `down` is set. */
class ScriptedReader implements LagReader {
  down = false;
  /** While set, reads wait for it (a hung admin call). */
  hold: Promise<void> | undefined;
  readonly cluster: FakeCluster;
  constructor(cluster: FakeCluster) {
    this.cluster = cluster;
  }
  async read(): Promise<ClusterSample> {
    await this.hold;
    if (this.down)
      throw new LagReadError('could not list consumer groups: Local: Timed out', {
        code: -185,
        retriable: true,
      });
    return this.cluster.sample();
  }
}

const silent = createLogger({
  worker: 'lag-monitor-test',
  level: 'warn',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});

function setup() {
  const cluster = new FakeCluster({ partitions: 2 });
  const reader = new ScriptedReader(cluster);
  const registry = createMetricsRegistry({ worker: 'lag-monitor', collectDefaultMetrics: false });
  let now = 5_000_000;
  const monitor = new LagMonitor({
    reader,
    tracker: new LagTracker(testTrackerSettings()),
    metrics: createLagMetrics(registry),
    pollIntervalMs: 1000,
    stalePollMs: 5000,
    logger: silent,
    now: () => now,
  });
  return { cluster, reader, registry, monitor, advance: (ms: number) => (now += ms) };
}

/** Lines of the exposition whose metric name starts with `prefix`. */
async function series(registry: ReturnType<typeof setup>['registry'], prefix: string): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line.startsWith(prefix));
}

describe('LagMonitor', () => {
  it('publishes known figures and removes every series after a failed poll (unknown, never 0)', async () => {
    const { cluster, reader, registry, monitor } = setup();
    cluster.logEnd.splice(0, 2, 10, 20);
    cluster.committed.splice(0, 2, 5, 20);
    await monitor.pollOnce();
    cluster.logEnd.splice(0, 2, 30, 40);
    await monitor.pollOnce();
    expect(await series(registry, 'kafka_consumergroup_lag{')).toHaveLength(2);
    expect(await series(registry, 'fleet_autoscale_desired_replicas{')).toHaveLength(1);
    expect(await series(registry, 'fleet_lag_monitor_up')).toEqual([
      'fleet_lag_monitor_up{worker="lag-monitor"} 1',
    ]);
    expect(monitor.readiness().ok).toBe(true);

    reader.down = true;
    const failed = await monitor.pollOnce();
    expect(failed.up).toBe(false);
    for (const name of [
      'kafka_consumergroup_lag{',
      'kafka_consumergroup_lag_seconds{',
      'kafka_consumergroup_group_lag_seconds{',
      'fleet_lag_group_status{',
      'fleet_lag_partition_status{',
      'fleet_autoscale_desired_replicas{',
      'fleet_autoscale_keda_replicas{',
      'fleet_lag_consume_rate{',
      'fleet_lag_produce_rate{',
    ]) {
      expect(await series(registry, name), name).toEqual([]);
    }
    expect(await series(registry, 'fleet_lag_monitor_up')).toEqual([
      'fleet_lag_monitor_up{worker="lag-monitor"} 0',
    ]);
    expect(await series(registry, 'fleet_lag_poll_errors_total{stage="list_groups"')).toEqual([
      'fleet_lag_poll_errors_total{stage="list_groups",worker="lag-monitor"} 1',
    ]);
    expect(monitor.readiness()).toEqual({
      ok: false,
      reason: 'lag monitor cannot read Kafka: could not list consumer groups: Local: Timed out',
    });

    reader.down = false;
    await monitor.pollOnce();
    expect(await series(registry, 'kafka_consumergroup_lag{')).toHaveLength(2);
    // History survived the failure: the lagging partition's time lag is known on the first good poll.
    expect(await series(registry, 'kafka_consumergroup_lag_seconds{')).toHaveLength(2);
  });

  it('exports statuses one-hot and no label that names a key or an offset', async () => {
    const { registry, monitor } = setup();
    await monitor.pollOnce();
    await monitor.pollOnce();
    const groupStatus = await series(registry, 'fleet_lag_group_status{');
    expect(groupStatus).toHaveLength(5);
    expect(groupStatus.filter((line) => line.endsWith(' 1'))).toEqual([
      'fleet_lag_group_status{consumergroup="fleet.test-group",status="OK",worker="lag-monitor"} 1',
    ]);
    expect(forbiddenLabelNames(registry)).toEqual([]);
  });

  it('fails liveness when a poll hangs for longer than an interval plus the stale limit', async () => {
    const { reader, monitor, advance } = setup();
    let release: () => void = () => undefined;
    reader.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    monitor.start();
    advance(3000);
    expect(monitor.liveness()).toEqual({ ok: true });
    advance(4000);
    expect(monitor.liveness()).toEqual({ ok: false, reason: 'no lag poll finished for 7 s' });
    release();
    await monitor.stop();
  });
});

describe('LagApiServer', () => {
  const opened: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const server of opened.splice(0).reverse()) await server.stop();
  });

  it('serves /v1/lag itself and passes /metrics, /healthz and /readyz to the HealthServer', async () => {
    const registry = createMetricsRegistry({ worker: 'lag-monitor', collectDefaultMetrics: false });
    createLagMetrics(registry);
    const health = new HealthServer({ host: '127.0.0.1', port: 0, registry });
    health.addReadinessCheck('lag-poll', () => ({ ok: false, reason: 'no lag poll finished yet' }));
    opened.push(health);
    let snapshot: LagSnapshot | undefined;
    const api = new LagApiServer({
      host: '127.0.0.1',
      port: 0,
      healthPort: await health.start(),
      snapshot: () => snapshot,
    });
    opened.push(api);
    const base = `http://127.0.0.1:${await api.start()}`;

    const early = await fetch(`${base}/v1/lag`);
    expect(early.status).toBe(503);
    expect(early.headers.get('content-type')).toBe('application/problem+json');
    await early.body?.cancel();

    const cluster = new FakeCluster({ partitions: 1 });
    snapshot = new LagTracker(testTrackerSettings()).observe(cluster.sample());
    const lag = await fetch(`${base}/v1/lag`);
    expect(lag.status).toBe(200);
    expect(((await lag.json()) as LagSnapshot).groups[0]!.group).toBe(cluster.group);

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('fleet_lag_monitor_up');
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, reasons: ['no lag poll finished yet'] });
    const post = await fetch(`${base}/v1/lag`, { method: 'POST' });
    expect(post.status).toBe(405);
    await post.body?.cancel();
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    await missing.body?.cancel();
  });
});
