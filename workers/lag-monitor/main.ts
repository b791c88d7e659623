/**
 * The lag monitor process (`npm run lag-monitor`): polls consumer-group offsets, serves
 * /metrics, /healthz, /readyz and /v1/lag on METRICS_PORT (default 9104). SIGTERM/SIGINT stop
 * it and exit 0; a second signal, or a stop that hangs, exits 1; bad configuration exits 78.
 */
import { ConfigError } from '../runtime/config/configError.ts';
import { lagMonitorName, type RunningLagMonitor, startLagMonitor } from './startLagMonitor.ts';

/** Longest a stop may take before the process exits anyway. */
const stopTimeoutMs = 15_000;

let running: RunningLagMonitor;
try {
  running = await startLagMonitor();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${lagMonitorName}: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  process.stderr.write(`${lagMonitorName}: failed to start: ${(error as Error).message}\n`);
  process.exit(1);
}

let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) {
    running.logger.error({ signal }, 'second signal: forcing exit');
    process.exit(1);
  }
  running.logger.info({ signal }, 'stopping');
  const force = setTimeout(() => {
    running.logger.error({ stopTimeoutMs }, 'stop timed out: forcing exit');
    process.exit(1);
  }, stopTimeoutMs);
  force.unref();
  void running.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      running.logger.error({ err: error }, 'stop failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
