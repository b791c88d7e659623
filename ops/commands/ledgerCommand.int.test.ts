import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toLedgerEvent } from '../../workers/rental-ledger/ledgerEvent.ts';
import { recordRentalEvent } from '../../workers/rental-ledger/recordRentalEvent.ts';
import {
  createLedgerDatabase,
  type LedgerDatabase,
} from '../../workers/rental-ledger/testing/ledgerDatabase.ts';
import {
  consumedRentalEvent,
  rentalIdOf,
  rentalLife,
} from '../../workers/rental-ledger/testing/rentalEvents.ts';
import { runOpsCli } from '../cli.ts';

let db: LedgerDatabase;

beforeAll(async () => {
  db = await createLedgerDatabase();
});

afterAll(async () => {
  await db?.close();
});

async function ops(args: string[], databaseUrl = db.fresh.urls.readonly) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOpsCli(args, {
    env: { DATABASE_URL: databaseUrl },
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out, err };
}

describe('ops ledger', () => {
  it('says when nothing was posted, then shows the trial balance and that each currency balances', async () => {
    expect((await ops(['ledger'])).out).toEqual(['the ledger has posted nothing yet']);
    const life = rentalLife(12_000, 700);
    for (const [offset, event] of life.entries()) {
      await recordRentalEvent(db.app, toLedgerEvent(consumedRentalEvent(event, { partition: 4, offset })));
    }
    const { code, out } = await ops(['ledger']);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^ACCOUNT\s+CURRENCY\s+BALANCE \(MINOR UNITS\)\s+POSTINGS$/);
    expect(out.slice(1, 4)).toEqual([
      expect.stringMatching(/^assets:payment_clearing\s+EUR\s+11300\s+4$/),
      expect.stringMatching(/^liabilities:customer_deposits\s+EUR\s+0\s+2$/),
      expect.stringMatching(/^revenue:rental\s+EUR\s+-11300\s+2$/),
    ]);
    expect(out[4]).toBe('EUR: balances (debits = credits)');

    // One rental's events in the order they happened, where they were read, what each posted.
    const rental = await ops(['ledger', '--rental', rentalIdOf(life[0]!)]);
    expect(rental.code).toBe(0);
    expect(rental.out).toHaveLength(1 + life.length);
    expect(rental.out[1]).toMatch(/RentalStarted\s+no_posting\s+\S+\s+4\/0\s+-$/);
    expect(rental.out[2]).toMatch(
      /PaymentCaptured\s+posted\s+\S+\s+4\/1\s+assets:payment_clearing 12000 EUR, revenue:rental -12000 EUR$/,
    );
  });

  it('exits 1 naming the currency when the book does not balance, and 2 on a malformed rental id', async () => {
    // Only by going around the database's own guard (its owner disabling the balance trigger) can
    // an unbalanced set exist: the command must say so, not print a clean trial balance.
    const owner = new pg.Client({ connectionString: db.fresh.urls.migrator });
    await owner.connect();
    try {
      const eventId = randomUUID();
      await owner.query('ALTER TABLE fleet.ledger_postings DISABLE TRIGGER ledger_postings_balanced');
      await owner.query(
        `INSERT INTO fleet.ledger_events (event_id, event_type, rental_id, customer_id, occurred_at, outcome, source_partition, source_offset)
         VALUES ($1, 'PaymentCaptured', $2, 'drill', now(), 'posted', 0, 0)`,
        [eventId, randomUUID()],
      );
      await owner.query(
        `INSERT INTO fleet.ledger_postings (event_id, line_no, account, currency, amount_minor)
         VALUES ($1, 1, 'assets:payment_clearing', 'CHF', 100)`,
        [eventId],
      );
    } finally {
      await owner.query('ALTER TABLE fleet.ledger_postings ENABLE TRIGGER ledger_postings_balanced');
      await owner.end();
    }
    const { code, out } = await ops(['ledger']);
    expect(code).toBe(1);
    expect(out).toContain('CHF: DOES NOT BALANCE, off by 100');
    expect((await ops(['ledger', '--rental', 'rental-7'])).code).toBe(2);
  });
});
