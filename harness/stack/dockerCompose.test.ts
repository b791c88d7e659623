import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaultStackEndpoints } from '../../workers/runtime/config/stackEndpoints.ts';
import { containerImages } from './containerStack.ts';
import { brokerProperties } from './kafkaBroker.ts';
import { repoRoot } from './stackConfig.ts';

interface ComposeService {
  image?: string;
  container_name?: string;
  ports?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string | string[] };
}

const compose = parse(fs.readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), {
  uniqueKeys: true,
}) as { services?: Record<string, ComposeService> };
const services = compose.services ?? {};

/** Compose service name → key of containerImages and the native default host port (BRIEF §4). */
const expectations = {
  kafka: { image: containerImages.kafka, hostPort: portOf(`tcp://${defaultStackEndpoints.kafkaBootstrap}`) },
  'schema-registry': {
    image: containerImages.registry,
    hostPort: portOf(defaultStackEndpoints.schemaRegistryUrl),
  },
  postgres: { image: containerImages.postgres, hostPort: portOf(defaultStackEndpoints.databaseUrl) },
  redis: { image: containerImages.redis, hostPort: portOf(defaultStackEndpoints.redisUrl) },
} as const;

function portOf(url: string): number {
  const port = new URL(url).port;
  if (!port) throw new Error(`${url} names no port; the test needs the explicit default`);
  return Number(port);
}

function service(name: string): ComposeService {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** Host ports published by a service ("127.0.0.1:9092:9092" → 9092). */
function hostPorts(entry: ComposeService): number[] {
  return (entry.ports ?? []).map((port) => {
    const match = /^(?:(?<ip>[\d.]+):)?(?<host>\d+):(?<container>\d+)(?:\/tcp)?$/.exec(String(port));
    if (!match?.groups) throw new Error(`unreadable port mapping ${port}`);
    return Number(match.groups.host);
  });
}

/** The apache/kafka image's spelling of a broker property as an environment variable. */
function kafkaEnvName(property: string): string {
  return `KAFKA_${property.replaceAll('-', '___').replaceAll('_', '__').replaceAll('.', '_').toUpperCase()}`;
}

describe('docker-compose.yml', () => {
  it('declares exactly the four stack services, each with a healthcheck', () => {
    expect(Object.keys(services).sort()).toEqual(['kafka', 'postgres', 'redis', 'schema-registry']);
    for (const [name, entry] of Object.entries(services)) {
      expect(entry.healthcheck?.test, `${name} healthcheck`).toBeTruthy();
    }
  });

  it.each(Object.entries(expectations))(
    'runs %s from the image the container provider uses',
    (name, expected) => {
      expect(service(name).image).toBe(expected.image);
    },
  );

  it.each(Object.entries(expectations))(
    'publishes %s on the native default port, on loopback only',
    (name, expected) => {
      expect(hostPorts(service(name))).toEqual([expected.hostPort]);
      for (const port of service(name).ports ?? []) expect(String(port)).toMatch(/^127\.0\.0\.1:/);
    },
  );

  it('names containers as harness/stack/containerStack.ts does, so both providers see one stack', () => {
    for (const [name, entry] of Object.entries(services))
      expect(entry.container_name).toBe(`fleetstream-${name}`);
  });

  it('runs Kafka in KRaft combined mode with auto topic creation off', () => {
    const env = service('kafka').environment ?? {};
    expect(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://${defaultStackEndpoints.kafkaBootstrap}`);
    expect(env.CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Object.keys(env).some((key) => key.includes('ZOOKEEPER'))).toBe(false);
  });

  it('configures Kafka like the native broker, setting for setting', () => {
    const env = service('kafka').environment ?? {};
    const native = brokerProperties({ host: '127.0.0.1', port: 9092, controllerPort: 9093, dataDir: '/data' })
      .split('\n')
      .filter((line) => line.includes('=') && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const)
      // Addresses and paths differ by design between a container and a host process.
      .filter(
        ([key]) =>
          !['listeners', 'advertised.listeners', 'controller.quorum.voters', 'log.dirs'].includes(key),
      );
    expect(native.length).toBeGreaterThan(15);
    for (const [key, value] of native) expect(env[kafkaEnvName(key)], key).toBe(value);
  });

  it('serves the registry’s Confluent-compatible API in global-id mode, and checks health on that path', () => {
    const registry = service('schema-registry');
    expect(registry.environment?.APICURIO_CCOMPAT_LEGACY_ID_MODE_ENABLED).toBe('false');
    const apiPath = new URL(defaultStackEndpoints.schemaRegistryUrl).pathname;
    expect(apiPath).toBe('/apis/ccompat/v7');
    expect(JSON.stringify(registry.healthcheck?.test)).toContain(`${apiPath}/subjects`);
  });

  it('lets PostgreSQL trust local connections, as the native stack does', () => {
    expect(service('postgres').environment?.POSTGRES_HOST_AUTH_METHOD).toBe('trust');
  });
});
