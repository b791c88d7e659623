import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../runtime/errors/processingErrors.ts';
import { InvalidRentalEventError, toLedgerEvent } from './ledgerEvent.ts';
import { consumedRentalEvent, rentalEvents } from './testing/rentalEvents.ts';

const rentalId = randomUUID();

describe('toLedgerEvent', () => {
  it('flattens a payment, a refund and a lifecycle event, with where they were read', () => {
    const paymentId = randomUUID();
    const payment = rentalEvents.payment({ rentalId, paymentId, amountMinor: 12_000, purpose: 'deposit' });
    expect(toLedgerEvent(consumedRentalEvent(payment, { partition: 3, offset: 41 }))).toEqual({
      kind: 'payment',
      eventId: payment.eventId,
      type: 'PaymentCaptured',
      rentalId,
      customerId: 'alice',
      occurredAtMs: payment.occurredAt,
      correlationId: 'test-correlation',
      position: { partition: 3, offset: 41 },
      paymentId,
      purpose: 'deposit',
      currency: 'EUR',
      amountMinor: 12_000,
    });
    const refund = toLedgerEvent(
      consumedRentalEvent(rentalEvents.refund({ rentalId, paymentId, amountMinor: 500, currency: 'CHF' })),
    );
    expect(refund).toMatchObject({
      kind: 'refund',
      type: 'RefundIssued',
      paymentId,
      currency: 'CHF',
      amountMinor: 500,
    });
    expect(toLedgerEvent(consumedRentalEvent(rentalEvents.started(rentalId)))).toMatchObject({
      kind: 'lifecycle',
      type: 'RentalStarted',
    });
  });

  it("prefers the envelope's correlation id over the record's", () => {
    const event = { ...rentalEvents.ended(rentalId), correlationId: 'upstream-42' };
    expect(toLedgerEvent(consumedRentalEvent(event)).correlationId).toBe('upstream-42');
  });

  it.each([
    [
      'a key other than the rental',
      consumedRentalEvent(rentalEvents.started(rentalId), undefined, randomUUID()),
      /keyed/,
    ],
    ['a zero amount', consumedRentalEvent(rentalEvents.payment({ rentalId, amountMinor: 0 })), /positive/],
    [
      'a negative amount',
      consumedRentalEvent(rentalEvents.payment({ rentalId, amountMinor: -5 })),
      /positive/,
    ],
    [
      'a fractional amount',
      consumedRentalEvent(rentalEvents.payment({ rentalId, amountMinor: 1.5 })),
      /whole/,
    ],
    [
      'a lower-case currency',
      consumedRentalEvent(rentalEvents.payment({ rentalId, amountMinor: 1, currency: 'eur' })),
      /ISO 4217/,
    ],
    [
      'a rental id that is no UUID',
      consumedRentalEvent(rentalEvents.started('rental-7'), undefined, 'rental-7'),
      /rentalId is not a UUID/,
    ],
    ['an empty customer id', consumedRentalEvent(rentalEvents.started(rentalId, '')), /customerId/],
  ])('refuses %s for good (dead-lettered with the reason)', (_case, message, reason) => {
    let thrown: unknown;
    try {
      toLedgerEvent(message);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidRentalEventError);
    expect(thrown).toBeInstanceOf(PermanentError);
    expect((thrown as Error).message).toMatch(reason);
    expect((thrown as InvalidRentalEventError).code).toBe('INVALID_RENTAL_EVENT');
  });
});
