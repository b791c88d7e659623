/**
 * An isolated fleet for the benchmarks: random topics and subjects, a fresh database, one
 * ingress and N settlers — harness/doubleBooking/isolatedFleet.ts, with two differences:
 *
 * - Preparation skips `topics apply` of the shared catalog. The fleet uses none of the catalog's
 *   topics, and that step exits 2 ("refused") whenever any other run has left a non-catalog
 *   `fleet.*` topic on the broker (integration tests create `fleet.test-*` topics), which makes
 *   startIsolatedFleet fail on a busy or dirty stack.
 * - A failed start removes what it had created (processes, database, topics, subjects);
 *   startIsolatedFleet leaves them behind.
 *
 * The supervisor's "ready" lines go to stderr so stdout keeps only the summary lines.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createFreshDatabase, type FreshDatabase } from '../../db/testing/freshDatabase.ts';
import { checkSubject } from '../../schemas/checkSubject.ts';
import { findSubjectDefinition } from '../../schemas/subjects.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../workers/runtime/avro/schemaRegistryConfig.ts';
import { createTopics, deleteTopics } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { workerProcessEnv } from '../../workers/runtime/worker/workerNodeOptions.ts';
import { freePort, type IsolatedFleet } from '../doubleBooking/isolatedFleet.ts';
import { preparationSteps } from '../fleet/prepareFleet.ts';
import { ProcessSupervisor } from '../fleet/processSupervisor.ts';
import { repoRoot } from '../stack/stackConfig.ts';

/** Starts an isolated fleet; `extraEnv` reaches every process (and overrides the bench defaults). */
export async function startBenchFleet(options: {
  settlers: number;
  partitions: number;
  log?: (line: string) => void;
  extraEnv?: Record<string, string>;
}): Promise<IsolatedFleet> {
  const log = options.log ?? (() => undefined);
  const suffix = randomBytes(4).toString('hex');
  const commandsTopic = `bench.${suffix}.reservation.commands.v1`;
  const eventsTopic = `bench.${suffix}.reservation.events.v1`;
  const topics = [commandsTopic, `${commandsTopic}.dlq`, eventsTopic];
  const settlerGroup = `bench.${suffix}.reservation-settler`;
  const subjects: string[] = [];
  let database: FreshDatabase | undefined;
  let supervisor: ProcessSupervisor | undefined;

  const teardown = async (): Promise<void> => {
    await supervisor?.stop();
    await database?.drop();
    await deleteTopics(topics);
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
        subjects.push(`${topic}-value`);
        await registry.register(`${topic}-value`, check.schemaText, definition.compatibility);
      }
    } finally {
      registry.close();
    }
    database = await createFreshDatabase('fleetstream_bench');
    const ingressPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...workerProcessEnv(),
      DATABASE_URL: database.urls.app,
      RESERVATION_COMMANDS_TOPIC: commandsTopic,
      RESERVATION_EVENTS_TOPIC: eventsTopic,
      SETTLER_GROUP_ID: settlerGroup,
      INGRESS_PORT: String(ingressPort),
      RATE_LIMIT_KEY_PREFIX: `bench:${suffix}:`,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      ...options.extraEnv,
    };
    log(`provisioning database ${database.name} (migrations, local vehicle catalog)`);
    for (const step of preparationSteps.filter((s) => s.title !== 'topics')) {
      execFileSync(process.execPath, step.args, { cwd: repoRoot, env, stdio: 'pipe' });
    }
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
      { quiet: process.env.BENCH_LOG_LEVEL === undefined },
    );
    log(`starting ${options.settlers} settler(s) and the ingress`);
    const write = process.stdout.write;
    process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
    try {
      await supervisor.start(120_000);
    } finally {
      process.stdout.write = write;
    }
    return {
      ingressUrl: `http://127.0.0.1:${ingressPort}`,
      commandsTopic,
      eventsTopic,
      settlerGroup,
      database,
      supervisor,
      env,
      teardown,
    };
  } catch (error) {
    log(`the fleet failed to start; removing what it created`);
    await teardown().catch((e: unknown) => log(`cleanup failed: ${(e as Error).message}`));
    throw error;
  }
}
