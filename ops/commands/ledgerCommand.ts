import { type CliIo, exitCodes, formatTable, parseCommand, UsageError } from '../cliSupport.ts';
import { withReadOnlyDatabase } from '../readOnlyDatabase.ts';

export const ledgerUsage = `usage: ops ledger [--rental RENTAL_ID]

  The rental ledger's trial balance: every account's balance per currency, then per currency the
  sum of all balances, which is 0 in a ledger that balances (the database refuses any posting
  set that does not). With --rental, that rental's events as the ledger recorded them (outcome,
  where they were read) and the lines each posted: where to look when a refund was refused
  (docs/rental-ledger.md). Reads PostgreSQL (DATABASE_URL) in a read-only session.

exit status: 0 shown and balanced; 1 the database is unreachable, or a currency does not balance;
2 bad arguments.`;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface BalanceRow {
  account: string;
  currency: string;
  balance_minor: string;
  postings: string;
}

interface RentalEventRow {
  event_id: string;
  event_type: string;
  outcome: string;
  occurred_at: Date;
  source: string;
  lines: string | null;
}

/** `ops ledger`. */
export async function runLedgerCommand(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(ledgerUsage);
    return exitCodes.ok;
  }
  const { values, positionals } = parseCommand(argv, { rental: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const rental = values.rental;
  if (rental !== undefined && !uuidPattern.test(rental)) {
    throw new UsageError(`--rental must be a rental id (a UUID), got ${JSON.stringify(rental)}`);
  }
  if (rental !== undefined) return showRental(rental.toLowerCase(), io);
  return showTrialBalance(io);
}

async function showTrialBalance(io: CliIo): Promise<number> {
  const balances = await withReadOnlyDatabase(
    io.env,
    'reading the trial balance',
    async (client) =>
      (
        await client.query<BalanceRow>(
          `SELECT account, currency, balance_minor::text, postings::text
           FROM fleet.ledger_account_balances ORDER BY currency, account`,
        )
      ).rows,
  );
  if (balances.length === 0) {
    io.out('the ledger has posted nothing yet');
    return exitCodes.ok;
  }
  for (const line of formatTable(
    ['ACCOUNT', 'CURRENCY', 'BALANCE (MINOR UNITS)', 'POSTINGS'],
    balances.map((b) => [b.account, b.currency, b.balance_minor, b.postings]),
  )) {
    io.out(line);
  }
  // BigInt: a sum of many minor-unit balances may pass Number's exact range.
  const totals = new Map<string, bigint>();
  for (const b of balances) totals.set(b.currency, (totals.get(b.currency) ?? 0n) + BigInt(b.balance_minor));
  const unbalanced = [...totals].filter(([, total]) => total !== 0n);
  for (const [currency, total] of totals) {
    io.out(
      `${currency}: ${total === 0n ? 'balances (debits = credits)' : `DOES NOT BALANCE, off by ${total}`}`,
    );
  }
  return unbalanced.length === 0 ? exitCodes.ok : exitCodes.failure;
}

async function showRental(rentalId: string, io: CliIo): Promise<number> {
  const events = await withReadOnlyDatabase(
    io.env,
    `reading rental ${rentalId}`,
    async (client) =>
      (
        await client.query<RentalEventRow>(
          `SELECT e.event_id, e.event_type, e.outcome, e.occurred_at,
                e.source_partition || '/' || e.source_offset AS source,
                string_agg(p.account || ' ' || p.amount_minor || ' ' || p.currency, ', ' ORDER BY p.line_no) AS lines
           FROM fleet.ledger_events e
           LEFT JOIN fleet.ledger_postings p ON p.event_id = e.event_id
          WHERE e.rental_id = $1
          GROUP BY e.event_id
          ORDER BY e.occurred_at, e.source_partition, e.source_offset`,
          [rentalId],
        )
      ).rows,
  );
  if (events.length === 0) {
    io.out(`the ledger has recorded nothing for rental ${rentalId}`);
    return exitCodes.ok;
  }
  for (const line of formatTable(
    ['EVENT', 'TYPE', 'OUTCOME', 'OCCURRED AT', 'READ FROM', 'POSTED'],
    events.map((e) => [
      e.event_id,
      e.event_type,
      e.outcome,
      e.occurred_at.toISOString(),
      e.source,
      e.lines ?? '-',
    ]),
  )) {
    io.out(line);
  }
  return exitCodes.ok;
}
