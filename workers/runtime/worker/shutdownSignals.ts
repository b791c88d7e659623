/**
 * How every fleet process answers SIGTERM and SIGINT: one graceful stop, bounded in time, and a
 * forced exit that cannot hang.
 */
import type { Logger } from '../observability/logger.ts';

/**
 * A repeat of the signal within this window of the first is the same request delivered twice,
 * not an operator insisting: a terminal's Ctrl-C reaches every process of the foreground group,
 * and the supervisor (or npm) then forwards its own signal to the same process milliseconds later.
 */
export const repeatedSignalWindowMs = 1000;

/** What a process does on its first SIGTERM/SIGINT. */
export interface GracefulStop {
  logger: Logger;
  /** The log message of the first signal ("draining", "shutting down", …). */
  message: string;
  /** Extra fields for that log line. */
  fields?: Record<string, unknown>;
  /** The graceful stop; resolves to the exit code (0 when everything finished cleanly). */
  stop: () => Promise<number>;
  /** Past this the graceful stop is abandoned and the exit forced. */
  forceAfterMs: number;
}

/**
 * Installs the SIGTERM/SIGINT handlers: the first signal starts `stop()` and exits with its code;
 * a repeat within {@link repeatedSignalWindowMs} is logged and ignored; a later second signal, or
 * a stop that outlives `forceAfterMs`, forces the exit.
 */
export function stopOnSignals(graceful: GracefulStop): void {
  const { logger } = graceful;
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = performance.now();
    if (firstAt !== undefined) {
      if (now - firstAt < repeatedSignalWindowMs) {
        logger.info(
          { signal },
          'same signal delivered twice (terminal and parent): still stopping gracefully',
        );
        return;
      }
      forceExit(logger, { signal }, 'second signal: forcing exit');
    }
    firstAt = now;
    logger.info({ signal, ...graceful.fields }, graceful.message);
    const force = setTimeout(
      () => forceExit(logger, { forceAfterMs: graceful.forceAfterMs }, 'stop timed out: forcing exit'),
      graceful.forceAfterMs,
    );
    force.unref();
    graceful.stop().then(
      (code) => process.exit(code),
      (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * Ends the process now, after one log line. Not `process.exit()`: exit joins libuv's thread
 * pool, where a Kafka consumer's close can be waiting for a rebalance callback that only the
 * (now exiting) JavaScript thread could run — the process then hangs forever (seen: a second
 * signal mid-drain left a settler behind its supervisor). SIGKILL on itself cannot hang; the
 * parent sees the process killed, which is what a forced exit is.
 */
export function forceExit(logger: Logger, fields: Record<string, unknown>, message: string): never {
  logger.error(fields, message);
  // As PID 1 of a container (exec-form `command: ["node", …]`) the kernel drops signals a process
  // sends itself, SIGKILL included; abort() ends in a fault the kernel delivers even to PID 1.
  if (process.pid === 1) process.abort();
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is delivered before kill() returns to a single-threaded caller; this is for the type.
  throw new Error('unreachable: SIGKILL did not end the process');
}
