/**
 * Worker-runtime benchmarks (BRIEF §5): P1 runtime-noop, P2 keyed-io, P6 backlog-rss.
 * Every measure runs side by side with its baseline in this process, against the real broker.
 *
 *   npm run bench:runtime [-- --only P1,P2,P6] [--no-report]
 *
 * Prints one summary line per measure and appends a dated section to docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { KafkaJS, type RdKafka } from '@confluentinc/kafka-javascript';
import { EnvReader } from '../../workers/runtime/config/envReader.ts';
import { ConsumerEngine } from '../../workers/runtime/consumer/consumerEngine.ts';
import { type ConsumerOptions, readConsumerOptions } from '../../workers/runtime/consumer/consumerOptions.ts';
import { createRdKafkaConsumer } from '../../workers/runtime/consumer/rdkafkaConsumer.ts';
import { consumerMetricsObserver } from '../../workers/runtime/observability/consumerMetricsObserver.ts';
import { createConsumerMetrics, createMetricsRegistry } from '../../workers/runtime/observability/metrics.ts';
import {
  bootstrap,
  createTopics,
  deleteTopics,
  produceRecords,
  uniqueName,
} from '../../workers/runtime/testing/kafkaTestKit.ts';
import { workerNodeOptions, workerProcessEnv } from '../../workers/runtime/worker/workerNodeOptions.ts';
import { appendBenchReport, type BenchLine, formatBenchLine } from './benchReport.ts';

const args = process.argv.slice(2);
const only = new Set((args[args.indexOf('--only') + 1] ?? 'P1,P2,P6').split(','));
const writeReport = !args.includes('--no-report');
const fetchTuning = { 'fetch.wait.max.ms': 50, 'queued.max.messages.kbytes': 16384 };

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function produceBacklog(topic: string, count: number, valueBytes: number, keys: number): Promise<void> {
  const value = Buffer.alloc(valueBytes, 0x61);
  const chunk = 100_000;
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    await produceRecords(
      topic,
      Array.from({ length: n }, (_, i) => ({ key: `key-${(start + i) % keys}`, value })),
    );
    progress(`produced ${start + n}/${count} to ${topic}`);
  }
}

interface Run {
  rate: number;
  cpuMicrosPerMessage: number;
}

/** The raw client: consume(n) in a loop, count, nothing else (no commit, no scheduling). */
async function rawConsumer(topic: string, expected: number): Promise<Run> {
  const consumer = createRdKafkaConsumer(
    {
      'bootstrap.servers': bootstrap,
      'group.id': uniqueName('raw'),
      'enable.auto.commit': false,
      ...fetchTuning,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  consumer.setDefaultConsumeTimeout(100);
  consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
  await new Promise<void>((resolve, reject) => consumer.connect({}, (e) => (e ? reject(e) : resolve())));
  consumer.subscribe([topic]);
  let count = 0;
  let firstAt = 0;
  let cpuAtFirst = process.cpuUsage();
  while (count < expected) {
    const batch = await new Promise<RdKafka.Message[]>((resolve, reject) =>
      consumer.consume(500, (e, m) => (e ? reject(e) : resolve(m ?? []))),
    );
    if (batch.length > 0 && firstAt === 0) {
      firstAt = performance.now();
      cpuAtFirst = process.cpuUsage();
    }
    count += batch.length;
  }
  const seconds = (performance.now() - firstAt) / 1000;
  const cpu = process.cpuUsage(cpuAtFirst);
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  return { rate: count / seconds, cpuMicrosPerMessage: (cpu.user + cpu.system) / count };
}

/** The runtime engine with a handler and real metrics, counting finished messages. */
async function runtimeConsumer(
  topic: string,
  expected: number,
  handler: () => Promise<void>,
  options: Partial<ConsumerOptions>,
  onSample?: () => void,
): Promise<Run> {
  let count = 0;
  let firstAt = 0;
  let cpuAtFirst = process.cpuUsage();
  const metrics = createConsumerMetrics(createMetricsRegistry({ worker: 'bench' }));
  const engine = new ConsumerEngine<Buffer | null>(
    {
      name: 'bench',
      groupId: uniqueName('runtime'),
      topics: [topic],
      decoder: (value) => value,
      handler: async () => {
        if (firstAt === 0) {
          firstAt = performance.now();
          cpuAtFirst = process.cpuUsage();
        }
        await handler();
        count++;
      },
    },
    {
      bootstrapServers: bootstrap,
      options: readConsumerOptions(new EnvReader({}), options),
      kafkaConfig: fetchTuning,
      deadLetters: {
        publish: async () => {
          throw new Error('the benchmark handler never fails');
        },
      },
      observer: consumerMetricsObserver(metrics),
    },
  );
  await engine.start();
  while (count < expected) {
    await sleep(onSample ? 250 : 20);
    onSample?.();
  }
  const seconds = (performance.now() - firstAt) / 1000;
  const cpu = process.cpuUsage(cpuAtFirst);
  await engine.stop();
  return { rate: count / seconds, cpuMicrosPerMessage: (cpu.user + cpu.system) / count };
}

/** Serial `eachMessage` through the client's KafkaJS-compatible API: the baseline of P2. */
async function serialEachMessage(topic: string, expected: number, ioMs: number): Promise<number> {
  const consumer = new KafkaJS.Kafka({
    kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.ERROR },
  }).consumer({ kafkaJS: { groupId: uniqueName('serial'), fromBeginning: true } });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  let count = 0;
  let firstAt = 0;
  let lastAt = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async () => {
        if (firstAt === 0) firstAt = performance.now();
        if (count >= expected) return;
        await sleep(ioMs);
        count++;
        lastAt = performance.now();
        if (count === expected) resolve();
      },
    });
  });
  await consumer.disconnect();
  return count / ((lastAt - firstAt) / 1000);
}

