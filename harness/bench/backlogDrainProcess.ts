/**
 * Child process of P6: drains BENCH_TOPIC with a slow handler through the runtime engine and
 * prints its own RSS as JSON lines, so the measured memory is the worker's alone (the parent
 * produced the backlog). Runs for BENCH_SECONDS, then stops cleanly.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvReader } from '../../workers/runtime/config/envReader.ts';
import { ConsumerEngine } from '../../workers/runtime/consumer/consumerEngine.ts';
import { readConsumerOptions } from '../../workers/runtime/consumer/consumerOptions.ts';
import { consumerMetricsObserver } from '../../workers/runtime/observability/consumerMetricsObserver.ts';
import { createConsumerMetrics, createMetricsRegistry } from '../../workers/runtime/observability/metrics.ts';

const reader = new EnvReader();
const topic = reader.requiredString('BENCH_TOPIC');
const seconds = reader.int('BENCH_SECONDS', 60, { min: 1 });
const handlerMs = reader.int('BENCH_HANDLER_MS', 2, { min: 0 });
const bootstrap = reader.string('KAFKA_BOOTSTRAP_SERVERS', '127.0.0.1:9092');
const options = readConsumerOptions(reader, { maxConcurrency: 64 });
reader.done();

let handled = 0;
const engine = new ConsumerEngine<Buffer | null>(
  {
    name: 'bench-backlog',
    groupId: `bench.backlog.${process.pid}`,
    topics: [topic],
    decoder: (value) => value,
    handler: async () => {
      await sleep(handlerMs);
      handled++;
    },
  },
  {
    bootstrapServers: bootstrap,
    options,
    deadLetters: {
      publish: async () => {
        throw new Error('the benchmark handler never fails');
      },
    },
    observer: consumerMetricsObserver(
      createConsumerMetrics(createMetricsRegistry({ worker: 'bench-backlog' })),
    ),
  },
);
await engine.start();
const started = Date.now();
while (Date.now() - started < seconds * 1000) {
  await sleep(250);
  const unfinished = engine.snapshot().reduce((n, p) => n + p.unfinished, 0);
  const m = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({ t: Date.now() - started, rss: m.rss, heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external, handled, unfinished })}\n`,
  );
}
await engine.stop();
