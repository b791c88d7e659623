import type { Type as AvroType } from 'avsc';
import type { ReservationEvent } from '../../schemas/generated/types.ts';
import { loadReaderTypes } from '../../schemas/readerTypes.ts';
import type { WorkerModule, WorkerResources } from '../runtime/worker/runWorker.ts';
import { type NotifierRouting, readNotifierRouting, readProviderSettings } from './notifierConfig.ts';
import { createNotifierHandler } from './notifierHandler.ts';
import { createNotifierMetrics } from './notifierMetrics.ts';
import { providerDependency } from './providerClient.ts';

/** The subject whose schema the notifier's generated types were built from. */
const eventsSubject = 'fleet.reservation.events.v1-value';

/**
 * The notifier as a worker module: tells customers about the settler's decisions through an
 * external provider. Topic and group come from `env` (RESERVATION_EVENTS_TOPIC,
 * NOTIFIER_GROUP_ID); throws a ConfigError when they are invalid.
 */
export function createNotifierWorker(
  env: Readonly<Record<string, string | undefined>> = process.env,
): WorkerModule<ReservationEvent> {
  const routing = readNotifierRouting(env);
  return {
    name: 'notifier',
    groupId: routing.groupId,
    topics: [routing.events],
    defaultMetricsPort: 9103,
    dependsOn: [providerDependency],
    // Per vehicle in order (a confirmation before its cancellation); calls are I/O-bound, so many at once.
    consumerDefaults: { ordering: 'key', maxConcurrency: 32 },
    readerTypes: eventReaderTypes(routing.events),
    createHandler: (resources) => createNotifierHandlerFor(resources, routing),
  };
}

/** Reads the configured topic with the schema of fleet.reservation.events.v1 (its reader type). */
function eventReaderTypes(eventsTopic: string): ReadonlyMap<string, AvroType> {
  const type = loadReaderTypes().get(eventsSubject);
  if (!type) throw new Error(`no local schema for ${eventsSubject}`);
  return new Map([[`${eventsTopic}-value`, type]]);
}

async function createNotifierHandlerFor(resources: WorkerResources, routing: NotifierRouting) {
  const { logger, registry, breakers } = resources;
  const provider = readProviderSettings(resources.env);
  const handler = createNotifierHandler({
    provider,
    breakers,
    registry,
    metrics: createNotifierMetrics(registry),
    logger,
  });
  logger.info(
    { eventsTopic: routing.events, providerUrl: provider.url, providerTimeoutMs: provider.timeoutMs },
    'notifier ready',
  );
  return { handler };
}
