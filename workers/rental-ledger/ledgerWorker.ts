import type { Type as AvroType } from 'avsc';
import { createPool } from '../../db/pool.ts';
import { postgresDependency } from '../../db/postgresFailures.ts';
import type { RentalEvent } from '../../schemas/generated/types.ts';
import { loadReaderTypes } from '../../schemas/readerTypes.ts';
import type { WorkerModule, WorkerResources } from '../runtime/worker/runWorker.ts';
import {
  type LedgerRouting,
  ledgerRentalsInFlight,
  readLedgerRouting,
  readLedgerSettings,
} from './ledgerConfig.ts';
import { createLedgerHandler } from './ledgerHandler.ts';
import { createLedgerMetrics } from './ledgerMetrics.ts';

/** The subject whose schema the ledger's generated types were built from. */
const rentalEventsSubject = 'fleet.rental.events.v1-value';

/**
 * The breaker's ceiling per event, in statement timeouts: the statements of one event (lookup,
 * reads, inserts) with BEGIN, COMMIT (which runs the balance check) and a pool wait. Only a call
 * that hangs past all of them trips it, and the breaker then counts it as PostgreSQL being down.
 */
const statementsPerEvent = 8;

/**
 * The rental ledger as a worker module: consumes upstream rental events in key (rental) order and
 * keeps the double-entry ledger in PostgreSQL. Topic and group come from `env`
 * (RENTAL_EVENTS_TOPIC, LEDGER_GROUP_ID); throws a ConfigError when they are invalid.
 */
export function createLedgerWorker(
  env: Readonly<Record<string, string | undefined>> = process.env,
): WorkerModule<RentalEvent> {
  const routing = readLedgerRouting(env);
  return {
    name: 'rental-ledger',
    groupId: routing.groupId,
    topics: [routing.events],
    defaultMetricsPort: 9102,
    dependsOn: [postgresDependency],
    // A rental's events post in order (a refund after its payment); rentals run side by side.
    consumerDefaults: { ordering: 'key', maxConcurrency: ledgerRentalsInFlight },
    readerTypes: rentalReaderTypes(routing.events),
    createHandler: (resources) => createLedgerHandlerFor(resources, routing),
  };
}

/** Reads the configured topic with the schema of fleet.rental.events.v1 (its reader type). */
function rentalReaderTypes(eventsTopic: string): ReadonlyMap<string, AvroType> {
  const type = loadReaderTypes().get(rentalEventsSubject);
  if (!type) throw new Error(`no local schema for ${rentalEventsSubject}`);
  return new Map([[`${eventsTopic}-value`, type]]);
}

async function createLedgerHandlerFor(resources: WorkerResources, routing: LedgerRouting) {
  const { logger, registry, breakers, endpoints } = resources;
  const settings = readLedgerSettings(resources.env, resources.consumer.maxConcurrency);
  const pool = createPool({
    connectionString: endpoints.databaseUrl,
    applicationName: 'rental-ledger',
    max: settings.poolMax,
    statementTimeoutMs: settings.statementTimeoutMs,
    onIdleClientError: (error) => logger.warn({ err: error.message }, 'idle PostgreSQL connection failed'),
  });
  const handler = createLedgerHandler({
    pool,
    breakers,
    registry,
    metrics: createLedgerMetrics(registry),
    logger,
    callTimeoutMs: settings.statementTimeoutMs * statementsPerEvent,
  });
  logger.info({ eventsTopic: routing.events, ...settings }, 'rental ledger ready');
  return { handler, close: () => pool.end() };
}
