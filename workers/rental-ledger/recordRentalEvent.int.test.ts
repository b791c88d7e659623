import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilSessionsWaitForLocks } from '../../db/testing/lockWaits.ts';
import { sqlStateOfRejection } from '../../db/testing/sqlState.ts';
import type { RentalEvent } from '../../schemas/generated/types.ts';
import { toLedgerEvent } from './ledgerEvent.ts';
import { type LedgerRecord, LedgerRefusalError, recordRentalEvent } from './recordRentalEvent.ts';
import { readAcrossSchemas } from './testing/evolvedRentalSchema.ts';
import {
  createLedgerDatabase,
  type LedgerDatabase,
  ledgerImbalance,
  ledgerRowCounts,
  trialBalance,
} from './testing/ledgerDatabase.ts';
import { consumedRentalEvent, rentalEvents, republished } from './testing/rentalEvents.ts';

let db: LedgerDatabase;

beforeAll(async () => {
  db = await createLedgerDatabase();
});

afterAll(async () => {
  await db?.close();
});

let offset = 0;
const record = (event: RentalEvent): Promise<LedgerRecord> =>
  recordRentalEvent(db.app, toLedgerEvent(consumedRentalEvent(event, { partition: 0, offset: offset++ })));

function refusal(event: RentalEvent): Promise<string> {
  return refusalOf(record(event));
}

async function refusalOf(recording: Promise<LedgerRecord>): Promise<string> {
  try {
    await recording;
  } catch (error) {
    expect(error).toBeInstanceOf(LedgerRefusalError);
    return (error as LedgerRefusalError).code;
  }
  throw new Error('the event was recorded, not refused');
}

