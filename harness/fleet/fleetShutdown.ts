import { repeatedSignalWindowMs } from '../../workers/runtime/worker/shutdownSignals.ts';
import type { ProcessSupervisor } from './processSupervisor.ts';

/**
 * The supervisor's answer to SIGINT and SIGTERM: drain every process once, run `afterStop` (the
 * stack's teardown under `npm start`) and exit 0 (1 when a process had to be killed or exited
 * non-zero). The same signal again within
 * `repeatedSignalWindowMs` is one Ctrl-C delivered twice — by the terminal and forwarded by npm —
 * and is ignored; a later one kills the processes (SIGKILL, never orphaned) and exits 1.
 * Returns the shutdown function, for a failed start to call too (with exit code 1).
 */
export function shutdownOnSignals(
  supervisor: ProcessSupervisor,
  afterStop: () => Promise<void> = async () => {},
): (reason: string, exitCode?: number) => Promise<void> {
  let shutdownAt: number | undefined;
  const shutdown = async (reason: string, exitCode = 0): Promise<void> => {
    if (shutdownAt !== undefined) {
      if (performance.now() - shutdownAt < repeatedSignalWindowMs) return;
      console.log(`\n${reason} again: killing the fleet's processes (SIGKILL) and exiting`);
      supervisor.kill();
      process.exit(1);
    }
    shutdownAt = performance.now();
    console.log(`\n== ${reason}: draining the fleet`);
    const drained = await supervisor.stop();
    await afterStop();
    if (!drained) console.log('== not every process drained cleanly (see above): exiting 1');
    process.exit(drained ? exitCode : 1);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  return shutdown;
}
