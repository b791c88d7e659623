import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DatabaseOperationError } from '../../../db/pgErrors.ts';
import type { ReservationRequestInput } from './reservationInput.ts';

/** The reservation statuses GET shows. */
export type ReservationStatus = 'pending' | 'confirmed' | 'rejected' | 'cancelled';

/** A reservation request as its owner (or an admin) sees it. */
export interface ReservationView {
  reservationId: string;
  customerId: string;
  vehicleId: string;
  startsAt: Date;
  endsAt: Date;
  status: ReservationStatus;
  reason: string | null;
  createdAt: Date;
}

/** What placing a pending request did. */
export type PlaceOutcome =
  | { kind: 'created'; reservationId: string }
  /** Same Idempotency-Key and same request: the earlier reservation, in its current status. */
  | { kind: 'replayed'; reservationId: string; status: ReservationStatus }
  /** Same Idempotency-Key, different request. */
  | { kind: 'key-reused' }
  | { kind: 'quota-exceeded'; openReservations: number }
  | { kind: 'unknown-vehicle' };

/** What withdrawing an unenqueued request found. */
export type WithdrawOutcome = 'withdrawn' | 'not-found' | ReservationStatus;

/** A page of one customer's reservations, newest first. */
export interface ReservationPage {
  reservations: ReservationView[];
  /** Opaque position after the last row; null on the last page. */
  next: { createdAt: string; reservationId: string } | null;
}

/** Two-int4 advisory lock namespace of the per-customer quota ('flqu'); see db/advisoryLockKeys.ts for the scheme. */
export const customerQuotaLockNamespace = 0x666c7175;

interface PlaceRow {
  inserted_id: string | null;
  existing_id: string | null;
  existing_hash: Buffer | null;
  existing_status: ReservationStatus | null;
  vehicle_known: boolean;
  open_holds: number;
}

// One statement after the customer's lock: the idempotent replay, the catalog check, the quota
// count (served by reservation_requests_customer_open_idx) and the insert, in one round trip.
// ON CONFLICT DO NOTHING (no target) covers both the primary key and the (customer, key) unique
// constraint: should a writer that skips our lock (the settler recording a foreign command) win
// the race, nothing is inserted and the caller re-reads.
const placeSql = `
WITH existing AS (
  SELECT reservation_id, request_hash, status
  FROM fleet.reservation_requests
  WHERE customer_id = $2 AND idempotency_key = $6
), vehicle AS (
  SELECT 1 FROM fleet.vehicles WHERE id = $3 AND active
), open_holds AS (
  SELECT count(*)::int AS n
  FROM fleet.reservation_requests
  WHERE customer_id = $2 AND status IN ('pending', 'confirmed') AND upper(requested_period) > now()
), inserted AS (
  INSERT INTO fleet.reservation_requests
    (reservation_id, customer_id, vehicle_id, requested_period, idempotency_key, request_hash)
  SELECT $1::uuid, $2, $3::uuid, tstzrange($4::timestamptz, $5::timestamptz, '[)'), $6, $7
  WHERE NOT EXISTS (SELECT 1 FROM existing)
    AND EXISTS (SELECT 1 FROM vehicle)
    AND (SELECT n FROM open_holds) < $8
  ON CONFLICT DO NOTHING
  RETURNING reservation_id
)
SELECT (SELECT reservation_id FROM inserted) AS inserted_id,
       (SELECT reservation_id FROM existing) AS existing_id,
       (SELECT request_hash FROM existing) AS existing_hash,
       (SELECT status FROM existing) AS existing_status,
       EXISTS (SELECT 1 FROM vehicle) AS vehicle_known,
       (SELECT n FROM open_holds) AS open_holds`;

const viewColumns = `reservation_id, customer_id, vehicle_id, lower(requested_period) AS starts_at,
  upper(requested_period) AS ends_at, status, decision_reason, created_at`;

interface ViewRow {
  reservation_id: string;
  customer_id: string;
  vehicle_id: string;
  starts_at: Date;
  ends_at: Date;
  status: ReservationStatus;
  decision_reason: string | null;
  created_at: Date;
}

function toView(row: ViewRow): ReservationView {
  return {
    reservationId: row.reservation_id,
    customerId: row.customer_id,
    vehicleId: row.vehicle_id,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    status: row.status,
    reason: row.decision_reason,
    createdAt: row.created_at,
  };
}

/** The advisory lock id of a customer: 32 bits of sha256, so every subject maps evenly. */
function customerLockId(customerId: string): number {
  return createHash('sha256').update(customerId).digest().readInt32BE(0);
}

