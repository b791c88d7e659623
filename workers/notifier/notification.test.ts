import { describe, expect, it } from 'vitest';
import { notificationFor } from './notification.ts';
import { consumedDecision, decisionEvents, vehicleIdOf } from './testing/decisionEvents.ts';

describe('notificationFor', () => {
  it('tells the customer of a confirmation, with the period and the event id as idempotency key', () => {
    const event = decisionEvents.confirmed('bob');
    const payload = event.payload[
      'dev.fleetstream.reservation.ReservationConfirmed' as keyof typeof event.payload
    ] as {
      reservationId: string;
    };
    expect(notificationFor(consumedDecision(event))).toEqual({
      idempotencyKey: event.eventId,
      correlationId: 'test-correlation',
      to: 'bob',
      template: 'reservation.confirmed',
      data: {
        reservationId: payload.reservationId,
        vehicleId: vehicleIdOf(event),
        startsAt: '2026-12-24T10:00:00.000Z',
        endsAt: '2026-12-26T10:00:00.000Z',
      },
    });
  });

  it('gives a refusal its reason but never the operators-only detail', () => {
    const notification = notificationFor(consumedDecision(decisionEvents.rejected({ reason: 'overlap' })));
    expect(notification.template).toBe('reservation.rejected');
    expect(notification.data.reason).toBe('overlap');
    expect(JSON.stringify(notification)).not.toContain('operators only');
  });

  it('tells a refused cancellation apart, without a period', () => {
    const notification = notificationFor(consumedDecision(decisionEvents.rejected({ cancellation: true })));
    expect(notification.template).toBe('cancellation.rejected');
    expect(notification.data).not.toHaveProperty('startsAt');
    expect(notification.data.reason).toBe('not_found');
  });

  it('makes any correlation id fit an HTTP header, so a strange one cannot fail the call', () => {
    const event = { ...decisionEvents.confirmed(), correlationId: 'req\n17 ✓' };
    expect(notificationFor(consumedDecision(event)).correlationId).toBe('req_17__');
  });

  it("confirms a cancellation and carries the event's own correlation id when it has one", () => {
    const event = { ...decisionEvents.cancelled('carol'), correlationId: 'req-17' };
    expect(notificationFor(consumedDecision(event))).toMatchObject({
      to: 'carol',
      template: 'reservation.cancelled',
      correlationId: 'req-17',
    });
  });
});
