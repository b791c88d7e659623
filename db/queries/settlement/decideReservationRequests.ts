import { DatabaseOperationError } from '../../pgErrors.ts';
import type { PreparedQueryable } from './preparedQueryable.ts';
import {
  type RequestDecisionRecord,
  type RequestDecisionRow,
  requestDecisionColumns,
  requestDecisionFromRow,
} from './settlementRecords.ts';

/**
 * What to do with one locked, pending request: `book` tries the booking and lets the exclusion
 * constraint decide (confirmed, or rejected with reason `overlap`); the other proposals are
 * recorded as they are (`rejected` needs a reason).
 */
export type RequestProposal = 'book' | 'confirmed' | 'rejected' | 'cancelled';

/** One pending request to decide, with the identity of the event that will announce the decision. */
export interface RequestDecisionInput {
  reservationId: string;
  proposal: RequestProposal;
  reason: string | null;
  eventId: string;
  commandId: string;
  correlationId: string | null;
  partition: number;
  offset: number;
}

/** The rejection reason recorded when the exclusion constraint refused a booking. */
export const overlapReason = 'overlap';

/**
 * The main statement that records decisions on `fleet.reservation_requests` from a CTE `decided`
 * (reservation_id, decided_status, decided_reason, event_id, command_id, correlation_id,
 * decided_partition, decided_offset), guarded on the row still pending; `$1` is the decision
 * time. Returns the decided rows (`requestDecisionColumns`).
 */
export const recordDecidedRequests = `UPDATE fleet.reservation_requests r
          SET status = d.decided_status,
              decided_status = d.decided_status,
              decision_reason = d.decided_reason,
              decided_at = $1::timestamptz,
              decided_partition = d.decided_partition,
              decided_offset = d.decided_offset,
              decision_event_id = d.event_id,
              decision_command_id = d.command_id,
              decision_correlation_id = d.correlation_id,
              cancelled_at = CASE WHEN d.decided_status = 'cancelled' THEN $1::timestamptz END
         FROM decided d
        WHERE r.reservation_id = d.reservation_id AND (r.status = 'pending') IS TRUE
       RETURNING ${requestDecisionColumns}`;

/**
 * Decides pending requests in one statement: inserts the bookings of the `book` proposals with
 * `ON CONFLICT DO NOTHING` — the exclusion constraint turns an overlap into "not inserted" instead
 * of an error (SQLSTATE 23P01) that would abort the whole batch — then records every decision
 * with the guarded `UPDATE … WHERE status = 'pending'`. Bookings go in vehicle order so that two
 * transactions waiting on each other's overlapping rows queue rather than deadlock. Returns the
 * decided rows as stored; a request that was not pending is absent (the caller holds the row
 * locks, so that means a bug, and it must roll back).
 *
 * The guards read `(status = 'pending') IS TRUE`, which means the same as `status = 'pending'`
 * (status is NOT NULL) but does not let the planner prove the predicate of the partial index on
 * pending requests' created_at — reading every pending entry (dead ones too, until vacuum) to
 * find a few rows it can reach through the primary key.
 */
export async function decideReservationRequests(
  db: PreparedQueryable,
  decidedAtMs: number,
  decisions: readonly RequestDecisionInput[],
): Promise<RequestDecisionRecord[]> {
  if (decisions.length === 0) return [];
  try {
    const result = await db.query<RequestDecisionRow>({
      name: 'settlement.decide_reservation_requests',
      text: `WITH proposed AS (
         SELECT *
           FROM unnest($2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::uuid[], $7::text[], $8::int[], $9::bigint[])
                WITH ORDINALITY
                AS p(reservation_id, proposal, reason, event_id, command_id, correlation_id, decided_partition, decided_offset, ord)
       ),
       booked AS (
         INSERT INTO fleet.reservations (id, vehicle_id, customer_id, period)
         SELECT q.reservation_id, q.vehicle_id, q.customer_id, q.requested_period
           FROM proposed p
           JOIN fleet.reservation_requests q ON q.reservation_id = p.reservation_id
          WHERE p.proposal = 'book' AND (q.status = 'pending') IS TRUE
          ORDER BY q.vehicle_id, p.ord
         ON CONFLICT DO NOTHING
         RETURNING id
       ),
       decided AS (
         SELECT p.*,
                CASE WHEN p.proposal <> 'book' THEN p.proposal
                     WHEN p.reservation_id IN (SELECT id FROM booked) THEN 'confirmed'
                     ELSE 'rejected' END AS decided_status,
                CASE WHEN p.proposal <> 'book' THEN p.reason
                     WHEN p.reservation_id IN (SELECT id FROM booked) THEN NULL
                     ELSE '${overlapReason}' END AS decided_reason
           FROM proposed p
       )
       ${recordDecidedRequests}`,
      values: [
        new Date(decidedAtMs).toISOString(),
        decisions.map((d) => d.reservationId),
        decisions.map((d) => d.proposal),
        decisions.map((d) => d.reason),
        decisions.map((d) => d.eventId),
        decisions.map((d) => d.commandId),
        decisions.map((d) => d.correlationId),
        decisions.map((d) => d.partition),
        decisions.map((d) => d.offset),
      ],
    });
    return result.rows.map(requestDecisionFromRow);
  } catch (error) {
    throw new DatabaseOperationError('deciding reservation requests', error);
  }
}
