import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { createFreshDatabase, type FreshDatabase } from '../../db/testing/freshDatabase.ts';
import { checkSubject } from '../../schemas/checkSubject.ts';
import { findSubjectDefinition } from '../../schemas/subjects.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../workers/runtime/avro/schemaRegistryConfig.ts';
import { createTopics, deleteTopics } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { workerProcessEnv } from '../../workers/runtime/worker/workerNodeOptions.ts';
import { prepareFleet } from '../fleet/prepareFleet.ts';
import { ProcessSupervisor } from '../fleet/processSupervisor.ts';
import { repoRoot } from '../stack/stackConfig.ts';

/** A fleet of its own: random topics and subjects, a fresh database, one ingress and N settlers. */
export interface IsolatedFleet {
  ingressUrl: string;
  commandsTopic: string;
  eventsTopic: string;
  settlerGroup: string;
  database: FreshDatabase;
  supervisor: ProcessSupervisor;
  /** Environment shared by the fleet's processes (for extra processes, e.g. a replay settler). */
  env: NodeJS.ProcessEnv;
  /** Stops the processes, then drops the database, topics and subjects. */
  teardown(): Promise<void>;
}

/** A free loopback port (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Provisions and starts an isolated fleet on the running local stack, so a storm never touches
 * the topics, groups or database of `npm start` or of other tests. Rate limits are raised: the
 * storm measures settlement correctness, not the limiter (its own tests cover it).
 */
export async function startIsolatedFleet(options: {
  settlers: number;
  partitions: number;
  log?: (line: string) => void;
  extraEnv?: Record<string, string>;
}): Promise<IsolatedFleet> {
  const log = options.log ?? (() => undefined);
  const suffix = randomBytes(4).toString('hex');
  const commandsTopic = `storm.${suffix}.reservation.commands.v1`;
  const eventsTopic = `storm.${suffix}.reservation.events.v1`;
  const settlerGroup = `storm.${suffix}.reservation-settler`;
  await createTopics(
    [commandsTopic, `${commandsTopic}.dlq`, eventsTopic].map((topic) => ({
      topic,
      partitions: options.partitions,
    })),
  );
  const registry = new SchemaRegistryClient(loadSchemaRegistryConfig());
  const subjects: string[] = [];
  try {
    for (const [topic, template] of [
      [commandsTopic, 'fleet.reservation.commands.v1-value'],
      [eventsTopic, 'fleet.reservation.events.v1-value'],
    ] as const) {
      const definition = findSubjectDefinition(template)!;
      const check = await checkSubject(registry, definition);
      await registry.register(`${topic}-value`, check.schemaText, definition.compatibility);
      subjects.push(`${topic}-value`);
    }
  } finally {
    registry.close();
  }
  const database = await createFreshDatabase('fleetstream_storm');
  const ingressPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...workerProcessEnv(),
    DATABASE_URL: database.urls.app,
    RESERVATION_COMMANDS_TOPIC: commandsTopic,
    RESERVATION_EVENTS_TOPIC: eventsTopic,
    SETTLER_GROUP_ID: settlerGroup,
    INGRESS_PORT: String(ingressPort),
    RATE_LIMIT_CUSTOMER_QUOTA: '100000',
    RATE_LIMIT_IP_QUOTA: '1000000',
    RATE_LIMIT_KEY_PREFIX: `storm:${suffix}:`,
    RESERVATION_QUOTA_PER_CUSTOMER: '1000',
    LOG_LEVEL: process.env.STORM_LOG_LEVEL ?? 'warn',
    ...options.extraEnv,
  };
  log(`provisioning database ${database.name}`);
  prepareFleet({ ...env, DATABASE_URL: database.urls.app }, true);
  const processes = [
    ...Array.from({ length: options.settlers }, async (_, i) => {
      const port = await freePort();
      return {
        name: `settler-${i + 1}`,
        entry: 'workers/reservation-settler/main.ts',
        readyUrl: `http://127.0.0.1:${port}/readyz`,
        env: { METRICS_PORT: String(port) },
      };
    }),
  ];
  const settlers = await Promise.all(processes);
  const supervisor = new ProcessSupervisor(
    repoRoot,
    [
      ...settlers,
      {
        name: 'ingress',
        entry: 'workers/ingress/main.ts',
        readyUrl: `http://127.0.0.1:${ingressPort}/readyz`,
        env: {} as Record<string, string>,
      },
    ].map((p) => ({ ...p, env: { ...(env as Record<string, string>), ...p.env } })),
    { quiet: process.env.STORM_LOG_LEVEL === undefined },
  );
  log(`starting ${options.settlers} settlers and the ingress`);
  await supervisor.start(120_000);
  return {
    ingressUrl: `http://127.0.0.1:${ingressPort}`,
    commandsTopic,
    eventsTopic,
    settlerGroup,
    database,
    supervisor,
    env,
    teardown: async () => {
      await supervisor.stop();
      await database.drop();
      await deleteTopics([commandsTopic, `${commandsTopic}.dlq`, eventsTopic]);
      const cleanup = new SchemaRegistryClient(loadSchemaRegistryConfig());
      for (const subject of subjects) await cleanup.deleteSubject(subject).catch(() => undefined);
      cleanup.close();
    },
  };
}
