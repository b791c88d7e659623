// Only the KafkaJS/RdKafka namespace exports: Node's ESM loader cannot see the package's other
// named CommonJS exports.
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { adminClientConfig, type KafkaClientSettings } from '../runtime/kafka/clientConfig.ts';
import { KafkaConnectError, toKafkaClientError } from '../runtime/kafka/librdkafkaErrors.ts';
import type { Logger } from '../runtime/observability/logger.ts';

/** The KafkaJS-compatible admin of @confluentinc/kafka-javascript 1.10 (types/kafkajs.d.ts). */
export type KafkaAdmin = KafkaJS.Admin;

/**
 * Forwards the client's own log lines to pino at debug: each failed request is already
 * reported once per poll by its caller, and librdkafka repeats a dead broker every reconnect.
 */
function debugLogger(logger: Logger | undefined): KafkaJS.Logger {
  const write = (message: string, extra?: object) =>
    logger?.debug({ ...extra, detail: message }, 'kafka admin');
  const adapter: KafkaJS.Logger = {
    info: write,
    error: write,
    warn: write,
    debug: write,
    namespace: () => adapter,
    setLogLevel: () => undefined,
  };
  return adapter;
}

/**
 * Opens a KafkaJS admin with the fleet's client settings (timeouts, backoff, client id). The
 * client connects lazily: an unreachable broker shows up as failing requests, not here.
 */
export async function openKafkaAdmin(settings: KafkaClientSettings, logger?: Logger): Promise<KafkaAdmin> {
  const kafka = new KafkaJS.Kafka({
    ...adminClientConfig(settings),
    kafkaJS: { logger: debugLogger(logger), logLevel: KafkaJS.logLevel.WARN },
  } as KafkaJS.CommonConstructorConfig);
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw toKafkaClientError(
      error,
      `could not create a Kafka admin client for ${settings.bootstrapServers}`,
      KafkaConnectError,
    );
  }
  return admin;
}
