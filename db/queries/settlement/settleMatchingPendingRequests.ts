import { DatabaseOperationError } from '../../pgErrors.ts';
import { overlapReason, recordDecidedRequests } from './decideReservationRequests.ts';
import type { PreparedQueryable } from './preparedQueryable.ts';
import {
  type RequestDecisionRecord,
  type RequestDecisionRow,
  requestDecisionFromRow,
} from './settlementRecords.ts';

/** A reservation request command as the settler read it, and the identity of its decision event. */
export interface MatchingRequestInput {
  reservationId: string;
  customerId: string;
  vehicleId: string;
  startsAtMs: number;
  endsAtMs: number;
  eventId: string;
  commandId: string;
  correlationId: string | null;
  partition: number;
  offset: number;
}

/**
 * The settler's common case in one autocommit statement: a request whose inbox row is pending,
 * says exactly what the command says (customer, vehicle, period to the millisecond), names an
 * active vehicle, starts no earlier than `earliestStartMs` and has no booking under its id is booked — the exclusion constraint deciding,
 * as in `decideReservationRequests` — and its decision recorded. Returns the decided rows; any
 * other request (decided already, refused, unknown or retired vehicle, a booking from another
 * writer, no inbox row) is absent and untouched, for the locked transaction to settle.
 *
 * It is the locked transaction's three statements in one, with the same locks in the same order:
 * the `claimed` CTE takes the inbox rows FOR UPDATE (in id order) before anything is written, and
 * re-checks its guards on the newest version of a row another transaction changed meanwhile
 * (READ COMMITTED's re-check), so a request decided or withdrawn elsewhere is dropped before a
 * booking is attempted — never a booking left behind for a request that says otherwise. Saves
 * the BEGIN, the lock statement and the COMMIT: three of four round trips of a small batch.
 * The session must run READ COMMITTED (`settlerSessionSettings`).
 */
export async function settleMatchingPendingRequests(
  db: PreparedQueryable,
  decision: { decidedAtMs: number; earliestStartMs: number },
  requests: readonly MatchingRequestInput[],
): Promise<RequestDecisionRecord[]> {
  if (requests.length === 0) return [];
  try {
    const result = await db.query<RequestDecisionRow>({
      name: 'settlement.settle_matching_pending_requests',
      text: `WITH proposed AS (
         SELECT *
           FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::float8[], $6::float8[], $7::uuid[], $8::uuid[], $9::text[], $10::int[], $11::bigint[])
                WITH ORDINALITY
                AS p(reservation_id, customer_id, vehicle_id, starts_at_ms, ends_at_ms, event_id, command_id, correlation_id, decided_partition, decided_offset, ord)
       ),
       claimed AS (
         SELECT p.*, r.requested_period
           FROM proposed p
           JOIN fleet.reservation_requests r ON r.reservation_id = p.reservation_id
          WHERE (r.status = 'pending') IS TRUE
            AND r.customer_id = p.customer_id
            AND r.vehicle_id = p.vehicle_id
            AND floor(extract(epoch FROM lower(r.requested_period)) * 1000) = p.starts_at_ms
            AND floor(extract(epoch FROM upper(r.requested_period)) * 1000) = p.ends_at_ms
            AND lower(r.requested_period) >= $12::timestamptz
            AND (SELECT v.active FROM fleet.vehicles v WHERE v.id = r.vehicle_id) IS TRUE
            AND NOT EXISTS (SELECT FROM fleet.reservations b WHERE b.id = r.reservation_id)
          ORDER BY r.reservation_id
            FOR UPDATE OF r
       ),
       booked AS (
         INSERT INTO fleet.reservations (id, vehicle_id, customer_id, period)
         SELECT c.reservation_id, c.vehicle_id, c.customer_id, c.requested_period
           FROM claimed c
          ORDER BY c.vehicle_id, c.ord
         ON CONFLICT DO NOTHING
         RETURNING id
       ),
       decided AS (
         SELECT c.*,
                CASE WHEN c.reservation_id IN (SELECT id FROM booked) THEN 'confirmed' ELSE 'rejected' END AS decided_status,
                CASE WHEN c.reservation_id IN (SELECT id FROM booked) THEN NULL ELSE '${overlapReason}' END AS decided_reason
           FROM claimed c
       )
       ${recordDecidedRequests}`,
      values: [
        new Date(decision.decidedAtMs).toISOString(),
        requests.map((r) => r.reservationId),
        requests.map((r) => r.customerId),
        requests.map((r) => r.vehicleId),
        requests.map((r) => r.startsAtMs),
        requests.map((r) => r.endsAtMs),
        requests.map((r) => r.eventId),
        requests.map((r) => r.commandId),
        requests.map((r) => r.correlationId),
        requests.map((r) => r.partition),
        requests.map((r) => r.offset),
        new Date(decision.earliestStartMs).toISOString(),
      ],
    });
    return result.rows.map(requestDecisionFromRow);
  } catch (error) {
    throw new DatabaseOperationError('settling matching pending requests', error);
  }
}
