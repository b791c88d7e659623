import { KafkaJS } from '@confluentinc/kafka-javascript';
import { Redis } from 'ioredis';
import pg from 'pg';

/** Resolves when the broker answers a metadata request (lists topics); rejects otherwise. */
export async function probeKafka(bootstrap: string, timeoutMs = 5000): Promise<void> {
  const admin = new KafkaJS.Kafka({
    kafkaJS: {
      brokers: bootstrap.split(','),
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      logLevel: KafkaJS.logLevel.NOTHING,
    },
  }).admin();
  await admin.connect();
  try {
    await admin.listTopics({ timeout: timeoutMs });
  } finally {
    await admin.disconnect();
  }
}

/** Resolves when the Confluent-compatible registry lists its subjects. */
export async function probeRegistry(url: string, timeoutMs = 5000): Promise<void> {
  const response = await fetch(`${url.replace(/\/$/, '')}/subjects`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`GET /subjects answered ${response.status}`);
  await response.arrayBuffer();
}

/** Resolves when PostgreSQL answers `SELECT 1`. */
export async function probePostgres(connectionString: string, timeoutMs = 5000): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Resolves when Redis answers PONG. */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // surfaced through the rejected connect/ping below
  try {
    await redis.connect();
    const pong = await redis.ping();
    if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
  } finally {
    redis.disconnect();
  }
}