describe('recordRentalEvent on PostgreSQL', () => {
  it("posts a rental's money in balanced sets and keeps the trial balance at zero", async () => {
    const rentalId = randomUUID();
    const charge = randomUUID();
    const deposit = randomUUID();
    const fuel = randomUUID();
    const life = [
      rentalEvents.started(rentalId),
      rentalEvents.payment({ rentalId, paymentId: charge, amountMinor: 12_000 }),
      rentalEvents.payment({ rentalId, paymentId: deposit, amountMinor: 30_000, purpose: 'deposit' }),
      rentalEvents.ended(rentalId),
      rentalEvents.payment({ rentalId, paymentId: fuel, amountMinor: 2_500, purpose: 'fuel' }),
      rentalEvents.refund({ rentalId, paymentId: deposit, amountMinor: 30_000 }),
      rentalEvents.refund({ rentalId, paymentId: charge, amountMinor: 1_000 }),
    ];
    const outcomes = [];
    for (const event of life) outcomes.push((await record(event)).outcome);
    expect(outcomes).toEqual(['no_posting', 'posted', 'posted', 'no_posting', 'posted', 'posted', 'posted']);

    expect(await trialBalance(db.app)).toEqual(
      new Map([
        ['assets:payment_clearing EUR', 13_500],
        ['liabilities:customer_deposits EUR', 0],
        ['revenue:fuel EUR', -2_500],
        ['revenue:rental EUR', -11_000],
      ]),
    );
    expect(await ledgerImbalance(db.app)).toEqual(new Map([['EUR', 0]]));

    // Replayed (crash before the offset commit, a group reset): recognised, nothing written.
    const before = await ledgerRowCounts(db.app);
    for (const event of life) expect((await record(event)).outcome).toBe('replayed');
    expect(await ledgerRowCounts(db.app)).toEqual(before);
    expect((await trialBalance(db.app)).get('assets:payment_clearing EUR')).toBe(13_500);
  });

  it('posts a payment or refund announced again under a new event id once, and refuses one that contradicts it', async () => {
    const rentalId = randomUUID();
    const paymentId = randomUUID();
    const payment = rentalEvents.payment({ rentalId, paymentId, amountMinor: 8_000, currency: 'CHF' });
    const refund = rentalEvents.refund({ rentalId, paymentId, amountMinor: 3_000, currency: 'CHF' });
    expect((await record(payment)).outcome).toBe('posted');
    expect((await record(refund)).outcome).toBe('posted');
    const before = await ledgerRowCounts(db.app);

    expect(await record(republished(payment))).toEqual({ outcome: 'duplicate', postings: [] });
    expect(await record(republished(refund))).toEqual({ outcome: 'duplicate', postings: [] });
    const after = await ledgerRowCounts(db.app);
    // Only the two duplicate events' own rows: no posting, payment or refund added.
    expect(after).toEqual({ ...before, events: before.events + 2 });

    const otherAmount = rentalEvents.payment({ rentalId, paymentId, amountMinor: 9_000, currency: 'CHF' });
    expect(await refusal(otherAmount)).toBe('PAYMENT_CONFLICT');
    const refundPayload = refund.payload[
      'dev.fleetstream.rental.RefundIssued' as keyof typeof refund.payload
    ] as {
      refundId: string;
    };
    const otherRefund = rentalEvents.refund({
      rentalId,
      paymentId,
      refundId: refundPayload.refundId,
      amountMinor: 2_000,
      currency: 'CHF',
    });
    expect(await refusal(otherRefund)).toBe('REFUND_CONFLICT');
    // The same payment id under another rental is not a duplicate of it.
    const otherRental = rentalEvents.payment({
      rentalId: randomUUID(),
      paymentId,
      amountMinor: 8_000,
      currency: 'CHF',
    });
    expect(await refusal(otherRental)).toBe('PAYMENT_CONFLICT');
    // An event id reused for another fact is not a replay of it.
    const reusedId = {
      ...rentalEvents.payment({ rentalId, amountMinor: 1, currency: 'CHF' }),
      eventId: payment.eventId,
    };
    expect(await refusal(reusedId)).toBe('EVENT_ID_CONFLICT');
    expect(await ledgerRowCounts(db.app)).toEqual(after);
    expect((await ledgerImbalance(db.app)).get('CHF')).toBe(0);
  });

  it('recognises a replay decoded by a newer compatible reader schema, and posts whatever the correlation id', async () => {
    const rentalId = randomUUID();
    const paymentId = randomUUID();
    const payment = {
      ...rentalEvents.payment({ rentalId, paymentId, amountMinor: 6_000 }),
      correlationId: `upstream-${'x'.repeat(300)}\u0000`,
    };
    const refund = rentalEvents.refund({ rentalId, paymentId, amountMinor: 1_000 });
    expect((await record(readAcrossSchemas(payment, 'shipped', 'shipped'))).outcome).toBe('posted');
    expect((await record(refund)).outcome).toBe('posted');
    const before = await ledgerRowCounts(db.app);
    // After a deploy that taught the reader a new optional field: the same bytes, a replay.
    expect(await record(readAcrossSchemas(payment, 'shipped', 'evolved'))).toEqual({
      outcome: 'replayed',
      postings: [],
    });
    expect(await ledgerRowCounts(db.app)).toEqual(before);
    const stored = await db.app.query<{ correlation_id: string }>(
      'SELECT correlation_id FROM fleet.ledger_events WHERE event_id = $1',
      [payment.eventId],
    );
    expect(stored.rows[0]?.correlation_id).toBe(`upstream-${'x'.repeat(246)}`);
  });

  it('refuses refunds the payment does not cover, and writes nothing for them', async () => {
    const rentalId = randomUUID();
    const paymentId = randomUUID();
    await record(rentalEvents.payment({ rentalId, paymentId, amountMinor: 5_000 }));
    const before = await ledgerRowCounts(db.app);

    expect(await refusal(rentalEvents.refund({ rentalId, paymentId: randomUUID(), amountMinor: 100 }))).toBe(
      'REFUND_OF_UNKNOWN_PAYMENT',
    );
    expect(await refusal(rentalEvents.refund({ rentalId, paymentId, amountMinor: 5_001 }))).toBe(
      'REFUND_EXCEEDS_PAYMENT',
    );
    expect(
      await refusal(rentalEvents.refund({ rentalId, paymentId, amountMinor: 100, currency: 'USD' })),
    ).toBe('REFUND_MISMATCH');
    expect(await refusal(rentalEvents.refund({ rentalId: randomUUID(), paymentId, amountMinor: 100 }))).toBe(
      'REFUND_MISMATCH',
    );
    expect(await ledgerRowCounts(db.app)).toEqual(before);

    // Two partial refunds fit; a third that would pass the captured amount does not.
    expect((await record(rentalEvents.refund({ rentalId, paymentId, amountMinor: 3_000 }))).outcome).toBe(
      'posted',
    );
    expect((await record(rentalEvents.refund({ rentalId, paymentId, amountMinor: 2_000 }))).outcome).toBe(
      'posted',
    );
    expect(await refusal(rentalEvents.refund({ rentalId, paymentId, amountMinor: 1 }))).toBe(
      'REFUND_EXCEEDS_PAYMENT',
    );
  });

  it('refuses cleanly a refund that a concurrent refund of the same payment no longer leaves room for', async () => {
    const rentalId = randomUUID();
    const paymentId = randomUUID();
    await record(rentalEvents.payment({ rentalId, paymentId, amountMinor: 10_000 }));
    // Another writer is in the middle of moving 6,000 of the same payment's refunded total.
    const other = new pg.Client({ connectionString: db.fresh.urls.migrator });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('UPDATE fleet.ledger_payments SET refunded_minor = 6000 WHERE payment_id = $1', [
        paymentId,
      ]);
      const second = record(rentalEvents.refund({ rentalId, paymentId, amountMinor: 6_000 }));
      second.catch(() => undefined); // inspected below, after the other transaction ends
      await untilSessionsWaitForLocks(db.app);
      await other.query('COMMIT');
      // It read 10,000 refundable, then found 4,000 when its refund reached the payment's row.
      expect(await refusalOf(second)).toBe('REFUND_EXCEEDS_PAYMENT');
    } finally {
      await other.end();
    }
    const { rows } = await db.app.query(
      'SELECT refunded_minor FROM fleet.ledger_payments WHERE payment_id = $1',
      [paymentId],
    );
    expect(Number(rows[0].refunded_minor)).toBe(6_000);
  });

  it('has the database refuse an unbalanced posting set and any change to the book, whoever writes', async () => {
    const eventId = randomUUID();
    const client = await db.app.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO fleet.ledger_events (event_id, event_type, rental_id, customer_id, occurred_at, outcome, source_partition, source_offset)
         VALUES ($1, 'PaymentCaptured', $2, 'mallory', now(), 'posted', 0, 0)`,
        [eventId, randomUUID()],
      );
      await client.query(
        `INSERT INTO fleet.ledger_postings (event_id, line_no, account, currency, amount_minor)
         VALUES ($1, 1, 'assets:payment_clearing', 'EUR', 100), ($1, 2, 'revenue:rental', 'EUR', -99)`,
        [eventId],
      );
      // The balance check is deferred to COMMIT, where the whole set is known.
      expect(await sqlStateOfRejection(client.query('COMMIT'))).toBe('23514');
    } finally {
      client.release();
    }
    expect(
      (await db.app.query('SELECT 1 FROM fleet.ledger_events WHERE event_id = $1', [eventId])).rowCount,
    ).toBe(0);

    // The application role may not change or remove postings; the owner is stopped by the trigger.
    expect(await sqlStateOfRejection(db.app.query('UPDATE fleet.ledger_postings SET amount_minor = 1'))).toBe(
      '42501',
    );
    expect(await sqlStateOfRejection(db.app.query('DELETE FROM fleet.ledger_events'))).toBe('42501');
    const owner = new pg.Client({ connectionString: db.fresh.urls.migrator });
    await owner.connect();
    try {
      expect(
        await sqlStateOfRejection(
          owner.query('UPDATE fleet.ledger_postings SET amount_minor = amount_minor * 2'),
        ),
      ).toBe('23514');
      expect(await sqlStateOfRejection(owner.query('DELETE FROM fleet.ledger_events'))).toBe('23514');
      expect(await sqlStateOfRejection(owner.query('DELETE FROM fleet.ledger_refunds'))).toBe('23514');
      expect(await sqlStateOfRejection(owner.query('TRUNCATE fleet.ledger_postings'))).toBe('23514');
      expect(
        await sqlStateOfRejection(
          owner.query('UPDATE fleet.ledger_payments SET refunded_minor = refunded_minor - 1'),
        ),
      ).toBe('23514');
    } finally {
      await owner.end();
    }
  });
});
