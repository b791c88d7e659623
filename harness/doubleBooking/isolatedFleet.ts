import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { createFreshDatabase, type FreshDatabase } from '../../db/testing/freshDatabase.ts';
import { checkSubject } from '../../schemas/checkSubject.ts';
import { findSubjectDefinition } from '../../schemas/subjects.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../workers/runtime/avro/schemaRegistryConfig.ts';
import { bootstrap, createTopics, deleteTopics } from '../../workers/runtime/testing/kafkaTestKit.ts';
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
  /** Every consumer group of this fleet starts with it; teardown deletes them all. */
  groupPrefix: string;
  /** Each settler's `/metrics` URL, by process name (`settler-1`, …). */
  settlerMetricsUrls: ReadonlyMap<string, string>;
  database: FreshDatabase;
  supervisor: ProcessSupervisor;
  /** Environment shared by the fleet's processes (for extra processes, e.g. a replay settler). */
  env: NodeJS.ProcessEnv;
  /** Stops the processes, then drops the database, topics, consumer groups and subjects. */
  teardown(): Promise<void>;
}

/** What an isolated fleet is called, how it is prepared, and what its processes get. */
export interface IsolatedFleetOptions {
  /** Prefix of its topic, group, database and rate-limit key names, so leftovers say which harness made them. */
  label: string;
  settlers: number;
  partitions: number;
  log?: (line: string) => void;
  /** Reaches every process, over the fleet's own variables. */
  extraEnv?: Record<string, string>;
  /** The processes' LOG_LEVEL; when unset, `warn`, and their output is not echoed. */
  logLevel?: string;
  /** Readies the stack and the fresh database before the processes start; default: every `npm start` step. */
  prepare?: (env: NodeJS.ProcessEnv) => void;
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

/** Broker error codes of a group delete that the teardown handles: gone already, or a member still in it. */
const groupIdNotFound = 69;
const nonEmptyGroup = 68;

/** A group a delete failed for. */
interface FailedGroupDelete {
  groupId: string;
  errorCode?: number | null;
  error?: { message: string } | null;
}

/** The groups a delete failed for, however the client reported them (it throws when any failed). */
async function failedGroupDeletes(admin: KafkaJS.Admin, groupIds: string[]): Promise<FailedGroupDelete[]> {
  try {
    return (await admin.deleteGroups(groupIds)).filter((r) => r.error);
  } catch (error) {
    const groups = (error as { groups?: FailedGroupDelete[] }).groups;
    if (!groups) throw error;
    return groups.filter((g) => g.error && g.errorCode !== groupIdNotFound);
  }
}

/** Deletes every consumer group whose name starts with `prefix` (the fleet's, replays', readers'). */
async function deleteGroupsStartingWith(prefix: string): Promise<void> {
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.ERROR },
  }).admin();
  await admin.connect();
  try {
    // A member killed by SIGKILL holds its group until the session timeout: try again a few times.
    for (let attempt = 1; ; attempt++) {
      const { groups } = await admin.listGroups();
      const ours = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
      if (ours.length === 0) return;
      const failed = await failedGroupDeletes(admin, ours);
      if (failed.length === 0) return;
      if (attempt === 5 || failed.some((f) => f.errorCode !== nonEmptyGroup)) {
        const why = failed.map((f) => `${f.groupId}: ${f.error?.message}`).join('; ');
        throw new Error(`deleting consumer groups: ${why}`);
      }
      await sleep(2000);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Provisions and starts an isolated fleet on the running local stack, so a harness never touches
 * the topics, groups or database of `npm start` or of other runs. A failed start removes what it
 * had created (processes, database, topics, subjects) before rethrowing.
 */
export async function startIsolatedFleet(options: IsolatedFleetOptions): Promise<IsolatedFleet> {
  const log = options.log ?? (() => undefined);
  const prepare = options.prepare ?? ((env: NodeJS.ProcessEnv) => prepareFleet(env, true));
  const suffix = randomBytes(4).toString('hex');
  const commandsTopic = `${options.label}.${suffix}.reservation.commands.v1`;
  const eventsTopic = `${options.label}.${suffix}.reservation.events.v1`;
  const topics = [commandsTopic, `${commandsTopic}.dlq`, eventsTopic];
  const groupPrefix = `${options.label}.${suffix}.`;
  const settlerGroup = `${groupPrefix}reservation-settler`;
  const subjects: string[] = [];
  let database: FreshDatabase | undefined;
  let supervisor: ProcessSupervisor | undefined;

  const teardown = async (): Promise<void> => {
    await supervisor?.stop();
    await database?.drop();
    await deleteTopics(topics);
    await deleteGroupsStartingWith(groupPrefix);
    const registry = new SchemaRegistryClient(loadSchemaRegistryConfig());
    for (const subject of subjects) await registry.deleteSubject(subject).catch(() => undefined);
    registry.close();
  };

  try {
    await createTopics(topics.map((topic) => ({ topic, partitions: options.partitions })));
    const registry = new SchemaRegistryClient(loadSchemaRegistryConfig());
    try {
      for (const [topic, template] of [
        [commandsTopic, 'fleet.reservation.commands.v1-value'],
        [eventsTopic, 'fleet.reservation.events.v1-value'],
      ] as const) {
        const definition = findSubjectDefinition(template)!;
        const check = await checkSubject(registry, definition);
        // Recorded before registering: a register whose answer is lost may still have created it.
        subjects.push(`${topic}-value`);
        await registry.register(`${topic}-value`, check.schemaText, definition.compatibility);
      }
    } finally {
      registry.close();
    }
    database = await createFreshDatabase(`fleetstream_${options.label}`);
    const ingressPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...workerProcessEnv(),
      DATABASE_URL: database.urls.app,
      RESERVATION_COMMANDS_TOPIC: commandsTopic,
      RESERVATION_EVENTS_TOPIC: eventsTopic,
      SETTLER_GROUP_ID: settlerGroup,
      INGRESS_PORT: String(ingressPort),
      RATE_LIMIT_KEY_PREFIX: `${options.label}:${suffix}:`,
      LOG_LEVEL: options.logLevel ?? 'warn',
      ...options.extraEnv,
    };
    log(`provisioning database ${database.name}`);
    prepare(env);
    const settlers = await Promise.all(
      Array.from({ length: options.settlers }, async (_, i) => {
        const port = await freePort();
        return {
          name: `settler-${i + 1}`,
          entry: 'workers/reservation-settler/main.ts',
          readyUrl: `http://127.0.0.1:${port}/readyz`,
          env: { METRICS_PORT: String(port) } as Record<string, string>,
        };
      }),
    );
    const settlerMetricsUrls = new Map(
      settlers.map((s) => [s.name, s.readyUrl.replace(/readyz$/, 'metrics')]),
    );
    supervisor = new ProcessSupervisor(
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
      { quiet: options.logLevel === undefined },
    );
    log(`starting ${options.settlers} settler(s) and the ingress`);
    await supervisor.start(120_000);
    return {
      ingressUrl: `http://127.0.0.1:${ingressPort}`,
      commandsTopic,
      eventsTopic,
      settlerGroup,
      groupPrefix,
      settlerMetricsUrls,
      database,
      supervisor,
      env,
      teardown,
    };
  } catch (error) {
    log('the fleet failed to start; removing what it created');
    await teardown().catch((e: unknown) => log(`cleanup failed: ${(e as Error).message}`));
    throw error;
  }
}
