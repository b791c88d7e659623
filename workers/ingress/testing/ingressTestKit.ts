// Integration-test helpers for the ingress: a fresh migrated and seeded database, a random
// commands topic with its schema registered, an isolated rate-limit key prefix, and started
// services whose every client is closed by `close()`. Not for production code.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import pg from 'pg';
import { migrate } from '../../../db/migrator.ts';
import { localVehicleCatalog, seedLocalVehicles } from '../../../db/seeds/localVehicleCatalog.ts';
import { createFreshDatabase, type FreshDatabase } from '../../../db/testing/freshDatabase.ts';
import { readAvroSchemaFile } from '../../../schemas/avroSchemaFile.ts';
import { findSubjectDefinition } from '../../../schemas/subjects.ts';
import { AvroSerde } from '../../runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../../runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../runtime/avro/schemaRegistryConfig.ts';
import { TestTopics } from '../../runtime/kafka/testTopics.ts';
import { createLogger, type Logger } from '../../runtime/observability/logger.ts';
import { mintDevToken } from '../auth/devToken.ts';
import type { Role } from '../auth/jwtSettings.ts';
import { type IngressConfig, loadIngressConfig } from '../ingressConfig.ts';
import { IngressService } from '../ingressService.ts';

/** A port nothing listens on: bind an ephemeral one, then release it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Log lines captured from a service, parsed. */
export class CapturedLog {
  readonly lines: Record<string, unknown>[] = [];
  readonly logger: Logger;

  constructor(worker = 'ingress-test') {
    const lines = this.lines;
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    this.logger = createLogger({ worker, level: 'debug', destination });
  }

  /** Lines whose message is `msg`. */
  withMessage(msg: string): Record<string, unknown>[] {
    return this.lines.filter((line) => line.msg === msg);
  }
}

/** The seeded vehicle ids of the local catalog. */
export const seededVehicleIds = localVehicleCatalog().map((v) => v.id);

/**
 * One test file's world: database, topic, schema subject, rate-limit prefix. `config(overrides)`
 * builds a validated IngressConfig pointing at it; `start(...)` starts services that `close()` stops.
 */
export class IngressTestEnvironment {
  readonly topics = new TestTopics();
  readonly registry = new SchemaRegistryClient(loadSchemaRegistryConfig());
  readonly rateLimitPrefix = `test:ingress:${randomUUID().slice(0, 8)}:`;
  database!: FreshDatabase;
  topic!: string;
  /** A pool as the migrator (table owner), to inspect and arrange rows. */
  owner!: pg.Pool;
  private readonly services: IngressService[] = [];
  private subject: string | undefined;

  /** Creates the database (migrated, seeded), the topic and the subject. */
  async setUp(purpose: string): Promise<void> {
    this.database = await createFreshDatabase('fleetstream_ingress_test');
    await migrate({ connectionString: this.database.urls.migrator });
    this.owner = new pg.Pool({ connectionString: this.database.urls.migrator, max: 2 });
    await seedLocalVehicles(this.owner);
    this.topic = await this.topics.create(purpose, 3);
    const definition = findSubjectDefinition('fleet.reservation.commands.v1-value');
    if (!definition) throw new Error('commands subject definition missing');
    this.subject = `${this.topic}-value`;
    await this.registry.register(
      this.subject,
      readAvroSchemaFile(definition.schemaFile).canonicalText,
      definition.compatibility,
    );
  }

  /** The environment an ingress of this world reads. */
  env(overrides: Record<string, string> = {}): Record<string, string | undefined> {
    return {
      DATABASE_URL: this.database.urls.app,
      RESERVATION_COMMANDS_TOPIC: this.topic,
      RATE_LIMIT_KEY_PREFIX: this.rateLimitPrefix,
      INGRESS_PORT: '0',
      LOG_LEVEL: 'debug',
      KAFKA_BOOTSTRAP_SERVERS: process.env.KAFKA_BOOTSTRAP_SERVERS,
      SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL,
      REDIS_URL: process.env.REDIS_URL,
      ...overrides,
    };
  }

