import { isIP } from 'node:net';
import { readSchemaRegistryConfig, type SchemaRegistryConfig } from '../runtime/avro/schemaRegistryConfig.ts';
import type { BatchingOptions } from '../runtime/batching/groupCommitBatcher.ts';
import { EnvReader } from '../runtime/config/envReader.ts';
import { readStackEndpoints, type StackEndpoints } from '../runtime/config/stackEndpoints.ts';
import { type KafkaClientSettings, readKafkaClientSettings } from '../runtime/kafka/clientConfig.ts';
import { type LogLevel, readLogLevel } from '../runtime/observability/logger.ts';
import { type ProducerSettings, readProducerSettings } from '../runtime/producer/producerSettings.ts';
import { type JwtSettings, readJwtSettings } from './auth/jwtSettings.ts';

/** A rate-limit policy: `quota` requests per `windowSeconds`, as announced in RateLimit-Policy. */
export interface RatePolicySettings {
  quota: number;
  windowSeconds: number;
}

/** Rate limiting (IETF RateLimit fields, GCRA in Redis, per-instance fallback). */
export interface RateLimitSettings {
  /** RATE_LIMIT_CUSTOMER_QUOTA / RATE_LIMIT_CUSTOMER_WINDOW_S: per token subject; default 60 per 60 s. */
  customer: RatePolicySettings;
  /** RATE_LIMIT_IP_QUOTA / RATE_LIMIT_IP_WINDOW_S: per client address (IPv6 per /64); default 300 per 60 s. */
  ip: RatePolicySettings;
  /** RATE_LIMIT_KEY_PREFIX: Redis key prefix; default `fleet:ingress:rl:` (tests isolate themselves with it). */
  keyPrefix: string;
  /**
   * RATE_LIMIT_FALLBACK_INSTANCES: while Redis is down each instance enforces quota ÷ this (rounded up),
   * so N instances together stay near the shared limit; default 1 (a lone instance keeps the full quota).
   */
  fallbackInstances: number;
  /** RATE_LIMIT_FALLBACK_MAX_KEYS: keys the in-memory fallback tracks before evicting the oldest; default 100000. */
  fallbackMaxKeys: number;
}

/** Redis client limits: a limiter call never waits longer than these (BRIEF: never hang). */
export interface RedisSettings {
  /** REDIS_CONNECT_TIMEOUT_MS: TCP connect limit per attempt; default 250. */
  connectTimeoutMs: number;
  /** REDIS_COMMAND_TIMEOUT_MS: one limiter round trip; past it the fallback answers; default 250. */
  commandTimeoutMs: number;
  /** REDIS_START_TIMEOUT_MS: how long start() waits for Redis before serving in fallback; default 2000. */
  startTimeoutMs: number;
}

/** Reservation rules checked at the door (OWASP API4/API6). */
export interface ReservationRules {
  /** RESERVATION_MAX_DAYS: longest reservation; default 30. */
  maxDurationDays: number;
  /** RESERVATION_MAX_ADVANCE_DAYS: how far ahead a reservation may start; default 365. */
  maxAdvanceDays: number;
  /** RESERVATION_START_GRACE_S: how far in the past `startsAt` may lie (client clocks and latency); default 60. */
  startGraceSeconds: number;
  /** RESERVATION_QUOTA_PER_CUSTOMER: pending + confirmed reservations not yet ended, per customer; default 5. */
  quotaPerCustomer: number;
}

/** Enqueueing commands on Kafka. */
export interface EnqueueSettings {
  /** RESERVATION_COMMANDS_TOPIC: where commands go (key: vehicle id); default `fleet.reservation.commands.v1`. */
  topic: string;
  /** INGRESS_PRODUCE_TIMEOUT_MS: longest wait for the broker's acknowledgement before answering 503; default 5000. */
  produceTimeoutMs: number;
  /** INGRESS_BREAKER_RESET_MS: how long the produce breaker stays open before one probe; also the 503's Retry-After; default 10000. */
  breakerResetMs: number;
  /** INGRESS_BREAKER_ERROR_PERCENT: failure percentage in the rolling window that opens the breaker; default 50. */
  breakerErrorPercent: number;
  /** INGRESS_BREAKER_VOLUME: calls in the window before the breaker judges at all; default 5. */
  breakerVolumeThreshold: number;
  /** INGRESS_PRODUCER_RECONNECT_MS: delay between attempts to connect a producer that could not connect at start; default 2000. */
  producerReconnectMs: number;
}

