import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ReservationEvent } from '../../schemas/generated/types.ts';
import { deterministicEventId } from '../reservation-settler/deterministicEventId.ts';
import { notificationFor, UnnotifiableEventError } from './notification.ts';
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

  it('takes the event ids the settler writes: random (v4) and name-based (v5) UUIDs, in either case', () => {
    for (const eventId of [randomUUID(), deterministicEventId('r-1:confirmed'), randomUUID().toUpperCase()]) {
      const event = { ...decisionEvents.confirmed(), eventId };
      expect(notificationFor(consumedDecision(event)).idempotencyKey).toBe(eventId);
    }
  });

  it('refuses an event id that is not a UUID, so it is dead-lettered instead of failing every HTTP call', () => {
    const uuid = randomUUID();
    for (const eventId of ['evt-\u20ac-1', `${uuid}\n`, `x\r\n${uuid}`, '', 'not-a-uuid', `${uuid}-extra`]) {
      const event = { ...decisionEvents.confirmed(), eventId };
      expect(() => notificationFor(consumedDecision(event)), JSON.stringify(eventId)).toThrow(
        unnotifiable(/not a UUID/),
      );
    }
  });

  it('refuses at once a period outside the range of a date (dead-lettered, not retried as unexpected)', () => {
    const confirmed = decisionEvents.confirmed();
    withPayload(confirmed, 'dev.fleetstream.reservation.ReservationConfirmed', { startsAt: 8.64e15 + 1 });
    const rejected = decisionEvents.rejected();
    withPayload(rejected, 'dev.fleetstream.reservation.ReservationRejected', { endsAt: -8.64e15 - 1 });
    for (const event of [confirmed, rejected]) {
      expect(() => notificationFor(consumedDecision(event))).toThrow(
        unnotifiable(new RegExp(`event ${event.eventId} .*outside the range of a date`)),
      );
    }
  });
});

/** Matches an UnnotifiableEventError (the engine dead-letters it at once) whose message matches. */
function unnotifiable(message: RegExp) {
  return expect.objectContaining({
    name: UnnotifiableEventError.name,
    code: 'UNNOTIFIABLE_EVENT',
    retriable: false,
    message: expect.stringMatching(message),
  });
}

/** Overwrites fields of an event's payload branch (values a valid Avro long may hold). */
function withPayload(event: ReservationEvent, branch: string, fields: Record<string, number>): void {
  Object.assign((event.payload as Record<string, object>)[branch]!, fields);
}
