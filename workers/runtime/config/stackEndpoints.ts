import { EnvReader } from './envReader.ts';

/** Where the fleet's backing services are: the contract defaults of BRIEF §4, overridable by environment. */
export interface StackEndpoints {
  /** KAFKA_BOOTSTRAP_SERVERS: Kafka bootstrap servers, host:port list. */
  kafkaBootstrap: string;
  /** SCHEMA_REGISTRY_URL: base URL of the Confluent-compatible registry API. */
  schemaRegistryUrl: string;
  /** DATABASE_URL: PostgreSQL connection string of the application role. */
  databaseUrl: string;
  /** REDIS_URL: Redis connection string. */
  redisUrl: string;
}

/** Contract defaults for the local stack. */
export const defaultStackEndpoints: StackEndpoints = Object.freeze({
  kafkaBootstrap: '127.0.0.1:9092',
  schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
  databaseUrl: 'postgres://fleetstream_app@127.0.0.1:5432/fleetstream',
  redisUrl: 'redis://127.0.0.1:6379',
});

/** Reads the endpoint variables with an existing reader, so a process validates them with the rest of its config. */
export function readStackEndpoints(reader: EnvReader): StackEndpoints {
  return {
    kafkaBootstrap: reader.hostPorts('KAFKA_BOOTSTRAP_SERVERS', defaultStackEndpoints.kafkaBootstrap),
    schemaRegistryUrl: reader.url('SCHEMA_REGISTRY_URL', defaultStackEndpoints.schemaRegistryUrl, [
      'http:',
      'https:',
    ]),
    databaseUrl: reader.url('DATABASE_URL', defaultStackEndpoints.databaseUrl, ['postgres:', 'postgresql:']),
    redisUrl: reader.url('REDIS_URL', defaultStackEndpoints.redisUrl, ['redis:', 'rediss:']),
  };
}

/** Reads just the endpoints (for tools and tests); throws ConfigError naming bad variables. */
export function loadStackEndpoints(
  env: Readonly<Record<string, string | undefined>> = process.env,
): StackEndpoints {
  const reader = new EnvReader(env);
  const endpoints = readStackEndpoints(reader);
  reader.done();
  return Object.freeze(endpoints);
}
