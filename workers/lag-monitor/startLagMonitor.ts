import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import { EnvReader } from '../runtime/config/envReader.ts';
import { readStackEndpoints } from '../runtime/config/stackEndpoints.ts';
import { readKafkaClientSettings } from '../runtime/kafka/clientConfig.ts';
import { HealthServer, readHealthServerSettings } from '../runtime/observability/healthServer.ts';
import { createLogger, type Logger, readLogLevel } from '../runtime/observability/logger.ts';
import { createMetricsRegistry } from '../runtime/observability/metrics.ts';
import { CleanupStack } from '../runtime/worker/cleanupStack.ts';
import { openKafkaAdmin } from './kafkaAdmin.ts';
import { KafkaLagReader } from './kafkaLagReader.ts';
import { LagApiServer } from './lagApiServer.ts';
import { createLagMetrics } from './lagMetrics.ts';
import { LagMonitor } from './lagMonitor.ts';
import { lagMonitorDefaultPort, readLagMonitorSettings } from './lagMonitorConfig.ts';
import { LagTracker } from './lagTracker.ts';

/** The worker name: logs, the `worker` metric label, the Kafka client id. */
export const lagMonitorName = 'lag-monitor';

/** A started lag monitor process. */
export interface RunningLagMonitor {
  monitor: LagMonitor;
  /** Port of /metrics, /healthz, /readyz and /v1/lag. */
  port: number;
  logger: Logger;
  registry: Registry;
  /** Stops polling and closes everything in reverse order of opening; idempotent. */
  stop(): Promise<void>;
}

/**
 * Assembles the lag monitor from the runtime's building blocks — one validated config, logger,
 * registry, HealthServer — plus its own admin reader, tracker, poll loop and /v1/lag route.
 * It consumes no topic: it only reads offsets through the Admin API.
 */
export async function startLagMonitor(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: { logDestination?: DestinationStream } = {},
): Promise<RunningLagMonitor> {
  const reader = new EnvReader(env);
  const endpoints = readStackEndpoints(reader);
  const clientSettings = readKafkaClientSettings(reader, endpoints, lagMonitorName);
  const healthSettings = readHealthServerSettings(reader, lagMonitorDefaultPort);
  const settings = readLagMonitorSettings(reader);
  const level = readLogLevel(reader);
  reader.done();

  const logger = createLogger({
    worker: lagMonitorName,
    level,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const registry = createMetricsRegistry({ worker: lagMonitorName });
  const metrics = createLagMetrics(registry);
  const cleanups = new CleanupStack((error) => logger.error({ err: error.message }, 'cleanup step failed'));

  try {
    const admin = await openKafkaAdmin(clientSettings, logger);
    cleanups.push(() => admin.disconnect());
    const monitor = new LagMonitor({
      reader: new KafkaLagReader({
        admin,
        groupPattern: settings.groupPattern,
        timeoutMs: settings.adminTimeoutMs,
      }),
      tracker: new LagTracker(settings),
      metrics,
      pollIntervalMs: settings.pollIntervalMs,
      // A poll makes a handful of sequential requests, each bounded by the admin timeout.
      stalePollMs: 10 * settings.adminTimeoutMs,
      logger,
    });
    cleanups.push(() => monitor.stop());

    // The runtime's HealthServer on a loopback port; the public port composes it with /v1/lag.
    const health = new HealthServer({ host: '127.0.0.1', port: 0, registry, logger });
    health.addLivenessCheck('lag-poll', () => monitor.liveness());
    health.addReadinessCheck('lag-poll', () => monitor.readiness());
    const healthPort = await health.start();
    cleanups.push(() => health.stop());
    const api = new LagApiServer({
      host: healthSettings.host,
      port: healthSettings.port,
      healthPort,
      snapshot: () => monitor.latest(),
      logger,
    });
    const port = await api.start();
    cleanups.push(() => api.stop());
    monitor.start();
    logger.info(
      {
        port,
        bootstrap: endpoints.kafkaBootstrap,
        groupPattern: settings.groupPattern.source,
        pollIntervalMs: settings.pollIntervalMs,
        statusWindow: settings.statusWindow,
        targetDrainSeconds: settings.targetDrainSeconds,
      },
      'lag monitor started',
    );
    let stopping: Promise<void> | undefined;
    return {
      monitor,
      port,
      logger,
      registry,
      stop: () => {
        stopping ??= cleanups.closeAll().then(() => logger.info({}, 'lag monitor stopped'));
        return stopping;
      },
    };
  } catch (error) {
    await cleanups.closeAll();
    throw error;
  }
}
