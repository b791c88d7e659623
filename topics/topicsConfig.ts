import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvReader } from '../workers/runtime/config/envReader.ts';
import { readStackEndpoints } from '../workers/runtime/config/stackEndpoints.ts';
import { defaultCatalogFile } from './loadCatalog.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Settings of the topic tool, from the environment; flags of the CLI override catalogFile and profile. */
export interface TopicsConfig {
  /** KAFKA_BOOTSTRAP_SERVERS: the cluster to plan against. */
  kafkaBootstrap: string;
  /** TOPICS_CATALOG: the catalog file (default topics/catalog.yaml). */
  catalogFile: string;
  /** TOPICS_PROFILE: the catalog profile (default local, the single-broker stack). */
  profile: string;
  /** TOPICS_TIMEOUT_MS: how long one admin request, or waiting for new partitions to appear, may take. */
  timeoutMs: number;
  /** KAFKA_LIBS_DIR: Kafka client jars for the config helper (default: the local stack's broker libs). */
  kafkaLibsDir: string;
  /** Where the compiled config helper is cached (under STACK_DIR, which git ignores). */
  cacheDir: string;
}

/** Reads the topic tool's settings; throws ConfigError naming every bad variable. */
export function loadTopicsConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): TopicsConfig {
  const reader = new EnvReader(env);
  const endpoints = readStackEndpoints(reader);
  const stackDir = path.resolve(reader.string('STACK_DIR', path.join(repoRoot, '.stack')));
  const kafkaVersion = reader.string('KAFKA_VERSION', '4.1.1');
  const config: TopicsConfig = {
    kafkaBootstrap: endpoints.kafkaBootstrap,
    catalogFile: path.resolve(reader.string('TOPICS_CATALOG', defaultCatalogFile)),
    profile: reader.string('TOPICS_PROFILE', 'local'),
    timeoutMs: reader.int('TOPICS_TIMEOUT_MS', 30_000, { min: 1000, max: 600_000 }),
    kafkaLibsDir: path.resolve(
      reader.string('KAFKA_LIBS_DIR', path.join(stackDir, 'dist', `kafka-${kafkaVersion}`, 'libs')),
    ),
    cacheDir: path.join(stackDir, 'cache', 'topic-config-admin'),
  };
  reader.done();
  return Object.freeze(config);
}
