import type {
  CancellationDecisionRecord,
  LockedReservationRequest,
  RequestDecisionRecord,
} from '../../db/queries/settlement/settlementRecords.ts';
import {
  type RejectionReason,
  type ReservationEvent,
  rejectionReasonSymbols,
} from '../../schemas/generated/types.ts';
import { deterministicEventId } from './deterministicEventId.ts';
import { type Settlement, type SettlementOutcome, storedReasons } from './settlement.ts';

// Every event is a pure function of a stored decision record: the first emission and every
// replay go through these functions with the same record, so they produce the same event.

/** The same neutral detail for an unknown reservation and someone else's: a refusal must not tell them apart. */
const notYoursDetail = 'no reservation with this id can be cancelled by this customer';

const eventReasons: Readonly<Record<string, { reason: RejectionReason; detail: string | null }>> = {
  [storedReasons.overlap]: { reason: 'overlap', detail: 'the vehicle is booked for an overlapping period' },
  [storedReasons.unknownVehicle]: { reason: 'unknown_vehicle', detail: 'no such vehicle' },
  [storedReasons.vehicleRetired]: { reason: 'unknown_vehicle', detail: 'the vehicle is not bookable' },
  [storedReasons.periodStarted]: {
    reason: 'invalid_period',
    detail: 'the requested period had already started when the request was settled',
  },
  [storedReasons.notFound]: { reason: 'not_found', detail: notYoursDetail },
  [storedReasons.notOwner]: { reason: 'not_found', detail: notYoursDetail },
  [storedReasons.wrongVehicle]: { reason: 'not_found', detail: notYoursDetail },
  [storedReasons.nothingToCancel]: {
    reason: 'not_found',
    detail: 'the reservation was rejected; there is nothing to cancel',
  },
};

/** The event reason and detail of a stored reason; a reason written by another path is passed on as detail. */
export function eventReasonOf(stored: string | null): { reason: RejectionReason; detail: string | null } {
  if (stored === null) return { reason: 'unspecified', detail: null };
  const known = eventReasons[stored];
  if (known) return known;
  const symbol = rejectionReasonSymbols.find((s) => s === stored);
  return { reason: symbol ?? 'unspecified', detail: symbol ? null : stored };
}

/** The event of a request's decision (confirmed, rejected, or cancelled while still pending). */
export function requestDecisionSettlement(record: RequestDecisionRecord, replayed: boolean): Settlement {
  const outcome = decidedOutcomeOf(record);
  const decidedAt = record.decidedAtMs ?? record.cancelledAtMs ?? 0;
  const envelope = {
    eventId: record.decisionEventId ?? deterministicEventId(`${record.reservationId}:${outcome}`),
    occurredAt: decidedAt,
    correlationId: record.decisionCorrelationId,
    causationId: record.decisionCommandId,
  };
  const who = {
    reservationId: record.reservationId,
    customerId: record.customerId,
    vehicleId: record.vehicleId,
  };
  if (outcome === 'confirmed') {
    return settlement(
      {
        ...envelope,
        payload: {
          'dev.fleetstream.reservation.ReservationConfirmed': {
            ...who,
            startsAt: record.startsAtMs,
            endsAt: record.endsAtMs,
            confirmedAt: decidedAt,
          },
        },
      },
      outcome,
      null,
      replayed,
    );
  }
  if (outcome === 'cancelled') {
    return settlement(
      {
        ...envelope,
        payload: { 'dev.fleetstream.reservation.ReservationCancelled': { ...who, cancelledAt: decidedAt } },
      },
      outcome,
      null,
      replayed,
    );
  }
  const { reason, detail } = eventReasonOf(record.decisionReason);
  return settlement(
    {
      ...envelope,
      payload: {
        'dev.fleetstream.reservation.ReservationRejected': {
          ...who,
          rejectedRequest: 'reservation',
          reason,
          detail,
          startsAt: record.startsAtMs,
          endsAt: record.endsAtMs,
          rejectedAt: decidedAt,
        },
      },
    },
    outcome,
    reason,
    replayed,
  );
}

/** The event of a cancellation command's decision (accepted or refused). */
export function cancellationDecisionSettlement(
  record: CancellationDecisionRecord,
  replayed: boolean,
): Settlement {
  const envelope = {
    eventId: record.eventId,
    occurredAt: record.decidedAtMs,
    correlationId: record.correlationId,
    causationId: record.commandId,
  };
  const who = {
    reservationId: record.reservationId,
    customerId: record.customerId,
    vehicleId: record.vehicleId,
  };
  if (record.outcome === 'cancelled') {
    return settlement(
      {
        ...envelope,
        payload: {
          'dev.fleetstream.reservation.ReservationCancelled': { ...who, cancelledAt: record.decidedAtMs },
        },
      },
      'cancelled',
      null,
      replayed,
    );
  }
  const { reason, detail } = eventReasonOf(record.reason);
  return settlement(
    {
      ...envelope,
      payload: {
        'dev.fleetstream.reservation.ReservationRejected': {
          ...who,
          rejectedRequest: 'cancellation',
          reason,
          detail,
          startsAt: null,
          endsAt: null,
          rejectedAt: record.decidedAtMs,
        },
      },
    },
    'rejected',
    reason,
    replayed,
  );
}

/**
 * The cancellation event of a reservation that is already cancelled, for an owner who asks
 * again: the accepted cancellation's own event, so every ask re-emits one and the same event.
 */
export function existingCancellationSettlement(request: LockedReservationRequest): Settlement {
  if (request.acceptedCancellation) return cancellationDecisionSettlement(request.acceptedCancellation, true);
  if (request.decidedStatus === 'cancelled') return requestDecisionSettlement(request, true);
  // Cancelled by something other than the settler: no stored event, so a name-based id and the stored time.
  const cancelledAt = request.cancelledAtMs ?? request.decidedAtMs ?? 0;
  return settlement(
    {
      eventId: deterministicEventId(`${request.reservationId}:cancelled`),
      occurredAt: cancelledAt,
      correlationId: null,
      causationId: null,
      payload: {
        'dev.fleetstream.reservation.ReservationCancelled': {
          reservationId: request.reservationId,
          customerId: request.customerId,
          vehicleId: request.vehicleId,
          cancelledAt,
        },
      },
    },
    'cancelled',
    null,
    true,
  );
}

/** What was decided for a request; for rows decided elsewhere (no decided_status), their status. */
function decidedOutcomeOf(record: RequestDecisionRecord): SettlementOutcome {
  if (record.decidedStatus !== null) return record.decidedStatus;
  if (record.status === 'pending') throw new Error(`reservation ${record.reservationId} is not decided`);
  return record.status;
}

function settlement(
  event: ReservationEvent,
  outcome: SettlementOutcome,
  reason: RejectionReason | null,
  replayed: boolean,
): Settlement {
  const payload = Object.values(event.payload)[0] as { vehicleId: string };
  return { event, key: payload.vehicleId, outcome, reason, replayed };
}
