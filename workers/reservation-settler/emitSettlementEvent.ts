import {
  DependencyUnavailableError,
  PermanentError,
  ProcessingError,
} from '../runtime/errors/processingErrors.ts';
import { KafkaClientError, librdkafkaCodes } from '../runtime/kafka/librdkafkaErrors.ts';
import type { FleetProducer } from '../runtime/producer/fleetProducer.ts';
import type { Settlement } from './settlement.ts';

/** The header that carries the event id, so consumers can deduplicate without decoding. */
export const eventIdHeader = 'event-id';

/**
 * Produces the decision event keyed by vehicle id and resolves once the broker acknowledged it.
 * The command's offset is committed only after this resolves, so a crash before the ack replays
 * the command, which re-emits this same event. A broker that cannot take it (timeout, down) or an
 * events topic that does not exist is a dependency outage: the runtime pauses the partition
 * instead of dead-lettering a decided command.
 */
export async function emitSettlementEvent(
  producer: Pick<FleetProducer, 'send'>,
  topic: string,
  settlement: Settlement,
  correlationId: string,
): Promise<void> {
  try {
    await producer.send(topic, {
      key: settlement.key,
      value: settlement.event,
      headers: { [eventIdHeader]: settlement.event.eventId },
      correlationId: settlement.event.correlationId ?? correlationId,
    });
  } catch (error) {
    if (error instanceof ProcessingError) throw error;
    const message = `could not emit ${settlement.outcome} event ${settlement.event.eventId} to ${topic}: ${(error as Error).message}`;
    if ((error as { retriable?: unknown }).retriable === true) {
      throw new DependencyUnavailableError('kafka', message, { cause: error });
    }
    // A missing events topic is the deployment's fault, not the command's: dead-lettering every
    // decided command until someone applies the catalog would empty the partitions into the DLQ
    // (up to its caps) for a replay to undo. Paused and probed instead, like a broker outage.
    if (
      error instanceof KafkaClientError &&
      (error.errno === librdkafkaCodes.UNKNOWN_TOPIC_OR_PART || error.errno === librdkafkaCodes.UNKNOWN_TOPIC)
    ) {
      throw new DependencyUnavailableError(
        'kafka',
        `${message} (the events topic does not exist: apply the topic catalog, or fix RESERVATION_EVENTS_TOPIC)`,
        { cause: error },
      );
    }
    throw new PermanentError(message, { cause: error, code: 'EVENT_NOT_EMITTED' });
  }
}
