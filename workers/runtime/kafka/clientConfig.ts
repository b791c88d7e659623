import type {
  ConsumerGlobalConfig,
  GlobalConfig,
  ProducerGlobalConfig,
  ProducerTopicConfig,
} from '@confluentinc/kafka-javascript';
import type { EnvReader } from '../config/envReader.ts';
import type { StackEndpoints } from '../config/stackEndpoints.ts';

/** Settings every librdkafka client of a process shares (producer, consumer, admin). */
export interface KafkaClientSettings {
  /** KAFKA_BOOTSTRAP_SERVERS (via StackEndpoints): host:port list; default 127.0.0.1:9092. */
  bootstrapServers: string;
  /** KAFKA_CLIENT_ID: client.id shown in broker logs and quotas; default the worker name. */
  clientId: string;
  /** KAFKA_SOCKET_TIMEOUT_MS: network request timeout; default 30000 (librdkafka's 60 s hides a dead broker too long). */
  socketTimeoutMs: number;
  /** KAFKA_CONNECTION_SETUP_TIMEOUT_MS: TCP+TLS+SASL setup limit per broker connection; default 10000. */
  connectionSetupTimeoutMs: number;
  /** KAFKA_RECONNECT_BACKOFF_MS: first reconnect delay (doubles with jitter); default 100. */
  reconnectBackoffMs: number;
  /** KAFKA_RECONNECT_BACKOFF_MAX_MS: reconnect delay cap; default 2000, so a restarted broker is found quickly. */
  reconnectBackoffMaxMs: number;
  /** KAFKA_RETRY_BACKOFF_MS: first protocol retry delay; default 100. */
  retryBackoffMs: number;
  /** KAFKA_RETRY_BACKOFF_MAX_MS: protocol retry delay cap; default 1000. */
  retryBackoffMaxMs: number;
  /** KAFKA_LOG_LEVEL: librdkafka syslog level 0-7 forwarded as `event.log`; default 4 (warning). */
  logLevel: number;
}

/** Reads the shared client settings; `clientId` defaults to the worker name. Call `reader.done()` afterwards. */
export function readKafkaClientSettings(
  reader: EnvReader,
  endpoints: StackEndpoints,
  defaultClientId: string,
): KafkaClientSettings {
  return {
    bootstrapServers: endpoints.kafkaBootstrap,
    clientId: reader.string('KAFKA_CLIENT_ID', defaultClientId),
    socketTimeoutMs: reader.int('KAFKA_SOCKET_TIMEOUT_MS', 30_000, { min: 10, max: 300_000 }),
    connectionSetupTimeoutMs: reader.int('KAFKA_CONNECTION_SETUP_TIMEOUT_MS', 10_000, {
      min: 1000,
      max: 300_000,
    }),
    reconnectBackoffMs: reader.int('KAFKA_RECONNECT_BACKOFF_MS', 100, { min: 0, max: 60_000 }),
    reconnectBackoffMaxMs: reader.int('KAFKA_RECONNECT_BACKOFF_MAX_MS', 2000, { min: 0, max: 300_000 }),
    retryBackoffMs: reader.int('KAFKA_RETRY_BACKOFF_MS', 100, { min: 1, max: 60_000 }),
    retryBackoffMaxMs: reader.int('KAFKA_RETRY_BACKOFF_MAX_MS', 1000, { min: 1, max: 300_000 }),
    logLevel: reader.int('KAFKA_LOG_LEVEL', 4, { min: 0, max: 7 }),
  };
}

/** Settings with the contract defaults, for tools and tests that do not read the environment. */
export function defaultKafkaClientSettings(
  bootstrapServers: string,
  clientId: string,
  overrides: Partial<KafkaClientSettings> = {},
): KafkaClientSettings {
  return {
    bootstrapServers,
    clientId,
    socketTimeoutMs: 30_000,
    connectionSetupTimeoutMs: 10_000,
    reconnectBackoffMs: 100,
    reconnectBackoffMaxMs: 2000,
    retryBackoffMs: 100,
    retryBackoffMaxMs: 1000,
    logLevel: 4,
    ...overrides,
  };
}

/** librdkafka properties shared by every client type. */
export function baseClientConfig(settings: KafkaClientSettings): GlobalConfig {
  return {
    'bootstrap.servers': settings.bootstrapServers,
    'client.id': settings.clientId,
    'socket.timeout.ms': settings.socketTimeoutMs,
    'socket.connection.setup.timeout.ms': settings.connectionSetupTimeoutMs,
    'socket.keepalive.enable': true,
    // TCP_NODELAY, as the Java client always sets it: librdkafka's default leaves Nagle on, which
    // can hold a small request back while an earlier one on the same socket is unacknowledged.
    'socket.nagle.disable': true,
    'reconnect.backoff.ms': settings.reconnectBackoffMs,
    'reconnect.backoff.max.ms': Math.max(settings.reconnectBackoffMs, settings.reconnectBackoffMaxMs),
    'retry.backoff.ms': settings.retryBackoffMs,
    'retry.backoff.max.ms': Math.max(settings.retryBackoffMs, settings.retryBackoffMaxMs),
    log_level: settings.logLevel,
  };
}

/** What a producer adds on top of the base settings (see producer/producerSettings.ts for the env variables). */
export interface ProducerTuning {
  lingerMs: number;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  messageTimeoutMs: number;
  topicMetadataPropagationMs: number;
  queueMaxMessages: number;
  queueMaxKbytes: number;
}

/**
 * Producer properties: idempotent (acks=all, no duplicates or reordering on internal retries),
 * delivery reports on, and a bounded message timeout so a send fails instead of waiting forever.
 */
export function producerClientConfig(
  settings: KafkaClientSettings,
  tuning: ProducerTuning,
): ProducerGlobalConfig & ProducerTopicConfig {
  return {
    ...baseClientConfig(settings),
    'enable.idempotence': true,
    acks: -1,
    // Java-compatible key hashing (librdkafka defaults to CRC32): a vehicle maps to the same
    // partition whether the ingress, a worker, a replay tool or a Java service writes it.
    partitioner: 'murmur2_random',
    'linger.ms': tuning.lingerMs,
    'compression.codec': tuning.compression,
    'message.timeout.ms': tuning.messageTimeoutMs,
    // A missing topic (auto-create is off) fails with UNKNOWN_TOPIC_OR_PART after this window
    // rather than with an anonymous MSG_TIMED_OUT, as long as it is below the message timeout.
    'topic.metadata.propagation.max.ms': tuning.topicMetadataPropagationMs,
    'queue.buffering.max.messages': tuning.queueMaxMessages,
    'queue.buffering.max.kbytes': tuning.queueMaxKbytes,
    dr_cb: true,
  };
}

/**
 * Consumer properties the runtime relies on: it commits its own contiguous watermark with
 * explicit offsets, so auto-commit and automatic offset storing are off. Callers add the rest
 * (assignment strategy, fetch sizes) through `overrides`.
 */
export function consumerClientConfig(
  settings: KafkaClientSettings,
  groupId: string,
  overrides: ConsumerGlobalConfig = {},
): ConsumerGlobalConfig {
  return {
    ...baseClientConfig(settings),
    'group.id': groupId,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    ...overrides,
  };
}

/** Admin client properties (topic catalog, lag monitor, tests). */
export function adminClientConfig(settings: KafkaClientSettings): GlobalConfig {
  return baseClientConfig(settings);
}
