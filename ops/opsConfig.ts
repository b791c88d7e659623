import {
  readSchemaRegistryConfig,
  type SchemaRegistryConfig,
} from '../workers/runtime/avro/schemaRegistryConfig.ts';
import { EnvReader } from '../workers/runtime/config/envReader.ts';
import { readStackEndpoints } from '../workers/runtime/config/stackEndpoints.ts';
import { type KafkaClientSettings, readKafkaClientSettings } from '../workers/runtime/kafka/clientConfig.ts';
import { type ProducerSettings, readProducerSettings } from '../workers/runtime/producer/producerSettings.ts';

/** What the ops commands talk to, from the same environment variables as the fleet (README). */
export interface OpsConfig {
  client: KafkaClientSettings;
  producer: ProducerSettings;
  registry: SchemaRegistryConfig;
  /** OPS_ADMIN_TIMEOUT_MS: timeout of each admin request; default 10000. */
  adminTimeoutMs: number;
  /** REDIS_URL: where the workers keep the DLQ-cap blocks their partitions' next owners inherit. */
  redisUrl: string;
}

/** Reads the ops configuration; throws ConfigError naming every bad variable. */
export function loadOpsConfig(env: Readonly<Record<string, string | undefined>>): OpsConfig {
  const reader = new EnvReader(env);
  const endpoints = readStackEndpoints(reader);
  const config: OpsConfig = {
    client: readKafkaClientSettings(reader, endpoints, 'ops'),
    producer: readProducerSettings(reader),
    registry: readSchemaRegistryConfig(reader, endpoints),
    adminTimeoutMs: reader.int('OPS_ADMIN_TIMEOUT_MS', 10_000, { min: 100, max: 300_000 }),
    redisUrl: endpoints.redisUrl,
  };
  reader.done();
  return config;
}
