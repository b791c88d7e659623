import { EnvReader } from '../config/envReader.ts';
import { readStackEndpoints, type StackEndpoints } from '../config/stackEndpoints.ts';

/** How a process talks to the schema registry. */
export interface SchemaRegistryConfig {
  /** SCHEMA_REGISTRY_URL (through the stack endpoints): base URL of the Confluent-compatible API. */
  url: string;
  /** SCHEMA_REGISTRY_TIMEOUT_MS: per-request timeout; a registry that hangs must not hang a consumer. Default 5000. */
  requestTimeoutMs: number;
  /**
   * SCHEMA_REGISTRY_RETRIES: retries of each request (all are idempotent) when the registry gives no
   * usable answer — refused, reset, timed out, 5xx, 408, 429 — with exponential backoff from 100 ms;
   * per client, so a request may take up to (retries + 1) × the timeout. Default 2.
   */
  retries: number;
}

/** Reads the registry settings with a process's reader, next to the endpoints it already read. */
export function readSchemaRegistryConfig(reader: EnvReader, endpoints: StackEndpoints): SchemaRegistryConfig {
  return {
    url: endpoints.schemaRegistryUrl.replace(/\/+$/, ''),
    requestTimeoutMs: reader.int('SCHEMA_REGISTRY_TIMEOUT_MS', 5000, { min: 100, max: 120_000 }),
    retries: reader.int('SCHEMA_REGISTRY_RETRIES', 2, { min: 0, max: 10 }),
  };
}

/** Reads just the registry settings (for tools and tests); throws ConfigError naming bad variables. */
export function loadSchemaRegistryConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): SchemaRegistryConfig {
  const reader = new EnvReader(env);
  const config = readSchemaRegistryConfig(reader, readStackEndpoints(reader));
  reader.done();
  return Object.freeze(config);
}