  /** A validated config of this world. */
  config(overrides: Record<string, string> = {}): IngressConfig {
    return loadIngressConfig(this.env(overrides));
  }

  /** Starts an ingress (port 0) with captured logs; `close()` stops it. */
  async start(
    overrides: Record<string, string> = {},
    options: { waitForProducer?: boolean; now?: () => number } = {},
  ): Promise<{ service: IngressService; log: CapturedLog; config: IngressConfig }> {
    const config = this.config(overrides);
    const log = new CapturedLog();
    const service = new IngressService(config, {
      logger: log.logger,
      ...(options.now ? { now: options.now } : {}),
    });
    this.services.push(service);
    await service.start();
    if (options.waitForProducer ?? true) await waitFor(() => service.ingress.publisher.health().ok, 20_000);
    return { service, log, config };
  }

  /** A dev token this world's ingress accepts. */
  token(subject: string, role: Role = 'customer', ttlSeconds = 600): Promise<string> {
    return mintDevToken(this.config().jwt, { subject, role, ttlSeconds });
  }

  /** Stops every service, deletes the subject and topic, drops the database. */
  async close(): Promise<void> {
    await Promise.all(this.services.map((s) => s.stop()));
    await this.owner?.end();
    if (this.subject) await this.registry.deleteSubject(this.subject, { permanent: false });
    await this.registry.close();
    await this.topics.close();
    await this.database?.drop();
  }
}

/** Polls `condition` every 20 ms until it holds; rejects after `timeoutMs` (no timing assertion: a bound). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One record read back from a topic, its value decoded with the writer schema. */
export interface ReadCommand {
  key: string;
  partition: number;
  headers: Record<string, string>;
  value: unknown;
}

/** The reservation id of a ReservationRequested record (undefined for other commands). */
export function requestedReservationId(record: ReadCommand): string | undefined {
  return (record.value as { payload: Record<string, { reservationId?: string }> }).payload[
    'dev.fleetstream.reservation.ReservationRequested'
  ]?.reservationId;
}

/** Reads `count` records from the start of `topic` and decodes them (Confluent wire format); fails after `timeoutMs`. */
export function readCommands(
  topic: string,
  count: number,
  registry: SchemaRegistryClient,
  timeoutMs = 30_000,
): Promise<ReadCommand[]> {
  return readCommandsUntil(topic, registry, (records) => records.length >= count, timeoutMs);
}

/** The first record of `topic` that `matches`, reading from the start. */
export async function findCommand(
  topic: string,
  registry: SchemaRegistryClient,
  matches: (record: ReadCommand) => boolean,
): Promise<ReadCommand> {
  const records = await readCommandsUntil(topic, registry, (read) => read.some(matches));
  return records.find(matches) as ReadCommand;
}

/** Reads records from the start of `topic` until `enough(records)`; fails after `timeoutMs`. */
export async function readCommandsUntil(
  topic: string,
  registry: SchemaRegistryClient,
  enough: (records: ReadCommand[]) => boolean,
  timeoutMs = 30_000,
): Promise<ReadCommand[]> {
  const serde = new AvroSerde({ source: registry });
  const kafka = new KafkaJS.Kafka({
    kafkaJS: {
      brokers: (process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092').split(','),
      logLevel: KafkaJS.logLevel.NOTHING,
    },
  });
  const consumer = kafka.consumer({
    kafkaJS: { groupId: `ingress-read-${randomUUID()}`, fromBeginning: true },
  });
  const records: ReadCommand[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`read ${records.length} records of ${topic} within ${timeoutMs} ms, not enough`)),
        timeoutMs,
      );
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(message.headers ?? {})) {
              if (Buffer.isBuffer(value)) headers[name] = value.toString();
            }
            records.push({
              key: message.key?.toString() ?? '',
              partition,
              headers,
              value: await serde.decode(message.value as Buffer),
            });
            if (enough(records)) done();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}
