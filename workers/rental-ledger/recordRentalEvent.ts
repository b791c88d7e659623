import type pg from 'pg';
import { DatabaseOperationError, sqlStates } from '../../db/pgErrors.ts';
import { inReadCommittedTransaction } from '../../db/readCommittedTransaction.ts';
import { PermanentError, RetriableError } from '../runtime/errors/processingErrors.ts';
import { creditedAccountFor } from './chartOfAccounts.ts';
import type { LedgerEvent, PaymentEvent, RefundEvent } from './ledgerEvent.ts';
import { capturePostings, type PostingLine, refundPostings } from './postingPlan.ts';

/**
 * What recording an event did: posted a balanced set; recorded a fact without money; recognised
 * a payment or refund already posted under another event id; or found this very event recorded
 * before (a replay), and changed nothing.
 */
export type LedgerOutcome = 'posted' | 'no_posting' | 'duplicate' | 'replayed';

/** What recording an event did, and the lines it posted (none unless `posted`). */
export interface LedgerRecord {
  outcome: LedgerOutcome;
  postings: PostingLine[];
}

const nothingPosted = (outcome: Exclude<LedgerOutcome, 'posted'>): LedgerRecord => ({
  outcome,
  postings: [],
});

/** An event the ledger can never post as it is (unknown payment, over-refund, conflicting re-send). */
export class LedgerRefusalError extends PermanentError {}

/**
 * Records one rental event in one transaction: the event row (the idempotency key), then for a
 * payment or refund its business record and its balanced posting set. A replay — the same event
 * id again, after a crash before the offset commit, or a group reset — finds its row and writes
 * nothing. The same payment or refund under a new event id is recorded as a `duplicate` and posts
 * nothing, and one that contradicts what was posted is refused (dead-lettered with the reason).
 * Events of one rental arrive in order (they share a key), so a refund finds its payment.
 */
export function recordRentalEvent(pool: pg.Pool, event: LedgerEvent): Promise<LedgerRecord> {
  return inReadCommittedTransaction(pool, async (client) => {
    if (await isRecorded(client, event)) return nothingPosted('replayed');
    switch (event.kind) {
      case 'lifecycle':
        return nothingPosted((await insertEvent(client, event, 'no_posting')) ? 'no_posting' : 'replayed');
      case 'payment':
        return recordPayment(client, event);
      case 'refund':
        return recordRefund(client, event);
    }
  });
}

/** A captured payment as stored (amounts as numeric text), or undefined when the ledger never got it. */
async function readPayment(client: pg.PoolClient, paymentId: string, operation: string) {
  const rows = await query<{
    rental_id: string;
    customer_id: string;
    credited_account: string;
    currency: string;
    captured_minor: string;
    refunded_minor: string;
  }>(
    client,
    operation,
    `SELECT rental_id, customer_id, credited_account, currency, captured_minor, refunded_minor
       FROM fleet.ledger_payments WHERE payment_id = $1`,
    [paymentId],
  );
  return rows[0];
}

