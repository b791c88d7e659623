import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import { createPool } from '../../db/pool.ts';
import { loadReaderTypes } from '../../schemas/readerTypes.ts';
import { AvroSerde } from '../runtime/avro/avroSerde.ts';
import { checkRegistryAtStart } from '../runtime/avro/registryStartupCheck.ts';
import { SchemaRegistryClient } from '../runtime/avro/schemaRegistryClient.ts';
import { createLogger, type Logger } from '../runtime/observability/logger.ts';
import { createMetricsRegistry, createProducerMetrics } from '../runtime/observability/metrics.ts';
import { FleetProducer } from '../runtime/producer/fleetProducer.ts';
import { CleanupStack } from '../runtime/worker/cleanupStack.ts';
import { createIngressApp, type IngressApp } from './ingressApp.ts';
import type { IngressConfig } from './ingressConfig.ts';

/** Options for tests: a log destination, or a registry shared with the caller. */
export interface IngressServiceOptions {
  logger?: Logger;
  registry?: Registry;
  now?: () => number;
}

/**
 * ioredis set up so a limiter call can never hang a request: no offline queue (commands fail at
 * once while disconnected), one retry, short connect and command timeouts, and reconnection in
 * the background with a capped backoff. Auto-pipelining sends the limiter calls of one event-loop
 * turn in one write: a socket write per request was the ingress's largest CPU cost after group
 * commit (P4 profile).
 */
