import net from 'node:net';
import type { Registry } from 'prom-client';
import type { LogLevel, ResilienceLogger } from './resilienceLogger.ts';

/** A clock the test moves by hand. */
export function fakeClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** A logger that keeps its lines for assertions. */
export function recordingLogger(): {
  logger: ResilienceLogger;
  lines: { level: LogLevel; msg: string; fields: Record<string, unknown> }[];
} {
  const lines: { level: LogLevel; msg: string; fields: Record<string, unknown> }[] = [];
  return { logger: (level, msg, fields = {}) => void lines.push({ level, msg, fields }), lines };
}

/** The value of one series of a metric, or undefined when the series does not exist. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match?.value;
}

/** A TCP proxy in front of Redis whose answers can be delayed, to play a slow but connected Redis. */
export interface SlowRedisProxy {
  url: string;
  /** Delays every answer from now on by `ms` (0: pass through at once). */
  setDelay(ms: number): void;
  /**
   * Commands Redis received since the last setDelay() before it delivered any answer to them:
   * how many requests a client had in flight at once behind the delay.
   */
  commandsBeforeFirstAnswer(): number;
  /** Closes the listener and every proxied connection. */
  close(): Promise<void>;
}

/** Starts a SlowRedisProxy on a free loopback port in front of `upstreamUrl`. */
export async function startSlowRedisProxy(upstreamUrl: string): Promise<SlowRedisProxy> {
  const upstream = new URL(upstreamUrl);
  let delayMs = 0;
  let commandsBeforeAnswer = 0;
  let answered = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const redis = net.connect(Number(upstream.port || 6379), upstream.hostname);
    sockets.add(client).add(redis);
    client.on('data', (chunk: Buffer) => {
      // A RESP command starts with an array header: *<count>\r\n$<length>
      if (!answered) commandsBeforeAnswer += chunk.toString('latin1').match(/\*\d+\r\n\$/g)?.length ?? 0;
      redis.write(chunk);
    });
    redis.on('data', (chunk) => {
      const deliver = () => {
        answered = true;
        client.write(chunk);
      };
      // Answers keep their order: each one waits the delay that held when it arrived.
      if (delayMs > 0) setTimeout(deliver, delayMs);
      else deliver();
    });
    const close = (): void => {
      client.destroy();
      redis.destroy();
      sockets.delete(client);
      sockets.delete(redis);
    };
    for (const socket of [client, redis]) socket.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    setDelay: (ms) => {
      delayMs = ms;
      commandsBeforeAnswer = 0;
      answered = false;
    },
    commandsBeforeFirstAnswer: () => commandsBeforeAnswer,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
