/**
 * A minimal worker process for the shutdown test: consumes TEST_TOPIC as raw bytes through
 * the full runtime (workerMain: signals, drain, commit, exit code). Not used in production.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runWorkerMain } from '../worker/workerMain.ts';

const topic = process.env.TEST_TOPIC ?? '';
/** How long each message stays in flight (ms): long enough that a signal finds work running. */
const handlerMs = Number(process.env.TEST_HANDLER_MS ?? 20);
/** TEST_LOG_HANDLED=1: one `handled` line (partition, offset) per finished message. */
const logHandled = process.env.TEST_LOG_HANDLED === '1';
await runWorkerMain<Buffer | null>('echo-test', () => ({
  name: 'echo-test',
  groupId: process.env.TEST_GROUP ?? '',
  topics: [topic],
  defaultMetricsPort: 0,
  decoder: (value) => value,
  createHandler: async ({ logger }) => ({
    handler: async (message) => {
      await sleep(handlerMs); // in flight when the signal arrives
      if (logHandled) logger.info({ partition: message.partition, offset: message.offset }, 'handled');
    },
  }),
}));
