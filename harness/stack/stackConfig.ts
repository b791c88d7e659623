import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvReader } from '../../workers/runtime/config/envReader.ts';
import { readStackEndpoints, type StackEndpoints } from '../../workers/runtime/config/stackEndpoints.ts';

/** The repository root (two levels above this file). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Configuration of the local stack provider, read once from the environment. */
export interface StackConfig {
  /** Endpoints every fleet process uses (KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL, DATABASE_URL, REDIS_URL). */
  endpoints: StackEndpoints;
  /** STACK_DIR: git-ignored folder for distributions, data, logs and pid files. */
  stackDir: string;
  /** STACK_PROVIDER: native (JVM processes here), containers (testcontainers) or auto (containers when a Docker engine answers). */
  provider: 'auto' | 'native' | 'containers';
  /** KAFKA_VERSION: Apache Kafka release fetched from Maven Central (must match harness/stack/pom.xml). */
  kafkaVersion: string;
  /** KAFKA_CONTROLLER_PORT: loopback port of the KRaft controller listener. */
  kafkaControllerPort: number;
  /** KAFKA_HEAP: JVM heap for the broker (-Xmx). */
  kafkaHeap: string;
  /** APICURIO_VERSION: Apicurio Registry release fetched from Maven Central. */
  apicurioVersion: string;
  /** REGISTRY_HEAP: JVM heap for the registry (-Xmx). */
  registryHeap: string;
  /** STACK_START_TIMEOUT_MS: how long `up` waits for a service to become healthy. */
  startTimeoutMs: number;
  /** DATABASE_ADMIN_URL: a superuser connection used to create roles and the database. */
  databaseAdminUrl: string;
}

/** Reads the stack configuration; throws ConfigError naming bad variables. */
export function loadStackConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): StackConfig {
  const reader = new EnvReader(env);
  const config: StackConfig = {
    endpoints: readStackEndpoints(reader),
    stackDir: path.resolve(reader.string('STACK_DIR', path.join(repoRoot, '.stack'))),
    provider: reader.oneOf('STACK_PROVIDER', ['auto', 'native', 'containers'] as const, 'native'),
    kafkaVersion: reader.string('KAFKA_VERSION', '4.1.1'),
    kafkaControllerPort: reader.int('KAFKA_CONTROLLER_PORT', 9093, { min: 1, max: 65535 }),
    kafkaHeap: reader.string('KAFKA_HEAP', '768m'),
    apicurioVersion: reader.string('APICURIO_VERSION', '3.0.9'),
    registryHeap: reader.string('REGISTRY_HEAP', '384m'),
    startTimeoutMs: reader.int('STACK_START_TIMEOUT_MS', 120_000, { min: 1000 }),
    databaseAdminUrl: reader.url('DATABASE_ADMIN_URL', 'postgres://postgres@127.0.0.1:5432/postgres', [
      'postgres:',
      'postgresql:',
    ]),
  };
  reader.done();
  return Object.freeze(config);
}

/** Paths inside the stack directory. */
export function stackPaths(stackDir: string) {
  return {
    dist: path.join(stackDir, 'dist'),
    data: path.join(stackDir, 'data'),
    logs: path.join(stackDir, 'logs'),
    run: path.join(stackDir, 'run'),
  };
}
