import { ConfigError } from '../config/configError.ts';
import type { Logger } from '../observability/logger.ts';
import { answerWithin } from '../resilience/answerWithin.ts';
import type { SchemaRegistryClient } from './schemaRegistryClient.ts';

/** How long a start waits for the registry's answer before going on without it. */
const startupProbeMs = 2000;

/**
 * Refuses to start (a ConfigError naming SCHEMA_REGISTRY_URL) when the URL serves something other
 * than a registry's Confluent-compatible API: a process that started anyway would pause on every
 * message it reads. A registry that does not answer in time only gets a warning: consumers pause
 * on it and resume when it answers, the ingress reports it in /readyz.
 */
export async function checkRegistryAtStart(client: SchemaRegistryClient, logger: Logger): Promise<void> {
  try {
    await answerWithin(client.verifyApi(), startupProbeMs);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    logger.warn(
      { url: client.url, err: (error as Error).message },
      'schema registry not verified at start; going on (reads pause until it answers)',
    );
  }
}