async function p1(lines: BenchLine[]): Promise<void> {
  const topic = uniqueName('bench-p1');
  const total = 500_000;
  await createTopics([{ topic, partitions: 12 }]);
  try {
    await produceBacklog(topic, total, 256, 10_000);
    const raw: Run[] = [];
    const runtime: Run[] = [];
    for (let round = 1; round <= 2; round++) {
      raw.push(await rawConsumer(topic, total));
      progress(`P1 round ${round}: raw ${Math.round(raw.at(-1)!.rate)} msg/s`);
      runtime.push(await runtimeConsumer(topic, total, async () => undefined, { maxConcurrency: 64 }));
      progress(`P1 round ${round}: runtime ${Math.round(runtime.at(-1)!.rate)} msg/s`);
    }
    const bestRaw = raw.reduce((a, b) => (b.rate > a.rate ? b : a));
    const bestRuntime = runtime.reduce((a, b) => (b.rate > a.rate ? b : a));
    lines.push({
      id: 'P1',
      name: 'runtime-noop',
      value: bestRuntime.rate,
      unit: 'msg/s',
      ratio: bestRuntime.rate / bestRaw.rate,
      baseline: 'raw-consumer',
    });
    lines.push({
      id: 'P1',
      name: 'runtime-cpu',
      value: bestRuntime.cpuMicrosPerMessage,
      unit: 'µs/msg',
      ratio: bestRuntime.cpuMicrosPerMessage / bestRaw.cpuMicrosPerMessage,
      baseline: 'raw-consumer-cpu',
    });
    lines.push({
      id: 'P1',
      name: 'raw-consumer',
      value: bestRaw.rate,
      unit: 'msg/s',
      note: `${bestRaw.cpuMicrosPerMessage.toFixed(2)} µs/msg`,
    });
  } finally {
    await deleteTopics([topic]);
  }
}