/** The ingress's reads and writes of `fleet.reservation_requests`, as the application role. */
export class ReservationStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /**
   * Inserts a pending request unless the Idempotency-Key already names one, the vehicle is not
   * in the catalog, or the customer already holds `quota` open reservations. The customer's
   * advisory lock makes count-then-insert exact under concurrency (two parallel requests cannot
   * both take the last slot); the (customer, key) unique constraint is what makes duplicates
   * impossible whatever the lock.
   */
  async placePending(
    request: {
      reservationId: string;
      customerId: string;
      idempotencyKey: string | undefined;
      hash: Buffer;
      input: ReservationRequestInput;
    },
    quota: number,
  ): Promise<PlaceOutcome> {
    const params = [
      request.reservationId,
      request.customerId,
      request.input.vehicleId,
      new Date(request.input.startsAtMs).toISOString(),
      new Date(request.input.endsAtMs).toISOString(),
      request.idempotencyKey ?? null,
      request.hash,
      quota,
    ];
    // A conflict with a writer outside our lock leaves nothing inserted and nothing found: read again once.
    for (let attempt = 0; attempt < 2; attempt++) {
      const row = await this.inCustomerLock(request.customerId, 'placing a reservation request', (client) =>
        client.query<PlaceRow>(placeSql, params).then((r) => r.rows[0] as PlaceRow),
      );
      if (row.inserted_id !== null) return { kind: 'created', reservationId: row.inserted_id };
      if (row.existing_id !== null && row.existing_hash !== null && row.existing_status !== null) {
        return row.existing_hash.equals(request.hash)
          ? { kind: 'replayed', reservationId: row.existing_id, status: row.existing_status }
          : { kind: 'key-reused' };
      }
      if (!row.vehicle_known) return { kind: 'unknown-vehicle' };
      if (row.open_holds >= quota) return { kind: 'quota-exceeded', openReservations: row.open_holds };
    }
    throw new DatabaseOperationError(
      'placing a reservation request',
      new Error('the row conflicted twice with a concurrent writer'),
    );
  }

  /**
   * Marks a request whose command never reached Kafka as rejected (`enqueue_failed`) and frees
   * its Idempotency-Key, through the narrow SECURITY DEFINER function of migration 007. When the
   * settler decided it first (the produce outcome was unknown but the record did arrive), the
   * decided status is returned and nothing changes.
   */
  async withdrawUnenqueued(reservationId: string): Promise<WithdrawOutcome> {
    try {
      const result = await this.pool.query<{ outcome: string | null }>(
        'SELECT fleet.withdraw_unenqueued_reservation_request($1) AS outcome',
        [reservationId],
      );
      return (result.rows[0]?.outcome ?? 'not-found') as WithdrawOutcome;
    } catch (error) {
      throw new DatabaseOperationError('withdrawing an unenqueued reservation request', error);
    }
  }

  /**
   * The reservation `reservationId` if `ownerId` owns it (or for anyone when `ownerId` is null:
   * admins). Ownership is part of the WHERE clause, so "someone else's" and "does not exist"
   * take the same path and look the same (OWASP API1).
   */
  async findVisible(reservationId: string, ownerId: string | null): Promise<ReservationView | undefined> {
    try {
      const result = await this.pool.query<ViewRow>(
        `SELECT ${viewColumns} FROM fleet.reservation_requests
         WHERE reservation_id = $1 AND ($2::text IS NULL OR customer_id = $2)`,
        [reservationId, ownerId],
      );
      const row = result.rows[0];
      return row ? toView(row) : undefined;
    } catch (error) {
      throw new DatabaseOperationError('reading a reservation request', error);
    }
  }

  /** One customer's reservations, newest first, `limit` at a time (keyset on created_at, id). */
  async listForCustomer(
    customerId: string,
    page: { limit: number; after: { createdAt: string; reservationId: string } | null },
  ): Promise<ReservationPage> {
    const after = page.after;
    let rows: (ViewRow & { position: string })[];
    try {
      const position = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position`;
      const result =
        after === null
          ? await this.pool.query<ViewRow & { position: string }>(
              `SELECT ${viewColumns}, ${position} FROM fleet.reservation_requests
               WHERE customer_id = $1 ORDER BY created_at DESC, reservation_id DESC LIMIT $2`,
              [customerId, page.limit + 1],
            )
          : await this.pool.query<ViewRow & { position: string }>(
              `SELECT ${viewColumns}, ${position} FROM fleet.reservation_requests
               WHERE customer_id = $1 AND (created_at, reservation_id) < ($2::timestamptz, $3::uuid)
               ORDER BY created_at DESC, reservation_id DESC LIMIT $4`,
              [customerId, after.createdAt, after.reservationId, page.limit + 1],
            );
      rows = result.rows;
    } catch (error) {
      throw new DatabaseOperationError('listing reservation requests', error);
    }
    const shown = rows.slice(0, page.limit);
    const last = shown.at(-1);
    return {
      reservations: shown.map(toView),
      next:
        rows.length > page.limit && last
          ? { createdAt: last.position, reservationId: last.reservation_id }
          : null,
    };
  }

  /** Whether the database answers (readiness). */
  async ping(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
    } catch (error) {
      throw new DatabaseOperationError('pinging the database', error);
    }
  }

  /** Runs `work` in a transaction holding the customer's quota lock; rolls back on any failure. */
  private async inCustomerLock<T>(
    customerId: string,
    operation: string,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new DatabaseOperationError(operation, error);
    }
    let broken: Error | undefined;
    try {
      // Both statements in one simple-protocol round trip; the lock id is an integer we computed.
      await client.query(
        `BEGIN; SELECT pg_advisory_xact_lock(${customerQuotaLockNamespace}, ${customerLockId(customerId)})`,
      );
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable: destroy it instead of returning it to the pool.
        broken = rollbackError as Error;
      }
      throw new DatabaseOperationError(operation, error);
    } finally {
      client.release(broken);
    }
  }
}
