import { describe, expect, it } from 'vitest';
import type {
  CancellationDecisionRecord,
  RequestDecisionRecord,
} from '../../db/queries/settlement/settlementRecords.ts';
import { cancellationDecisionSettlement, requestDecisionSettlement } from './settlementEvents.ts';

const cancellation: CancellationDecisionRecord = {
  commandId: '11111111-1111-4111-8111-111111111111',
  reservationId: '22222222-2222-4222-8222-222222222222',
  customerId: 'owner',
  vehicleId: '33333333-3333-4333-8333-333333333333',
  outcome: 'cancelled',
  reason: null,
  eventId: '44444444-4444-4444-8444-444444444444',
  correlationId: 'corr',
  decidedAtMs: 1_900_000_000_000,
};

describe('decision events', () => {
  it('a request cancelled while pending announces exactly the cancellation command’s event', () => {
    const request: RequestDecisionRecord = {
      reservationId: cancellation.reservationId,
      customerId: 'owner',
      vehicleId: cancellation.vehicleId,
      startsAtMs: 1,
      endsAtMs: 2,
      status: 'cancelled',
      decidedStatus: 'cancelled',
      decisionReason: null,
      decisionEventId: cancellation.eventId,
      decisionCommandId: cancellation.commandId,
      decisionCorrelationId: cancellation.correlationId,
      decidedAtMs: cancellation.decidedAtMs,
      cancelledAtMs: cancellation.decidedAtMs,
    };
    expect(requestDecisionSettlement(request, true).event).toEqual(
      cancellationDecisionSettlement(cancellation, false).event,
    );
  });

  it('refusing a stranger and refusing an unknown id produce the same payload', () => {
    const refusal = (reason: string) =>
      cancellationDecisionSettlement(
        { ...cancellation, outcome: 'rejected', reason, customerId: 'stranger' },
        false,
      ).event.payload;
    expect(refusal('not_owner')).toEqual(refusal('not_found'));
    expect(refusal('not_owner')).toMatchObject({
      'dev.fleetstream.reservation.ReservationRejected': {
        reason: 'not_found',
        rejectedRequest: 'cancellation',
      },
    });
  });

  it('keeps a decided request’s confirmed event after the booking was cancelled', () => {
    const confirmedThenCancelled: RequestDecisionRecord = {
      reservationId: cancellation.reservationId,
      customerId: 'owner',
      vehicleId: cancellation.vehicleId,
      startsAtMs: 10,
      endsAtMs: 20,
      status: 'cancelled',
      decidedStatus: 'confirmed',
      decisionReason: null,
      decisionEventId: '55555555-5555-4555-8555-555555555555',
      decisionCommandId: '66666666-6666-4666-8666-666666666666',
      decisionCorrelationId: null,
      decidedAtMs: 5,
      cancelledAtMs: 9,
    };
    const settlement = requestDecisionSettlement(confirmedThenCancelled, true);
    expect(settlement.outcome).toBe('confirmed');
    expect(settlement.event).toEqual({
      eventId: '55555555-5555-4555-8555-555555555555',
      occurredAt: 5,
      correlationId: null,
      causationId: '66666666-6666-4666-8666-666666666666',
      payload: {
        'dev.fleetstream.reservation.ReservationConfirmed': {
          reservationId: cancellation.reservationId,
          customerId: 'owner',
          vehicleId: cancellation.vehicleId,
          startsAt: 10,
          endsAt: 20,
          confirmedAt: 5,
        },
      },
    });
  });
});
