import { randomUUID } from 'node:crypto';
import type { Type as AvroType } from 'avsc';
import { postgresDependency } from '../../db/postgresFailures.ts';
import type { ReservationCommand } from '../../schemas/generated/types.ts';
import { loadReaderTypes } from '../../schemas/readerTypes.ts';
import type { WorkerModule, WorkerResources } from '../runtime/worker/runWorker.ts';
import { emitSettlementEvent } from './emitSettlementEvent.ts';
import { createSettlementHandler } from './settlementHandler.ts';
import { createSettlementPipeline } from './settlementPipeline.ts';
import type { SettlementClock } from './settleReservationBatch.ts';
import { readSettlerRouting, readSettlerSettings, type SettlerRouting } from './settlerConfig.ts';
import { createSettlerMetrics } from './settlerMetrics.ts';
import { createSettlerPool } from './settlerPool.ts';

/** The subject whose schema the settler's generated types were built from. */
const commandsSubject = 'fleet.reservation.commands.v1-value';

const systemClock: SettlementClock = { nowMs: Date.now, newEventId: randomUUID };

/**
 * The reservation settler as a worker module: consumes reservation commands in key (vehicle)
 * order, settles them in batched PostgreSQL transactions and emits one decision event each.
 * Topics and group come from `env` (RESERVATION_COMMANDS_TOPIC, RESERVATION_EVENTS_TOPIC,
 * SETTLER_GROUP_ID); throws a ConfigError when they are invalid.
 */
export function createSettlerWorker(
  env: Readonly<Record<string, string | undefined>> = process.env,
): WorkerModule<ReservationCommand> {
  const topics = readSettlerRouting(env);
  return {
    name: 'reservation-settler',
    groupId: topics.groupId,
    topics: [topics.commands],
    defaultMetricsPort: 9101,
    dependsOn: [postgresDependency],
    // Each vehicle is serial, so vehicles in flight is what feeds a batch: 1,024 of them fill two
    // batches of 256 while the previous ones commit and their events are acknowledged (P3 on
    // 2 cores, 2026-11-26: ~3,500-4,200/s at 256 in flight in batches of 64, 4,269 at 512/128,
    // 5,837-6,202 at 1,024/256, 5,700 at 2,048/512; docs/settler.md).
    consumerDefaults: { ordering: 'key', maxConcurrency: settlerVehiclesInFlight },
    readerTypes: commandReaderTypes(topics.commands),
    createHandler: (resources) => createSettlerHandler(resources, topics),
  };
}

/** The settler's default CONSUMER_MAX_CONCURRENCY: vehicles whose commands are in flight at once. */
export const settlerVehiclesInFlight = 1024;

/** Reads the configured commands topic with the schema of fleet.reservation.commands.v1 (its reader type). */
function commandReaderTypes(commandsTopic: string): ReadonlyMap<string, AvroType> {
  const type = loadReaderTypes().get(commandsSubject);
  if (!type) throw new Error(`no local schema for ${commandsSubject}`);
  return new Map([[`${commandsTopic}-value`, type]]);
}

async function createSettlerHandler(resources: WorkerResources, topics: SettlerRouting) {
  const { logger, registry, breakers, producer, endpoints } = resources;
  const settings = readSettlerSettings(resources.env);
  const metrics = createSettlerMetrics(registry);
  // One connection per batch in flight: every statement the settler runs belongs to a batch.
  const pool = createSettlerPool({
    connectionString: endpoints.databaseUrl,
    applicationName: 'reservation-settler',
    max: settings.batching.maxBatchesInFlight,
    statementTimeoutMs: settings.statementTimeoutMs,
    onIdleClientError: (error) => logger.warn({ err: error.message }, 'idle PostgreSQL connection failed'),
  });
  const pipeline = createSettlementPipeline({
    pool,
    settings,
    breakers,
    registry,
    metrics,
    logger,
    clock: systemClock,
  });
  const handler = createSettlementHandler({
    settle: (command) => pipeline.settle(command),
    emit: (settlement, message) =>
      emitSettlementEvent(producer, topics.events, settlement, message.correlationId),
    metrics,
    logger,
  });
  logger.info(
    { commandsTopic: topics.commands, eventsTopic: topics.events, ...settings.batching },
    'settler ready',
  );
  return {
    handler,
    close: async () => {
      await pipeline.close();
      await pool.end();
    },
  };
}