/** The relay of stale pending requests (workers/ingress/reservations/pendingRelay.ts). */
export interface RelaySettings {
  /** INGRESS_RELAY_INTERVAL_MS: time between sweeps; 0 turns the relay off; default 5000. */
  intervalMs: number;
  /** INGRESS_RELAY_PENDING_AFTER_S: a request pending this long is relayed; must exceed the produce timeout; default 60. */
  pendingAfterSeconds: number;
  /** INGRESS_RELAY_REPEAT_AFTER_S: a relayed request still pending is relayed again after this; default 300. */
  repeatAfterSeconds: number;
  /** INGRESS_RELAY_BATCH: requests claimed per sweep; default 100. */
  batchSize: number;
}

/** PostgreSQL pool of the ingress (application role). */
export interface IngressDatabaseSettings {
  /**
   * Group commit of POST placements: INGRESS_PLACE_BATCH_MAX requests per transaction (default
   * 32), INGRESS_PLACE_BATCHES_IN_FLIGHT transactions at once (default 4, below the pool size),
   * INGRESS_PLACE_LINGER_MS wait for company (default 0: batches grow with load, not with time);
   * a request waiting longer than INGRESS_DB_CONNECT_TIMEOUT_MS for a slot gets a 503.
   */
  placement: BatchingOptions;
  /** DATABASE_URL (through the stack endpoints). */
  url: string;
  /** INGRESS_DB_POOL_MAX: connections; default 10. */
  poolMax: number;
  /** INGRESS_DB_STATEMENT_TIMEOUT_MS: per statement; default 2000 (a request must not wait on a stuck query). */
  statementTimeoutMs: number;
  /** INGRESS_DB_CONNECT_TIMEOUT_MS: waiting for a connection from the pool or the server; default 2000. */
  connectTimeoutMs: number;
}

/** The proxies whose X-Forwarded-For the ingress believes (Fastify's `trustProxy`): none, or these. */
export type TrustedProxies = false | string[];

/** proxy-addr's names for address ranges, accepted beside addresses and CIDRs. */
const namedRanges = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Reads INGRESS_TRUST_PROXY: false, or the proxies' addresses/CIDRs. Neither `true` nor a hop
 * count: both believe an X-Forwarded-For written by a client that reaches the ingress directly
 * (Fastify itself refuses hop counts for that reason).
 */
function readTrustedProxies(reader: EnvReader): TrustedProxies {
  const raw = reader.string('INGRESS_TRUST_PROXY', 'false').trim();
  if (raw === 'false') return false;
  const entries = raw.split(',').map((entry) => entry.trim());
  const isProxyRange = (entry: string) => {
    if (namedRanges.has(entry)) return true;
    const [address = '', bits, ...rest] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return false;
    if (bits === undefined) return true;
    return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
  };
  if (entries.every(isProxyRange)) return entries;
  reader.problem(
    'INGRESS_TRUST_PROXY',
    raw,
    'false, or the addresses/CIDRs of your proxies separated by commas (e.g. 10.0.0.0/8, loopback); true or a hop count would believe an X-Forwarded-For written by the client',
  );
  return false;
}

/** The ingress process's one validated configuration. */
export interface IngressConfig {
  /** INGRESS_HOST: interface to bind; default 127.0.0.1. */
  host: string;
  /** INGRESS_PORT: HTTP port (API, /metrics, /healthz, /readyz); 0 picks a free one; default 8080. */
  port: number;
  /**
   * INGRESS_TRUST_PROXY: whose X-Forwarded-For to believe: `false` (default: the socket's address)
   * or the proxies' addresses/CIDRs, comma-separated (`true` and hop counts are refused).
   */
  trustProxy: TrustedProxies;
  /** INGRESS_REQUEST_TIMEOUT_MS: longest time to receive a whole request (headers and body); default 10000. */
  requestTimeoutMs: number;
  /** INGRESS_BODY_LIMIT_BYTES: largest request body; larger ones get 413; default 4096. */
  bodyLimitBytes: number;
  /** INGRESS_SHUTDOWN_TIMEOUT_MS: how long SIGTERM waits for in-flight requests before forcing the exit (SIGKILL on itself); default 10000. */
  shutdownTimeoutMs: number;
  /** VEHICLES_DEFAULT_PAGE_SIZE: `limit` of GET /v1/vehicles when not given (max 100); default 20. */
  defaultPageSize: number;
  /** LOG_LEVEL: default info. */
  logLevel: LogLevel;
  jwt: JwtSettings;
  rateLimit: RateLimitSettings;
  redis: RedisSettings;
  reservations: ReservationRules;
  enqueue: EnqueueSettings;
  relay: RelaySettings;
  database: IngressDatabaseSettings;
  endpoints: StackEndpoints;
  kafka: KafkaClientSettings;
  producer: ProducerSettings;
  schemaRegistry: SchemaRegistryConfig;
}

