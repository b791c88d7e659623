import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { exactGroupPattern } from '../lagMonitorConfig.ts';
import type { LagSnapshot } from '../lagSnapshot.ts';
import { type RunningLagMonitor, startLagMonitor } from '../startLagMonitor.ts';

/** Test helpers for the lag monitor against the real broker. Not for production code. */

/** Starts an in-process lag monitor on a free port, watching only `group`, quiet unless something is wrong. */
export function startTestMonitor(
  group: string,
  env: Record<string, string> = {},
): Promise<RunningLagMonitor> {
  return startLagMonitor(
    {
      ...process.env,
      METRICS_PORT: '0',
      LOG_LEVEL: 'error',
      LAG_GROUP_PATTERN: exactGroupPattern(group).source,
      LAG_POLL_INTERVAL_MS: '300',
      LAG_STATUS_WINDOW: '4',
      LAG_SCALE_WINDOW: '2',
      ...env,
    },
    { logDestination: new Writable({ write: (_chunk, _encoding, done) => done() }) },
  );
}

/** GET /v1/lag of a running monitor; undefined before its first poll. */
export async function fetchSnapshot(port: number): Promise<LagSnapshot | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/lag`);
  if (response.status === 503) {
    await response.body?.cancel();
    return undefined;
  }
  return (await response.json()) as LagSnapshot;
}

/** Polls /v1/lag until `accept` holds; every snapshot seen goes to `seen`. Throws with the last one on timeout. */
export async function waitForSnapshot(
  port: number,
  accept: (snapshot: LagSnapshot) => boolean,
  options: { timeoutMs?: number; seen?: LagSnapshot[] } = {},
): Promise<LagSnapshot> {
  const deadline = Date.now() + (options.timeoutMs ?? 45_000);
  let last: LagSnapshot | undefined;
  for (;;) {
    const snapshot = await fetchSnapshot(port);
    if (snapshot) {
      last = snapshot;
      options.seen?.push(snapshot);
      if (accept(snapshot)) return snapshot;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met; last snapshot: ${JSON.stringify(last?.groups ?? last, null, 1)}`);
    }
    await sleep(100);
  }
}

/** Lines of /metrics whose metric name starts with `prefix`. */
export async function metricLines(port: number, prefix: string): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Deletes consumer groups a test created (they must have no members left). */
export async function deleteGroups(bootstrap: string, groups: string[]): Promise<void> {
  if (groups.length === 0) return;
  const kafka = new KafkaJS.Kafka({
    kafkaJS: { brokers: bootstrap.split(','), logLevel: KafkaJS.logLevel.NOTHING },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups(groups);
  } finally {
    await admin.disconnect();
  }
}

/** Sends one record every `intervalMs` to `partitions` in turn and remembers when each offset was written. */
export class SteadyProducer {
  /** Send time (ms since epoch) by `partition:offset`. */
  readonly writtenAt = new Map<string, number>();
  private readonly producer: KafkaJS.Producer;
  private running = false;
  private connected = false;
  private loop: Promise<void> | undefined;

  constructor(bootstrap: string) {
    const kafka = new KafkaJS.Kafka({
      kafkaJS: { brokers: bootstrap.split(','), logLevel: KafkaJS.logLevel.NOTHING },
    });
    this.producer = kafka.producer({ kafkaJS: { acks: -1 } } as KafkaJS.ProducerConstructorConfig);
  }

  async start(topic: string, partitions: readonly number[], intervalMs: number): Promise<void> {
    await this.producer.connect();
    this.connected = true;
    this.running = true;
    this.loop = (async () => {
      for (let i = 0; this.running; i++) {
        const partition = partitions[i % partitions.length]!;
        const sentAt = Date.now();
        const [meta] = await this.producer.send({
          topic,
          messages: [{ value: `steady-${i}`, partition, timestamp: String(sentAt) }],
        });
        this.writtenAt.set(`${partition}:${meta?.baseOffset}`, sentAt);
        await sleep(Math.max(0, intervalMs - (Date.now() - sentAt)));
      }
    })();
  }

  /** Stops sending and disconnects; idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.loop = undefined;
    if (this.connected) await this.producer.disconnect();
    this.connected = false;
  }
}
