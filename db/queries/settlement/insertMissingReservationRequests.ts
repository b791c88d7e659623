import { DatabaseOperationError } from '../../pgErrors.ts';
import type { PreparedQueryable } from './preparedQueryable.ts';
import {
  type LockedRequestRow,
  type LockedReservationRequest,
  lockedRequestColumns,
  lockedRequestFromRow,
  lockedRequestJoins,
} from './settlementRecords.ts';

/** A pending request the settler records because no ingress recorded it (harness, other producers). */
export interface NewReservationRequest {
  reservationId: string;
  customerId: string;
  vehicleId: string;
  startsAtMs: number;
  endsAtMs: number;
  /** sha256 of the request (32 bytes), as the column requires. */
  requestHash: Buffer;
}

/**
 * Inserts these requests as pending, skipping ids that already have a row, and returns the rows
 * it inserted (this transaction holds them). The idempotency key stays NULL: keys are the
 * ingress's contract with its clients, and a command that bypassed the ingress has none to
 * enforce. An id missing from the result was inserted concurrently by someone else: lock it.
 */
export async function insertMissingReservationRequests(
  db: PreparedQueryable,
  requests: readonly NewReservationRequest[],
): Promise<LockedReservationRequest[]> {
  if (requests.length === 0) return [];
  try {
    const result = await db.query<LockedRequestRow>({
      name: 'settlement.insert_missing_reservation_requests',
      text: `WITH inserted AS (
         INSERT INTO fleet.reservation_requests (reservation_id, customer_id, vehicle_id, requested_period, request_hash)
         SELECT n.reservation_id, n.customer_id, n.vehicle_id, tstzrange(n.starts_at, n.ends_at, '[)'), n.request_hash
           FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::bytea[])
                AS n(reservation_id, customer_id, vehicle_id, starts_at, ends_at, request_hash)
          ORDER BY n.reservation_id
         ON CONFLICT (reservation_id) DO NOTHING
         RETURNING *
       )
       SELECT ${lockedRequestColumns}
         FROM inserted r ${lockedRequestJoins}`,
      values: [
        requests.map((r) => r.reservationId),
        requests.map((r) => r.customerId),
        requests.map((r) => r.vehicleId),
        requests.map((r) => new Date(r.startsAtMs).toISOString()),
        requests.map((r) => new Date(r.endsAtMs).toISOString()),
        requests.map((r) => r.requestHash),
      ],
    });
    return result.rows.map(lockedRequestFromRow);
  } catch (error) {
    throw new DatabaseOperationError('recording missing reservation requests', error);
  }
}
