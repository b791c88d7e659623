/**
 * A child process for the crash-safety test: runs the consumer engine with random handler
 * delays (so completions finish out of order) and appends one line per handled message,
 * and one line per committed offset, to OUT_FILE with synchronous writes, so that the
 * record survives a SIGKILL. Not used in production.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvReader } from '../config/envReader.ts';
import { ConsumerEngine } from '../consumer/consumerEngine.ts';
import { readConsumerOptions } from '../consumer/consumerOptions.ts';

const reader = new EnvReader();
const topic = reader.requiredString('TEST_TOPIC');
const groupId = reader.requiredString('TEST_GROUP');
const outFile = reader.requiredString('OUT_FILE');
const bootstrap = reader.string('KAFKA_BOOTSTRAP_SERVERS', '127.0.0.1:9092');
const options = readConsumerOptions(reader, {
  maxConcurrency: 32,
  commitIntervalMs: 100,
  processMaxMessages: 400,
});
reader.done();

const out = fs.openSync(outFile, 'a');
const engine = new ConsumerEngine<Buffer | null>(
  {
    name: 'crashable',
    groupId,
    topics: [topic],
    decoder: (value) => value,
    handler: async (message) => {
      await sleep(Math.random() * 4);
      fs.writeSync(out, `H ${message.partition} ${message.offset} ${String(message.value)}\n`);
    },
  },
  {
    bootstrapServers: bootstrap,
    options,
    deadLetters: {
      publish: async () => {
        throw new Error('no message of this test may be dead-lettered');
      },
    },
  },
);

const lastLogged = new Map<number, number>();
await engine.start();
fs.writeSync(out, `S ${process.pid}\n`);
const watcher = setInterval(() => {
  for (const p of engine.snapshot()) {
    if (p.committed !== undefined && lastLogged.get(p.partition) !== p.committed) {
      lastLogged.set(p.partition, p.committed);
      fs.writeSync(out, `C ${p.partition} ${p.committed}\n`);
    }
  }
}, 20);

process.on('SIGTERM', () => {
  void (async () => {
    await engine.drain(5000);
    await engine.stop();
    clearInterval(watcher);
    fs.closeSync(out);
    process.exit(0);
  })();
});