async function recordPayment(client: pg.PoolClient, event: PaymentEvent): Promise<LedgerRecord> {
  const creditedAccount = creditedAccountFor(event.purpose);
  const stored = await readPayment(client, event.paymentId, 'reading the payment');
  if (stored) {
    const same =
      stored.rental_id === event.rentalId &&
      stored.customer_id === event.customerId &&
      stored.credited_account === creditedAccount &&
      stored.currency === event.currency &&
      Number(stored.captured_minor) === event.amountMinor;
    if (!same) {
      throw new LedgerRefusalError(
        `payment ${event.paymentId} was posted as ${stored.captured_minor} ${stored.currency} to ${stored.credited_account} for rental ${stored.rental_id}; event ${event.eventId} says ${event.amountMinor} ${event.currency} to ${creditedAccount} for rental ${event.rentalId}`,
        { code: 'PAYMENT_CONFLICT' },
      );
    }
    return nothingPosted((await insertEvent(client, event, 'duplicate')) ? 'duplicate' : 'replayed');
  }
  if (!(await insertEvent(client, event, 'posted'))) return nothingPosted('replayed');
  await insertUnique(
    client,
    'recording the payment',
    `INSERT INTO fleet.ledger_payments
       (payment_id, rental_id, customer_id, credited_account, currency, captured_minor, captured_event_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      event.paymentId,
      event.rentalId,
      event.customerId,
      creditedAccount,
      event.currency,
      event.amountMinor,
      event.eventId,
    ],
  );
  const postings = capturePostings(creditedAccount, event.currency, event.amountMinor);
  await insertPostings(client, event.eventId, postings);
  return { outcome: 'posted', postings };
}

async function recordRefund(client: pg.PoolClient, event: RefundEvent): Promise<LedgerRecord> {
  // Read without a lock: the refunds' own trigger moves the payment's total under its row lock, and
  // the table's CHECK refuses a total past the capture, so two racing refunds never both fit.
  const payment = await readPayment(client, event.paymentId, 'reading the refunded payment');
  if (!payment) {
    throw new LedgerRefusalError(
      `refund ${event.refundId} is for payment ${event.paymentId}, which the ledger never received`,
      { code: 'REFUND_OF_UNKNOWN_PAYMENT' },
    );
  }
  const refunds = await query<{ payment_id: string; amount_minor: string }>(
    client,
    'reading the refund',
    `SELECT payment_id, amount_minor FROM fleet.ledger_refunds WHERE refund_id = $1`,
    [event.refundId],
  );
  const stored = refunds[0];
  if (stored) {
    if (stored.payment_id !== event.paymentId || Number(stored.amount_minor) !== event.amountMinor) {
      throw new LedgerRefusalError(
        `refund ${event.refundId} was posted as ${stored.amount_minor} of payment ${stored.payment_id}; event ${event.eventId} says ${event.amountMinor} of ${event.paymentId}`,
        { code: 'REFUND_CONFLICT' },
      );
    }
    return nothingPosted((await insertEvent(client, event, 'duplicate')) ? 'duplicate' : 'replayed');
  }
  if (payment.rental_id !== event.rentalId || payment.currency !== event.currency) {
    throw new LedgerRefusalError(
      `refund ${event.refundId} (rental ${event.rentalId}, ${event.currency}) does not match payment ${event.paymentId} (rental ${payment.rental_id}, ${payment.currency})`,
      { code: 'REFUND_MISMATCH' },
    );
  }
  const refundable = Number(payment.captured_minor) - Number(payment.refunded_minor);
  if (event.amountMinor > refundable) {
    throw new LedgerRefusalError(
      `refund ${event.refundId} of ${event.amountMinor} ${event.currency} exceeds what payment ${event.paymentId} has left to refund (${refundable})`,
      { code: 'REFUND_EXCEEDS_PAYMENT' },
    );
  }
  if (!(await insertEvent(client, event, 'posted'))) return nothingPosted('replayed');
  await insertUnique(
    client,
    'recording the refund',
    // The database adds it to the payment's refunded total (trigger of migration 014).
    `INSERT INTO fleet.ledger_refunds (refund_id, payment_id, amount_minor, refunded_event_id) VALUES ($1, $2, $3, $4)`,
    [event.refundId, event.paymentId, event.amountMinor, event.eventId],
    {
      constraint: 'ledger_payments_refund_within_capture',
      refusal: () =>
        new LedgerRefusalError(
          `refund ${event.refundId} of ${event.amountMinor} ${event.currency} exceeds what payment ${event.paymentId} has left to refund: another refund of it was recorded meanwhile`,
          { code: 'REFUND_EXCEEDS_PAYMENT' },
        ),
    },
  );
  const postings = refundPostings(payment.credited_account, event.currency, event.amountMinor);
  await insertPostings(client, event.eventId, postings);
  return { outcome: 'posted', postings };
}

/**
 * Whether this event was recorded before (a replay). The same id with another payload is not a
 * replay but an upstream reusing an event id: refused, so that fact is not silently dropped.
 */
async function isRecorded(client: pg.PoolClient, event: LedgerEvent): Promise<boolean> {
  const rows = await query<{ fact_sha256: string | null }>(
    client,
    'looking the event up',
    `SELECT fact_sha256 FROM fleet.ledger_events WHERE event_id = $1`,
    [event.eventId],
  );
  const recorded = rows[0];
  if (!recorded) return false;
  // NULL: recorded before migration 016, trusted on its event id alone.
  if (recorded.fact_sha256 !== null && recorded.fact_sha256 !== event.factSha256) {
    throw new LedgerRefusalError(
      `event id ${event.eventId} was recorded before with another payload: an upstream reused the id for a different ${event.type}`,
      { code: 'EVENT_ID_CONFLICT' },
    );
  }
  return true;
}

/**
 * Inserts the event row; false when it exists already. The check before is the common path; this
 * covers two replicas recording the same event at once during a rebalance (the second waits on
 * the first's uncommitted row, then finds it).
 */
async function insertEvent(
  client: pg.PoolClient,
  event: LedgerEvent,
  outcome: Exclude<LedgerOutcome, 'replayed'>,
): Promise<boolean> {
  const rows = await query(
    client,
    'recording the event',
    `INSERT INTO fleet.ledger_events
       (event_id, event_type, rental_id, customer_id, occurred_at, outcome, correlation_id, source_partition,
        source_offset, fact_sha256)
     VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1000), $6, $7, $8, $9, $10)
     ON CONFLICT (event_id) DO NOTHING
     RETURNING 1`,
    [
      event.eventId,
      event.type,
      event.rentalId,
      event.customerId,
      event.occurredAtMs,
      outcome,
      event.correlationId,
      event.position.partition,
      event.position.offset,
      event.factSha256,
    ],
  );
  return rows.length === 1;
}

async function insertPostings(
  client: pg.PoolClient,
  eventId: string,
  lines: readonly PostingLine[],
): Promise<void> {
  await query(
    client,
    'posting',
    `INSERT INTO fleet.ledger_postings (event_id, line_no, account, currency, amount_minor)
     SELECT $1, l.ord, l.account, l.currency, l.amount_minor
       FROM unnest($2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS l(account, currency, amount_minor, ord)`,
    [eventId, lines.map((l) => l.account), lines.map((l) => l.currency), lines.map((l) => l.amountMinor)],
  );
}

/**
 * An insert keyed by a payment or refund id. Its unique violation means another replica recorded
 * the same business record under another event id a moment ago: retry, and the retry sees it.
 * `check` turns a violation of the named CHECK constraint into the business refusal it stands for.
 */
async function insertUnique(
  client: pg.PoolClient,
  operation: string,
  text: string,
  values: unknown[],
  check?: { constraint: string; refusal: () => LedgerRefusalError },
): Promise<void> {
  try {
    await query(client, operation, text, values);
  } catch (error) {
    const { sqlState, cause } = error as DatabaseOperationError;
    if (
      check &&
      sqlState === sqlStates.checkViolation &&
      (cause as { constraint?: unknown }).constraint === check.constraint
    ) {
      throw check.refusal();
    }
    if (sqlState === sqlStates.uniqueViolation) {
      throw new RetriableError(`${operation}: recorded concurrently under another event; retrying`, {
        cause,
        code: 'LEDGER_CONCURRENT_RECORD',
      });
    }
    throw error;
  }
}

async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.PoolClient,
  operation: string,
  text: string,
  values: unknown[],
): Promise<R[]> {
  try {
    return (await client.query<R>(text, values)).rows;
  } catch (error) {
    throw new DatabaseOperationError(operation, error);
  }
}
