import { ConfigError } from '../config/configError.ts';
import { type RunningWorker, startWorker, type WorkerModule } from './runWorker.ts';
import { stopOnSignals } from './shutdownSignals.ts';

/**
 * Runs a worker as a process: builds its module with `createModule` (which reads the names it
 * subscribes to, so it may throw a ConfigError too), starts it, then on SIGTERM/SIGINT drains in-flight work,
 * commits, leaves the group and exits 0. A second signal (not the same one delivered twice
 * within a second), or a drain that outlives WORKER_DRAIN_TIMEOUT_MS + 10 s, forces the exit
 * (shutdownSignals.ts). SIGUSR2 is the operator's "resume dead-lettering" command after a DLQ
 * cap (see runbooks/dlq-triage-and-replay.md).
 */
export async function runWorkerMain<V>(name: string, createModule: () => WorkerModule<V>): Promise<void> {
  let worker: RunningWorker<V>;
  try {
    worker = await startWorker(createModule());
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    process.stderr.write(`${name}: failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const drainTimeoutMs = Number(process.env.WORKER_DRAIN_TIMEOUT_MS ?? 20_000);
  stopOnSignals({
    logger: worker.logger,
    message: 'draining',
    fields: { drainTimeoutMs },
    forceAfterMs: drainTimeoutMs + 10_000,
    stop: async () => {
      const drained = await worker.drain(drainTimeoutMs);
      await worker.stop();
      return drained ? 0 : 1;
    },
  });
  process.on('SIGUSR2', () => {
    worker.logger.warn({ degraded: worker.caps.degradedReason() }, 'operator resumed dead-lettering');
    worker.caps.resume();
  });
}
