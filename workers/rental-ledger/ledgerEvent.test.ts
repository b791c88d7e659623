import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PaymentPurpose, RentalEvent } from '../../schemas/generated/types.ts';
import { PermanentError } from '../runtime/errors/processingErrors.ts';
import { InvalidRentalEventError, toLedgerEvent } from './ledgerEvent.ts';
import { readAcrossSchemas } from './testing/evolvedRentalSchema.ts';
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
      factSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
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

  it("fits a record's correlation id (any header bytes) to what the ledger stores", () => {
    const message = {
      ...consumedRentalEvent(rentalEvents.ended(rentalId)),
      correlationId: `a\u0000${'x'.repeat(400)}`,
    };
    const { correlationId } = toLedgerEvent(message);
    expect(correlationId).toHaveLength(255);
    expect(correlationId).not.toContain('\u0000');
  });

  it('fingerprints the fact, so the same fact has the same fingerprint and another fact another', () => {
    const event = rentalEvents.payment({ rentalId, amountMinor: 100 });
    const same = toLedgerEvent(consumedRentalEvent(event)).factSha256;
    expect(same).toMatch(/^[0-9a-f]{64}$/);
    expect(toLedgerEvent(consumedRentalEvent({ ...event, correlationId: 'another' })).factSha256).toBe(same);
    const other = rentalEvents.payment({ rentalId, amountMinor: 101 });
    expect(toLedgerEvent(consumedRentalEvent({ ...other, eventId: event.eventId })).factSha256).not.toBe(
      same,
    );
  });

  it('fingerprints the same bytes alike whichever compatible reader schema decoded them', () => {
    const payment = rentalEvents.payment({ rentalId, amountMinor: 4_200 });
    const fingerprint = (event: RentalEvent) => toLedgerEvent(consumedRentalEvent(event)).factSha256;
    // Written before a deploy, replayed after it by a reader that knows a new optional field.
    const before = readAcrossSchemas(payment, 'shipped', 'shipped');
    const after = readAcrossSchemas(payment, 'shipped', 'evolved');
    expect(after).not.toEqual(before);
    expect(fingerprint(after)).toBe(fingerprint(before));
    // Written by a newer upstream with a new purpose: the older reader sees `other`.
    const newer = readAcrossSchemas(
      rentalEvents.payment({ rentalId, amountMinor: 900, purpose: 'loyalty_reward' as PaymentPurpose }),
      'evolved',
      'evolved',
    );
    const older = readAcrossSchemas(newer, 'evolved', 'shipped');
    expect(toLedgerEvent(consumedRentalEvent(older))).toMatchObject({ kind: 'payment', purpose: 'other' });
    expect(fingerprint(older)).toBe(fingerprint(newer));
  });

  it("fits the envelope's correlation id too: a log label never costs a payment its posting", () => {
    const long = {
      ...rentalEvents.payment({ rentalId, amountMinor: 100 }),
      correlationId: `c${'x'.repeat(300)}`,
    };
    expect(toLedgerEvent(consumedRentalEvent(long)).correlationId).toHaveLength(255);
    const withNul = { ...rentalEvents.payment({ rentalId, amountMinor: 100 }), correlationId: 'a\u0000b' };
    expect(toLedgerEvent(consumedRentalEvent(withNul)).correlationId).toBe('ab');
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
