import { runWorkerMain } from '../runtime/worker/workerMain.ts';
import { createNotifierWorker } from './notifierWorker.ts';

await runWorkerMain('notifier', () => createNotifierWorker());