async function p2(lines: BenchLine[]): Promise<void> {
  const topic = uniqueName('bench-p2');
  const ioMs = 5;
  await createTopics([{ topic, partitions: 12 }]);
  try {
    await produceBacklog(topic, 60_000, 64, 1000);
    const serialCount = 400;
    const serialRate = await serialEachMessage(topic, serialCount, ioMs);
    progress(`P2 serial eachMessage: ${serialRate.toFixed(1)} msg/s`);
    const keyed = await runtimeConsumer(topic, 60_000, () => sleep(ioMs), {
      maxConcurrency: 256,
      processMaxMessages: 20_000,
    });
    progress(`P2 keyed runtime: ${Math.round(keyed.rate)} msg/s`);
    lines.push({
      id: 'P2',
      name: 'keyed-io',
      value: keyed.rate,
      unit: 'msg/s',
      ratio: keyed.rate / serialRate,
      baseline: 'serial-eachMessage',
    });
  } finally {
    await deleteTopics([topic]);
  }
}

async function p6(lines: BenchLine[], notes: string[]): Promise<void> {
  const topic = uniqueName('bench-p6');
  const total = 1_000_000;
  const seconds = Number(process.env.BENCH_P6_SECONDS ?? 60);
  await createTopics([{ topic, partitions: 12 }]);
  try {
    await produceBacklog(topic, total, 100, 50_000);
    // The worker runs in its own process so its RSS is not mixed with the producer's.
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./backlogDrainProcess.ts', import.meta.url))],
      {
        env: { ...workerProcessEnv(), BENCH_TOPIC: topic, BENCH_SECONDS: String(seconds) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const samples: { t: number; rss: number; handled: number; unfinished: number }[] = [];
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      samples.push(JSON.parse(line) as (typeof samples)[number]);
      if (samples.length % 20 === 0) {
        const s = samples.at(-1)!;
        progress(
          `P6 ${Math.round(s.t / 1000)} s: drained ${s.handled}, unfinished ${s.unfinished}, rss ${Math.round(s.rss / 2 ** 20)} MiB`,
        );
      }
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
    const peak = Math.max(...samples.map((s) => s.rss));
    const half = Math.floor(samples.length / 2);
    const firstHalfPeak = Math.max(...samples.slice(0, half).map((s) => s.rss));
    const secondHalfPeak = Math.max(...samples.slice(half).map((s) => s.rss));
    const maxUnfinished = Math.max(...samples.map((s) => s.unfinished));
    lines.push({
      id: 'P6',
      name: 'backlog-rss',
      value: peak / 2 ** 20,
      unit: 'MiB peak',
      ratio: peak / (256 * 2 ** 20),
      baseline: '256-MiB-budget',
    });
    notes.push(
      `P6: worker process draining a 1M-message backlog (100 B values, 12 partitions) with a ${process.env.BENCH_HANDLER_MS ?? 2} ms handler at concurrency 64 (worker flags: ${workerNodeOptions}, MALLOC_ARENA_MAX=2) for ${seconds} s: ` +
        `${samples.at(-1)?.handled ?? 0} drained, peak RSS ${mib(peak)} MiB, first-half peak ${mib(firstHalfPeak)} MiB vs second-half peak ${mib(secondHalfPeak)} MiB (flat = no growth), at most ${maxUnfinished} unfinished messages buffered.`,
    );
  } finally {
    await deleteTopics([topic]);
  }
}

const lines: BenchLine[] = [];
const notes: string[] = [];
if (only.has('P1')) await p1(lines);
if (only.has('P2')) await p2(lines);
if (only.has('P6')) await p6(lines, notes);
for (const line of lines) console.log(formatBenchLine(line) + (line.note ? `  [${line.note}]` : ''));
for (const note of notes) console.log(note);
if (writeReport)
  appendBenchReport(
    'Worker runtime (P1, P2, P6)',
    `npm run bench:runtime -- ${args.join(' ')}`.trim(),
    lines,
    notes,
  );
