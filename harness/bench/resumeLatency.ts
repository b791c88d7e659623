/**
 * How long a paused partition stays silent after `resume()`, with and without the ListOffsets
 * request the consumer engine sends to wake librdkafka's fetcher (`wakeFetcher` in
 * workers/runtime/consumer/consumerEngine.ts). The raw node-rdkafka-style client, one partition
 * with a backlog, the real broker: pause (which purges the prefetched messages), wait, resume,
 * time the first message. A diagnostic: it prints its numbers and writes no report.
 *
 *   node harness/bench/resumeLatency.ts [--rounds N]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createRdKafkaConsumer,
  type RdKafkaConsumer,
} from '../../workers/runtime/consumer/rdkafkaConsumer.ts';
import {
  bootstrap,
  createTopics,
  deleteTopics,
  produceRecords,
  uniqueName,
} from '../../workers/runtime/testing/kafkaTestKit.ts';

const args = process.argv.slice(2);
const roundsIndex = args.indexOf('--rounds');
const rounds = roundsIndex >= 0 ? Number(args[roundsIndex + 1]) : 5;
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');

function consumeBatch(consumer: RdKafkaConsumer): Promise<number> {
  return new Promise((resolve, reject) =>
    consumer.consume(500, (error, messages) => (error ? reject(error) : resolve(messages?.length ?? 0))),
  );
}

/** Milliseconds from each resume to the first message after it. */
async function measure(topic: string, wake: boolean): Promise<number[]> {
  const consumer = createRdKafkaConsumer(
    {
      'bootstrap.servers': bootstrap,
      'group.id': uniqueName('resume-latency'),
      'enable.auto.commit': false,
      'fetch.wait.max.ms': 50,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  consumer.setDefaultConsumeTimeout(100);
  consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
  await new Promise<void>((resolve, reject) => consumer.connect({}, (e) => (e ? reject(e) : resolve())));
  try {
    consumer.subscribe([topic]);
    let received = 0;
    while (received < 100) received += await consumeBatch(consumer);
    const latencies: number[] = [];
    for (let round = 0; round < rounds; round++) {
      consumer.pause([{ topic, partition: 0 }]);
      await sleep(200);
      const resumedAt = performance.now();
      consumer.resume([{ topic, partition: 0 }]);
      if (wake) consumer.queryWatermarkOffsets(topic, 0, 5000, () => {});
      while ((await consumeBatch(consumer)) === 0) {
        if (performance.now() - resumedAt > 10_000) throw new Error('no message within 10 s of a resume');
      }
      latencies.push(performance.now() - resumedAt);
    }
    return latencies;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

const topic = uniqueName('bench-resume');
await createTopics([{ topic, partitions: 1 }]);
try {
  const value = Buffer.alloc(64, 0x61);
  await produceRecords(
    topic,
    Array.from({ length: 50_000 }, (_, i) => ({ key: `k${i % 50}`, value })),
  );
  for (const wake of [false, true]) {
    const latencies = await measure(topic, wake);
    const sorted = [...latencies].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `resume → first message, ${wake ? 'with the ListOffsets wake' : 'resume alone'}: median ${median.toFixed(0)} ms (rounds: ${latencies.map((l) => l.toFixed(0)).join(', ')} ms)`,
    );
  }
} finally {
  await deleteTopics([topic]);
}
