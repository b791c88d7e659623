import { LocalStack } from '../stack/localStack.ts';
import { loadStackConfig } from '../stack/stackConfig.ts';

/**
 * Vitest global setup of the integration project: brings the local stack up when it is not
 * running (idempotent, ~0.2 s when it is) and, at the end, stops only the services this run
 * started, unless KEEP_STACK=1. A stack that was already up is left as it was.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const stack = await LocalStack.create(loadStackConfig(), (line) => console.log(`[stack] ${line}`));
  const outcomes = await stack.up();
  const startedHere = new Set(
    [...outcomes].filter(([, outcome]) => outcome === 'started').map(([name]) => name),
  );
  if (startedHere.size > 0) console.log(`[stack] started for this test run: ${[...startedHere].join(', ')}`);
  return async () => {
    if (startedHere.size === 0 || process.env.KEEP_STACK === '1') return;
    const stopped = await stack.down(startedHere);
    console.log(`[stack] stopped what this test run started: ${stopped.join(', ')}`);
  };
}
