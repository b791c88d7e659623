import type pg from 'pg';
import { migrate } from '../../../db/migrator.ts';
import { createPool } from '../../../db/pool.ts';
import { createFreshDatabase, type FreshDatabase } from '../../../db/testing/freshDatabase.ts';

/** A migrated throwaway database for ledger tests. */
export interface LedgerDatabase {
  fresh: FreshDatabase;
  /** A pool of the application role (what the ledger connects as). */
  app: pg.Pool;
  /** Ends the pool and drops the database. */
  close(): Promise<void>;
}

/** Creates and migrates a database of its own for one test file. */
export async function createLedgerDatabase(): Promise<LedgerDatabase> {
  const fresh = await createFreshDatabase('fleetstream_ledger_test');
  try {
    await migrate({ connectionString: fresh.urls.migrator });
  } catch (error) {
    await fresh.drop();
    throw error;
  }
  const app = createPool({ connectionString: fresh.urls.app, applicationName: 'ledger-tests', max: 4 });
  return {
    fresh,
    app,
    close: async () => {
      await app.end();
      await fresh.drop();
    },
  };
}

/** The trial balance: every account's balance per currency, as `account currency` → minor units. */
export async function trialBalance(db: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await db.query<{ account: string; currency: string; balance_minor: string }>(
    'SELECT account, currency, balance_minor FROM fleet.ledger_account_balances ORDER BY account, currency',
  );
  return new Map(rows.map((r) => [`${r.account} ${r.currency}`, Number(r.balance_minor)]));
}

/** Per currency, the sum of all balances: zero in a ledger that balances. */
export async function ledgerImbalance(db: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await db.query<{ currency: string; total: string }>(
    'SELECT currency, sum(amount_minor) AS total FROM fleet.ledger_postings GROUP BY currency ORDER BY currency',
  );
  return new Map(rows.map((r) => [r.currency, Number(r.total)]));
}

/** Rows in each ledger table, to show that a replay or a refusal wrote nothing. */
export async function ledgerRowCounts(
  db: pg.Pool,
): Promise<{ events: number; postings: number; payments: number; refunds: number }> {
  const { rows } = await db.query<{ events: string; postings: string; payments: string; refunds: string }>(
    `SELECT (SELECT count(*) FROM fleet.ledger_events) AS events,
            (SELECT count(*) FROM fleet.ledger_postings) AS postings,
            (SELECT count(*) FROM fleet.ledger_payments) AS payments,
            (SELECT count(*) FROM fleet.ledger_refunds) AS refunds`,
  );
  const counts = rows[0]!;
  return {
    events: Number(counts.events),
    postings: Number(counts.postings),
    payments: Number(counts.payments),
    refunds: Number(counts.refunds),
  };
}
