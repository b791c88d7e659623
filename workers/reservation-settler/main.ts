import { ConfigError } from '../runtime/config/configError.ts';
import { runWorkerMain } from '../runtime/worker/workerMain.ts';
import { createSettlerWorker } from './settlerWorker.ts';

// The topic and group names are read before the runtime starts (they name what it subscribes to), so a
// bad one is reported here, the way runWorkerMain reports the rest: one line, exit code 78.
let settlerWorker: ReturnType<typeof createSettlerWorker>;
try {
  settlerWorker = createSettlerWorker();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`reservation-settler: ${error.message}\n`);
  process.exit(78);
}
await runWorkerMain(settlerWorker);
