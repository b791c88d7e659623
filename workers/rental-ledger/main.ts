import { runWorkerMain } from '../runtime/worker/workerMain.ts';
import { createLedgerWorker } from './ledgerWorker.ts';

await runWorkerMain('rental-ledger', () => createLedgerWorker());
