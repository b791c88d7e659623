import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { probeKafka, probePostgres, probeRedis, probeRegistry } from './healthProbes.ts';
import { waitUntilHealthy } from './processControl.ts';
import type { StackConfig } from './stackConfig.ts';
import type { ServiceStatus, StackService } from './stackService.ts';
import { StackServiceError } from './stackService.ts';

const run = promisify(execFile);

/** Image tags matching the native provider's versions (and docker-compose.yml). */
export const containerImages = {
  kafka: 'apache/kafka:4.1.1',
  registry: 'apicurio/apicurio-registry:3.0.9',
  postgres: 'postgres:15',
  redis: 'redis:7',
} as const;

/** True when a Docker engine answers /_ping on DOCKER_HOST or the default unix socket. */
export async function dockerEngineReachable(timeoutMs = 1500): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  const target: http.RequestOptions = host?.startsWith('tcp://')
    ? {
        host: new URL(host.replace('tcp://', 'http://')).hostname,
        port: Number(new URL(host.replace('tcp://', 'http://')).port),
      }
    : { socketPath: host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock' };
  return new Promise((resolve) => {
    const request = http.get({ ...target, path: '/_ping', timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/**
 * The testcontainers provider: the same four services as containers on the same host ports.
 * Containers are created with `withReuse()` so a second `up` finds them; enable reuse with
 * TESTCONTAINERS_REUSE_ENABLE=true. Used when STACK_PROVIDER=containers, or =auto with a Docker engine.
 */
export function containerStackServices(config: StackConfig): StackService[] {
  const kafkaPort = Number(config.endpoints.kafkaBootstrap.split(',')[0]?.split(':').at(-1) ?? 9092);
  const registryPort = Number(new URL(config.endpoints.schemaRegistryUrl).port || 8081);
  const pgPort = Number(new URL(config.databaseAdminUrl).port || 5432);
  const redisPort = Number(new URL(config.endpoints.redisUrl).port || 6379);
  return [
    new ContainerService(
      'postgres',
      `127.0.0.1:${pgPort}`,
      containerImages.postgres,
      pgPort,
      5432,
      {
        POSTGRES_HOST_AUTH_METHOD: 'trust',
      },
      () => probePostgres(config.databaseAdminUrl),
    ),
    new ContainerService('redis', `127.0.0.1:${redisPort}`, containerImages.redis, redisPort, 6379, {}, () =>
      probeRedis(config.endpoints.redisUrl),
    ),
    new ContainerService(
      'kafka',
      `127.0.0.1:${kafkaPort}`,
      containerImages.kafka,
      kafkaPort,
      9092,
      {
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_HEAP_OPTS: `-Xmx${config.kafkaHeap} -Xms256m`,
      },
      () => probeKafka(config.endpoints.kafkaBootstrap),
    ),
    new ContainerService(
      'schema-registry',
      config.endpoints.schemaRegistryUrl,
      containerImages.registry,
      registryPort,
      8080,
      {
        APICURIO_CCOMPAT_LEGACY_ID_MODE_ENABLED: 'false',
      },
      () => probeRegistry(config.endpoints.schemaRegistryUrl),
    ),
  ];
}

class ContainerService implements StackService {
  readonly logFile = undefined;
  readonly name: string;
  readonly endpoint: string;
  private readonly image: string;
  private readonly hostPort: number;
  private readonly containerPort: number;
  private readonly environment: Record<string, string>;
  private readonly probe: () => Promise<void>;

  constructor(
    name: string,
    endpoint: string,
    image: string,
    hostPort: number,
    containerPort: number,
    environment: Record<string, string>,
    probe: () => Promise<void>,
  ) {
    this.name = name;
    this.endpoint = endpoint;
    this.image = image;
    this.hostPort = hostPort;
    this.containerPort = containerPort;
    this.environment = environment;
    this.probe = probe;
  }

  private get containerName(): string {
    return `fleetstream-${this.name}`;
  }

  async up(): Promise<'started' | 'already-running' | 'external'> {
    if (await this.answers()) return 'already-running';
    const { GenericContainer, Wait } = await import('testcontainers');
    try {
      await new GenericContainer(this.image)
        .withName(this.containerName)
        .withEnvironment(this.environment)
        .withExposedPorts({ container: this.containerPort, host: this.hostPort })
        .withWaitStrategy(Wait.forListeningPorts())
        .withReuse()
        .start();
    } catch (error) {
      throw new StackServiceError(
        this.name,
        `container ${this.image} did not start: ${(error as Error).message}`,
      );
    }
    const result = await waitUntilHealthy(this.probe, 120_000);
    if (!result.ok)
      throw new StackServiceError(this.name, `container ${this.containerName} ${result.reason}`);
    return 'started';
  }

  async down(): Promise<boolean> {
    try {
      await run('docker', ['rm', '-f', this.containerName]);
      return true;
    } catch {
      return false;
    }
  }

  private async answers(): Promise<boolean> {
    try {
      await this.probe();
      return true;
    } catch {
      return false;
    }
  }

  async status(): Promise<ServiceStatus> {
    const healthy = await this.answers();
    let running = false;
    try {
      const { stdout } = await run('docker', ['inspect', '-f', '{{.State.Running}}', this.containerName]);
      running = stdout.trim() === 'true';
    } catch {
      running = false;
    }
    return {
      service: this.name,
      endpoint: this.endpoint,
      healthy,
      ownership: running ? 'managed' : healthy ? 'external' : 'down',
      detail: `container ${this.containerName}; logs: docker logs ${this.containerName}`,
    };
  }
}
