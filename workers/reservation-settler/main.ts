import { runWorkerMain } from '../runtime/worker/workerMain.ts';
import { createSettlerWorker } from './settlerWorker.ts';

await runWorkerMain('reservation-settler', () => createSettlerWorker());