const topicPattern = /^[A-Za-z0-9._-]{1,249}$/;

/** Reads and validates the whole ingress configuration; throws one ConfigError naming every bad variable. */
export function loadIngressConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): IngressConfig {
  const reader = new EnvReader(env);
  const endpoints = readStackEndpoints(reader);
  const topic = reader.string('RESERVATION_COMMANDS_TOPIC', 'fleet.reservation.commands.v1');
  if (!topicPattern.test(topic)) {
    reader.problem('RESERVATION_COMMANDS_TOPIC', topic, 'a Kafka topic name ([A-Za-z0-9._-], 1-249 chars)');
  }
  const keyPrefix = reader.string('RATE_LIMIT_KEY_PREFIX', 'fleet:ingress:rl:');
  if (!/^[\x21-\x7e]{1,64}$/.test(keyPrefix)) {
    reader.problem('RATE_LIMIT_KEY_PREFIX', keyPrefix, '1-64 printable ASCII characters without spaces');
  }
  const dbConnectTimeoutMs = reader.int('INGRESS_DB_CONNECT_TIMEOUT_MS', 2000, { min: 50, max: 120_000 });
  const config: IngressConfig = {
    host: reader.string('INGRESS_HOST', '127.0.0.1'),
    port: reader.int('INGRESS_PORT', 8080, { min: 0, max: 65_535 }),
    trustProxy: readTrustedProxies(reader),
    requestTimeoutMs: reader.int('INGRESS_REQUEST_TIMEOUT_MS', 10_000, { min: 100, max: 300_000 }),
    bodyLimitBytes: reader.int('INGRESS_BODY_LIMIT_BYTES', 4096, { min: 256, max: 1_048_576 }),
    shutdownTimeoutMs: reader.int('INGRESS_SHUTDOWN_TIMEOUT_MS', 10_000, { min: 100, max: 300_000 }),
    defaultPageSize: reader.int('VEHICLES_DEFAULT_PAGE_SIZE', 20, { min: 1, max: 100 }),
    logLevel: readLogLevel(reader),
    jwt: readJwtSettings(reader, env),
    rateLimit: {
      customer: {
        quota: reader.int('RATE_LIMIT_CUSTOMER_QUOTA', 60, { min: 1, max: 1_000_000 }),
        windowSeconds: reader.int('RATE_LIMIT_CUSTOMER_WINDOW_S', 60, { min: 1, max: 86_400 }),
      },
      ip: {
        quota: reader.int('RATE_LIMIT_IP_QUOTA', 300, { min: 1, max: 1_000_000 }),
        windowSeconds: reader.int('RATE_LIMIT_IP_WINDOW_S', 60, { min: 1, max: 86_400 }),
      },
      keyPrefix,
      fallbackInstances: reader.int('RATE_LIMIT_FALLBACK_INSTANCES', 1, { min: 1, max: 1000 }),
      fallbackMaxKeys: reader.int('RATE_LIMIT_FALLBACK_MAX_KEYS', 100_000, { min: 100, max: 10_000_000 }),
    },
    redis: {
      connectTimeoutMs: reader.int('REDIS_CONNECT_TIMEOUT_MS', 250, { min: 10, max: 10_000 }),
      commandTimeoutMs: reader.int('REDIS_COMMAND_TIMEOUT_MS', 250, { min: 10, max: 10_000 }),
      startTimeoutMs: reader.int('REDIS_START_TIMEOUT_MS', 2000, { min: 0, max: 60_000 }),
    },
    reservations: {
      maxDurationDays: reader.int('RESERVATION_MAX_DAYS', 30, { min: 1, max: 366 }),
      maxAdvanceDays: reader.int('RESERVATION_MAX_ADVANCE_DAYS', 365, { min: 1, max: 3660 }),
      startGraceSeconds: reader.int('RESERVATION_START_GRACE_S', 60, { min: 0, max: 3600 }),
      quotaPerCustomer: reader.int('RESERVATION_QUOTA_PER_CUSTOMER', 5, { min: 1, max: 10_000 }),
    },
    enqueue: {
      topic,
      produceTimeoutMs: reader.int('INGRESS_PRODUCE_TIMEOUT_MS', 5000, { min: 100, max: 120_000 }),
      breakerResetMs: reader.int('INGRESS_BREAKER_RESET_MS', 10_000, { min: 100, max: 600_000 }),
      breakerErrorPercent: reader.int('INGRESS_BREAKER_ERROR_PERCENT', 50, { min: 1, max: 100 }),
      breakerVolumeThreshold: reader.int('INGRESS_BREAKER_VOLUME', 5, { min: 0, max: 10_000 }),
      producerReconnectMs: reader.int('INGRESS_PRODUCER_RECONNECT_MS', 2000, { min: 100, max: 600_000 }),
    },
    relay: {
      intervalMs: reader.int('INGRESS_RELAY_INTERVAL_MS', 5000, { min: 0, max: 3_600_000 }),
      pendingAfterSeconds: reader.int('INGRESS_RELAY_PENDING_AFTER_S', 60, { min: 1, max: 86_400 }),
      repeatAfterSeconds: reader.int('INGRESS_RELAY_REPEAT_AFTER_S', 300, { min: 1, max: 86_400 }),
      batchSize: reader.int('INGRESS_RELAY_BATCH', 100, { min: 1, max: 10_000 }),
    },
    database: {
      placement: {
        maxBatchSize: reader.int('INGRESS_PLACE_BATCH_MAX', 32, { min: 1, max: 1000 }),
        maxBatchesInFlight: reader.int('INGRESS_PLACE_BATCHES_IN_FLIGHT', 4, { min: 1, max: 199 }),
        lingerMs: reader.int('INGRESS_PLACE_LINGER_MS', 0, { min: 0, max: 100 }),
        // Waiting for a placement slot is waiting for the database: same bound as a pool connection.
        maxQueueWaitMs: dbConnectTimeoutMs,
      },
      url: endpoints.databaseUrl,
      poolMax: reader.int('INGRESS_DB_POOL_MAX', 10, { min: 1, max: 200 }),
      statementTimeoutMs: reader.int('INGRESS_DB_STATEMENT_TIMEOUT_MS', 2000, { min: 50, max: 120_000 }),
      connectTimeoutMs: dbConnectTimeoutMs,
    },
    endpoints,
    kafka: readKafkaClientSettings(reader, endpoints, 'ingress'),
    producer: readProducerSettings(reader),
    schemaRegistry: readSchemaRegistryConfig(reader, endpoints),
  };
  // GETs, the relay and readiness need connections while placements run.
  if (config.database.placement.maxBatchesInFlight >= config.database.poolMax) {
    reader.problem(
      'INGRESS_PLACE_BATCHES_IN_FLIGHT',
      String(config.database.placement.maxBatchesInFlight),
      `fewer than INGRESS_DB_POOL_MAX (${config.database.poolMax})`,
    );
  }
  // A request still inside its own produce (up to the timeout) must never look stale: the relay
  // would race the answer the client is about to get.
  if (config.relay.pendingAfterSeconds * 1000 < 2 * config.enqueue.produceTimeoutMs) {
    reader.problem(
      'INGRESS_RELAY_PENDING_AFTER_S',
      String(config.relay.pendingAfterSeconds),
      `at least twice INGRESS_PRODUCE_TIMEOUT_MS (${config.enqueue.produceTimeoutMs} ms)`,
    );
  }
  reader.done();
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const entry of Object.values(value)) deepFreeze(entry);
    Object.freeze(value);
  }
  return value;
}
