/**
 * The lag monitor process (`npm run lag-monitor`): polls consumer-group offsets, serves
 * /metrics, /healthz, /readyz and /v1/lag on METRICS_PORT (default 9104). SIGTERM/SIGINT stop
 * it and exit 0; a second signal, or a stop that hangs, forces the exit; bad configuration exits 78.
 */
import { ConfigError } from '../runtime/config/configError.ts';
import { stopOnSignals } from '../runtime/worker/shutdownSignals.ts';
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

stopOnSignals({
  logger: running.logger,
  message: 'stopping',
  forceAfterMs: stopTimeoutMs,
  stop: async () => {
    await running.stop();
    return 0;
  },
});
