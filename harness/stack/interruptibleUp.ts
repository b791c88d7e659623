import { repeatedSignalWindowMs } from '../../workers/runtime/worker/shutdownSignals.ts';
import type { LocalStack } from './localStack.ts';

/**
 * `stack.up()` with Ctrl-C/SIGTERM handled: the JVMs run detached (the terminal's Ctrl-C does not
 * reach them), so an interrupted start stops what it had started instead of leaving a half-booted
 * broker behind. Resolves to the outcomes, or to undefined when a signal interrupted the start
 * (after stopping what it started). A second signal (after the terminal's duplicate) exits 1 at once.
 */
export async function upUnlessInterrupted(
  stack: LocalStack,
): Promise<Awaited<ReturnType<LocalStack['up']>> | undefined> {
  const interrupted = new AbortController();
  let interruptedAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted.signal.aborted) {
      if (performance.now() - interruptedAt < repeatedSignalWindowMs) return;
      console.log(`\n${signal} again: exiting; \`npm run stack:down\` stops what was left starting`);
      process.exit(1);
    }
    interruptedAt = performance.now();
    console.log(`\n== ${signal} while the stack starts: stopping the services this run started`);
    interrupted.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await stack.up(interrupted.signal);
  } catch (error) {
    if (!interrupted.signal.aborted) throw error;
    console.log('== stack start interrupted; nothing this run started is left running');
    return undefined;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
