import { randomUUID } from 'node:crypto';
import type { RejectionReason, ReservationEvent } from '../../../schemas/generated/types.ts';
import type { ConsumedMessage } from '../../runtime/consumer/consumedMessage.ts';

const startsAt = Date.UTC(2026, 11, 24, 10);
const endsAt = Date.UTC(2026, 11, 26, 10);

/** Decision events as the settler writes them (Avro values of fleet.reservation.events.v1), for tests. */
export const decisionEvents = {
  confirmed(customerId = 'alice', vehicleId: string = randomUUID()): ReservationEvent {
    return envelope({
      'dev.fleetstream.reservation.ReservationConfirmed': {
        reservationId: randomUUID(),
        customerId,
        vehicleId,
        startsAt,
        endsAt,
        confirmedAt: startsAt - 86_400_000,
      },
    });
  },
  rejected(
    options: {
      customerId?: string;
      reason?: RejectionReason;
      cancellation?: boolean;
      vehicleId?: string;
    } = {},
  ): ReservationEvent {
    const cancellation = options.cancellation ?? false;
    return envelope({
      'dev.fleetstream.reservation.ReservationRejected': {
        reservationId: randomUUID(),
        customerId: options.customerId ?? 'alice',
        vehicleId: options.vehicleId ?? randomUUID(),
        rejectedRequest: cancellation ? 'cancellation' : 'reservation',
        reason: options.reason ?? (cancellation ? 'not_found' : 'overlap'),
        detail: 'operators only: booked by 6f1c…',
        startsAt: cancellation ? null : startsAt,
        endsAt: cancellation ? null : endsAt,
        rejectedAt: startsAt - 86_400_000,
      },
    });
  },
  cancelled(customerId = 'alice', vehicleId: string = randomUUID()): ReservationEvent {
    return envelope({
      'dev.fleetstream.reservation.ReservationCancelled': {
        reservationId: randomUUID(),
        customerId,
        vehicleId,
        cancelledAt: startsAt - 3_600_000,
      },
    });
  },
};

function envelope(payload: ReservationEvent['payload']): ReservationEvent {
  return {
    eventId: randomUUID(),
    occurredAt: startsAt,
    correlationId: null,
    causationId: randomUUID(),
    payload,
  };
}

/** The vehicle id an event is keyed by. */
export function vehicleIdOf(event: ReservationEvent): string {
  return (Object.values(event.payload)[0] as { vehicleId: string }).vehicleId;
}

/** An event as the notifier's handler sees it after the runtime decoded it. */
export function consumedDecision(event: ReservationEvent): ConsumedMessage<ReservationEvent> {
  const key = vehicleIdOf(event);
  return {
    topic: 'fleet.reservation.events.v1',
    partition: 0,
    offset: 0,
    key: Buffer.from(key),
    keyText: key,
    value: event,
    rawValue: null,
    headers: {},
    timestamp: startsAt,
    correlationId: 'test-correlation',
    attempt: 1,
  };
}
