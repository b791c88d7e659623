import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DatabaseOperationError } from '../../../db/pgErrors.ts';
import {
  type BatchItemResult,
  type BatchingOptions,
  GroupCommitBatcher,
} from '../../runtime/batching/groupCommitBatcher.ts';
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

/** What withdrawing an unenqueued request found (`pending`: a replay or the relay claimed it). */
export type WithdrawOutcome = 'withdrawn' | 'not-found' | ReservationStatus;

/** What claiming a pending request for a replay found (`withdrawn`: its first attempt withdrew it). */
export type ReplayClaim = 'claimed' | 'withdrawn' | 'not-found' | Exclude<ReservationStatus, 'pending'>;

/** A pending request the relay claimed: what its command is rebuilt from. */
export interface StalePendingRequest {
  reservationId: string;
  customerId: string;
  vehicleId: string;
  startsAtMs: number;
  endsAtMs: number;
  idempotencyKey: string | null;
  createdAt: Date;
  /** How many times it has been claimed, this claim included. */
  relayCount: number;
}

/** A page of one customer's reservations, newest first. */
export interface ReservationPage {
  reservations: ReservationView[];
  /** Opaque position after the last row; null on the last page. */
  next: { createdAt: string; reservationId: string } | null;
}

interface PlaceRow {
  inserted_id: string | null;
  existing_id: string | null;
  existing_hash: Buffer | null;
  existing_status: ReservationStatus | null;
  vehicle_known: boolean;
  open_holds: number;
}

// Placement is group-committed (migration 011): requests arriving while earlier batches run are
// placed together by fleet.place_reservation_requests, which takes every customer's advisory
// lock in ascending order and then runs 009's per-request function for each element in order
// (lock, idempotent replay, catalog check, quota count served by
// reservation_requests_customer_open_idx, insert). One execute and one commit per batch instead
// of per request. Named, so each connection parses and plans it once.
const placeBatchStatement = {
  name: 'ingress-place-reservation-requests',
  text: 'SELECT * FROM fleet.place_reservation_requests($1, $2, $3, $4, $5, $6, $7, $8, $9)',
};

/** One request to place, with what the statement needs beside it. */
interface PlaceItem {
  request: PendingRequest;
  quota: number;
  lockId: number;
}

/** A new pending request as the route hands it over. */
export interface PendingRequest {
  reservationId: string;
  customerId: string;
  idempotencyKey: string | undefined;
  hash: Buffer;
  input: ReservationRequestInput;
}