export function createIngressRedis(config: IngressConfig, logger: Logger): Redis {
  const redis = new Redis(config.endpoints.redisUrl, {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    connectTimeout: config.redis.connectTimeoutMs,
    commandTimeout: config.redis.commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    connectionName: 'fleetstream-ingress',
    lazyConnect: false,
  });
  let lastLogged: string | undefined;
  // ioredis reports every failed reconnect; the limiter already logs the switch to fallback once.
  redis.on('error', (error: Error) => {
    if (lastLogged === error.message) return;
    lastLogged = error.message;
    logger.warn({ err: error.message }, 'redis connection error');
  });
  redis.on('ready', () => {
    lastLogged = undefined;
  });
  return redis;
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The ingress process: opens the pool, Redis, the registry client and the producer, builds the
 * app and listens. A broker that is down at start does not stop the ingress from serving (it
 * answers 503 and /readyz says why); the producer keeps trying to connect in the background.
 * `stop()` closes everything in reverse order, once, whatever failed.
 */
export class IngressService {
  readonly config: IngressConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  private readonly now: (() => number) | undefined;
  private state: State = 'new';
  private starting: Promise<number> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly cleanups: CleanupStack;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private built: IngressApp | undefined;
  private pool: pg.Pool | undefined;
  private producer: FleetProducer | undefined;

  constructor(config: IngressConfig, options: IngressServiceOptions = {}) {
    this.config = config;
    this.logger = options.logger ?? createLogger({ worker: 'ingress', level: config.logLevel });
    this.registry = options.registry ?? createMetricsRegistry({ worker: 'ingress' });
    this.now = options.now;
    this.cleanups = new CleanupStack((error, step) =>
      this.logger.error({ err: error, step }, 'ingress cleanup step failed'),
    );
  }

  /** The Fastify app and its parts, once started. */
  get ingress(): IngressApp {
    if (!this.built) throw new Error('the ingress is not started');
    return this.built;
  }

  /** The application-role pool (tests read rows through it). */
  get databasePool(): pg.Pool {
    if (!this.pool) throw new Error('the ingress is not started');
    return this.pool;
  }

  /** Opens the dependencies, builds the app and listens; resolves with the bound port. Idempotent. */
  start(): Promise<number> {
    if (this.state === 'stopping' || this.state === 'stopped') {
      return Promise.reject(new Error('the ingress was stopped; create a new one'));
    }
    this.starting ??= this.open();
    return this.starting;
  }

  private async open(): Promise<number> {
    this.state = 'starting';
    const { config, logger } = this;
    if (config.jwt.usesDevSecret) logger.warn({}, 'JWT_SECRET is unset: using the local development secret');
    try {
      const pool = createPool({
        connectionString: config.database.url,
        applicationName: 'fleetstream-ingress',
        max: config.database.poolMax,
        statementTimeoutMs: config.database.statementTimeoutMs,
        connectionTimeoutMs: config.database.connectTimeoutMs,
        onIdleClientError: (error) => logger.warn({ err: error.message }, 'idle database connection failed'),
      });
      this.pool = pool;
      this.cleanups.push(() => pool.end(), 'database pool');

      const redis = createIngressRedis(config, logger);
      this.cleanups.push(() => closeRedis(redis), 'redis');
      // Serving before Redis answers would start every instance in its local fallback; an
      // unreachable Redis must not block the start either (the fallback is the plan for that).
      if (!(await redisReady(redis, config.redis.startTimeoutMs))) {
        logger.warn(
          { waitedMs: config.redis.startTimeoutMs },
          'redis not ready at start; rate limits start in fallback',
        );
      }

      const registryClient = new SchemaRegistryClient(config.schemaRegistry);
      this.cleanups.push(() => registryClient.close(), 'schema registry client');
      await checkRegistryAtStart(registryClient, logger);
      const serde = new AvroSerde({ source: registryClient, readerTypes: loadReaderTypes() });
      const producer = new FleetProducer({
        client: config.kafka,
        settings: config.producer,
        encoder: (topic, value) => serde.encode(`${topic}-value` as never, value as never),
        metrics: createProducerMetrics(this.registry),
        logger,
      });
      this.producer = producer;
      this.cleanups.push(() => producer.stop(), 'kafka producer');
      this.connectProducer();

      const built = await createIngressApp(config, {
        pool,
        redis,
        producer,
        registry: this.registry,
        logger,
        ...(this.now ? { now: this.now } : {}),
      });
      this.built = built;
      this.cleanups.push(
        () => closeServerWithin(built.app, Math.floor(config.shutdownTimeoutMs / 2)),
        'http server',
      );
      await built.app.listen({ host: config.host, port: config.port });
      const address = built.app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      this.state = 'running';
      built.relay.start();
      logger.info({ host: config.host, port, topic: config.enqueue.topic }, 'ingress listening');
      return port;
    } catch (error) {
      await this.closeAll();
      this.state = 'stopped';
      throw error;
    }
  }

  /** Connects the producer now and, while the broker is unreachable, again every producerReconnectMs. */
  private connectProducer(): void {
    const producer = this.producer;
    if (!producer || this.stopping) return;
    producer.start().then(
      () => undefined,
      (error: unknown) => {
        if (this.stopping) return;
        this.logger.warn(
          { err: (error as Error).message, retryInMs: this.config.enqueue.producerReconnectMs },
          'kafka producer could not connect; requests get 503 until it does',
        );
        this.reconnectTimer = setTimeout(
          () => this.connectProducer(),
          this.config.enqueue.producerReconnectMs,
        );
      },
    );
  }

  /** Stops accepting requests, lets in-flight ones finish, then closes everything. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.starting) await this.starting.catch(() => undefined);
      this.state = 'stopping';
      await this.closeAll();
      this.state = 'stopped';
      this.logger.info({}, 'ingress stopped');
    })();
    return this.stopping;
  }

  private async closeAll(): Promise<void> {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    // Reverse order: the server first (no new requests), the clients it used after.
    await this.cleanups.closeAll();
  }
}

/**
 * Closes the HTTP server: no new connections, in-flight requests may finish; after `graceMs` the
 * connections still open (a request still running, a client that never sent one) are closed, so
 * one idle socket cannot turn every SIGTERM into the forced exit. The other half of the shutdown
 * timeout is left for the clients behind the server (database, Redis, Kafka).
 */
async function closeServerWithin(app: FastifyInstance, graceMs: number): Promise<void> {
  const force = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(force);
  }
}

/** Resolves true once `redis` is ready, false after `timeoutMs` (never rejects). */
function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}

/** QUIT when connected (flushes replies), else disconnect (stops reconnecting). */
async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit();
  } else {
    redis.disconnect();
  }
}
