/**
 * A small supervised fleet for the shutdown test: `count` echo workers (workers/runtime/testing/
 * echoWorker.ts) on TEST_TOPIC under the real ProcessSupervisor and the real signal handling of
 * `npm start` (fleetShutdown.ts). Prints "fleet ready" once every worker answers /readyz.
 * Not used in production.
 */
import { freePort } from '../../doubleBooking/isolatedFleet.ts';
import { repoRoot } from '../../stack/stackConfig.ts';
import type { FleetProcess } from '../fleetProcesses.ts';
import { shutdownOnSignals } from '../fleetShutdown.ts';
import { ProcessSupervisor } from '../processSupervisor.ts';

const count = Number(process.env.ECHO_WORKERS ?? 2);
const processes: FleetProcess[] = [];
for (let i = 0; i < count; i++) {
  const port = await freePort();
  processes.push({
    name: `echo-${i}`,
    entry: 'workers/runtime/testing/echoWorker.ts',
    readyUrl: `http://127.0.0.1:${port}/readyz`,
    env: { METRICS_PORT: String(port), LOG_LEVEL: 'info' },
  });
}
const supervisor = new ProcessSupervisor(repoRoot, processes);
const shutdown = shutdownOnSignals(supervisor);
try {
  await supervisor.start(60_000);
  console.log('fleet ready');
} catch (error) {
  console.error(`echo fleet failed: ${(error as Error).message}`);
  await shutdown('failure', 1);
}