/** Default grouping of placements (the ingress config overrides it). */
export const defaultPlacementBatching: BatchingOptions = {
  maxBatchSize: 32,
  lingerMs: 0,
  maxBatchesInFlight: 4,
};

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
  private readonly placer: GroupCommitBatcher<PlaceItem, PlaceRow>;

  /** `placement`: how POSTs are grouped into placement transactions. */
  constructor(pool: pg.Pool, placement: BatchingOptions = defaultPlacementBatching) {
    this.pool = pool;
    // Keyed by customer: one customer's requests go in submission order and never make two
    // in-flight batches wait on each other's advisory lock.
    this.placer = new GroupCommitBatcher<PlaceItem, PlaceRow>(
      placement,
      (items) => this.placeBatch(items),
      (item) => [item.request.customerId],
      undefined,
      'placement',
    );
  }

  /** Places what was submitted, then refuses new placements (shutdown). */
  close(): Promise<void> {
    return this.placer.close();
  }

  /**
   * Inserts a pending request unless the Idempotency-Key already names one, the vehicle is not
   * in the catalog, or the customer already holds `quota` open reservations. The customer's
   * advisory lock makes count-then-insert exact under concurrency (two parallel requests cannot
   * both take the last slot); the (customer, key) unique constraint is what makes duplicates
   * impossible whatever the lock.
   */
  async placePending(request: PendingRequest, quota: number): Promise<PlaceOutcome> {
    const item = { request, quota, lockId: customerLockId(request.customerId) };
    // A conflict with a writer outside our lock leaves nothing inserted and nothing found: read again once.
    for (let attempt = 0; attempt < 2; attempt++) {
      const row = await this.placer.submit(item);
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
   * Places a batch in one statement. A data error (SQLSTATE class 22 or 23: one request the
   * database refuses) reruns the batch one request per statement, one at a time, so only the
   * offender fails and the reruns never take more than this batch's one connection. Any other
   * failure — retriable (connection, timeout) or systematic (a missing function, a privilege) —
   * fails every item with it: rerunning would multiply the load for the same answer.
   */
  private async placeBatch(items: PlaceItem[]): Promise<BatchItemResult<PlaceRow>[]> {
    try {
      const rows = await this.placeRows(items);
      return items.map((_, index) => {
        const row = rows.get(index + 1);
        return row
          ? { ok: true, settlement: row }
          : {
              ok: false,
              error: new DatabaseOperationError(
                'placing a reservation request',
                new Error('the batch returned no row for this request'),
              ),
            };
      });
    } catch (error) {
      const failure = new DatabaseOperationError('placing a reservation request', error);
      const dataError = /^2[23]/.test(failure.sqlState ?? '');
      if (items.length === 1 || !dataError) return items.map(() => ({ ok: false, error: failure }));
      const results: BatchItemResult<PlaceRow>[] = [];
      for (const item of items) results.push((await this.placeBatch([item]))[0]!);
      return results;
    }
  }

  private async placeRows(items: PlaceItem[]): Promise<Map<number, PlaceRow>> {
    const result = await this.pool.query<PlaceRow & { ord: number }>({
      ...placeBatchStatement,
      values: [
        items.map((i) => i.request.reservationId),
        items.map((i) => i.request.customerId),
        items.map((i) => i.request.input.vehicleId),
        items.map((i) => new Date(i.request.input.startsAtMs).toISOString()),
        items.map((i) => new Date(i.request.input.endsAtMs).toISOString()),
        items.map((i) => i.request.idempotencyKey ?? null),
        items.map((i) => i.request.hash),
        items.map((i) => i.quota),
        items.map((i) => i.lockId),
      ],
    });
    return new Map(result.rows.map((row) => [row.ord, row]));
  }

  /**
   * Marks a request whose command never reached Kafka as rejected (`enqueue_failed`) and frees
   * its Idempotency-Key, through the narrow SECURITY DEFINER function of migration 007. When the
   * settler decided it first (the produce outcome was unknown but the record did arrive), the
   * decided status is returned and nothing changes; a row a replay claimed (migration 015) stays
   * `pending` and `pending` is returned.
   */
  async withdrawUnenqueued(reservationId: string): Promise<WithdrawOutcome> {
    return (await this.requestFunctionOutcome(
      'withdraw_unenqueued_reservation_request',
      reservationId,
      'withdrawing an unenqueued reservation request',
    )) as WithdrawOutcome;
  }

  /**
   * Claims a still-pending request before a replay produces its command again (migration 015), so
   * that its first attempt can no longer withdraw it; otherwise reports what became of it.
   */
  async claimForReplay(reservationId: string): Promise<ReplayClaim> {
    return (await this.requestFunctionOutcome(
      'claim_pending_request_for_replay',
      reservationId,
      'claiming a pending reservation request for a replay',
    )) as ReplayClaim;
  }

  /** Calls one of the migrations' per-request SECURITY DEFINER functions; `not-found` for a NULL outcome. */
  private async requestFunctionOutcome(
    name: 'withdraw_unenqueued_reservation_request' | 'claim_pending_request_for_replay',
    reservationId: string,
    doing: string,
  ): Promise<string> {
    try {
      const result = await this.pool.query<{ outcome: string | null }>(
        `SELECT fleet.${name}($1) AS outcome`,
        [reservationId],
      );
      return result.rows[0]?.outcome ?? 'not-found';
    } catch (error) {
      throw new DatabaseOperationError(doing, error);
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

  /**
   * The request this customer placed earlier under `idempotencyKey`, with the hash of what it
   * asked for; undefined when the key is new. Consulted only when a POST would otherwise be
   * refused (a rule that depends on the time, the broker down), so that a retry still gets its
   * first answer.
   */
  async findByIdempotencyKey(
    customerId: string,
    idempotencyKey: string,
  ): Promise<{ reservationId: string; status: ReservationStatus; hash: Buffer } | undefined> {
    try {
      const result = await this.pool.query<{
        reservation_id: string;
        status: ReservationStatus;
        request_hash: Buffer;
      }>(
        `SELECT reservation_id, status, request_hash FROM fleet.reservation_requests
          WHERE customer_id = $1 AND idempotency_key = $2`,
        [customerId, idempotencyKey],
      );
      const row = result.rows[0];
      return row
        ? { reservationId: row.reservation_id, status: row.status, hash: row.request_hash }
        : undefined;
    } catch (error) {
      throw new DatabaseOperationError('reading a reservation request by its idempotency key', error);
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

  /**
   * Claims up to `limit` requests pending for longer than `pendingForSeconds` and not claimed in
   * the last `repeatAfterSeconds` (migration 010: SKIP LOCKED, so concurrent instances claim
   * different rows), oldest first.
   */
  async claimStalePending(
    pendingForSeconds: number,
    repeatAfterSeconds: number,
    limit: number,
  ): Promise<StalePendingRequest[]> {
    try {
      const result = await this.pool.query<{
        reservation_id: string;
        customer_id: string;
        vehicle_id: string;
        starts_at: Date;
        ends_at: Date;
        idempotency_key: string | null;
        created_at: Date;
        relay_count: number;
      }>({
        name: 'ingress-claim-stale-pending-requests',
        text: `SELECT * FROM fleet.claim_stale_pending_requests(
                 make_interval(secs => $1), make_interval(secs => $2), $3)`,
        values: [pendingForSeconds, repeatAfterSeconds, limit],
      });
      return result.rows.map((row) => ({
        reservationId: row.reservation_id,
        customerId: row.customer_id,
        vehicleId: row.vehicle_id,
        startsAtMs: row.starts_at.getTime(),
        endsAtMs: row.ends_at.getTime(),
        idempotencyKey: row.idempotency_key,
        createdAt: row.created_at,
        relayCount: row.relay_count,
      }));
    } catch (error) {
      throw new DatabaseOperationError('claiming stale pending reservation requests', error);
    }
  }

  /** Whether the database answers (readiness). */
  async ping(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
    } catch (error) {
      throw new DatabaseOperationError('pinging the database', error);
    }
  }
}
