import { DatabaseOperationError } from '../../pgErrors.ts';
import type { PreparedQueryable } from './preparedQueryable.ts';
import {
  type CancellationDecisionRecord,
  type CancellationDecisionRow,
  cancellationDecisionColumns,
  cancellationDecisionFromRow,
} from './settlementRecords.ts';

/** One cancellation command's decision to record. */
export interface CancellationDecisionInput {
  commandId: string;
  reservationId: string;
  customerId: string;
  vehicleId: string;
  outcome: 'cancelled' | 'rejected';
  reason: string | null;
  eventId: string;
  correlationId: string | null;
  partition: number;
  offset: number;
}

/** What recording did, so the caller can check it against what it expected. */
export interface RecordedCancellations {
  decisions: CancellationDecisionRecord[];
  /** Requests moved to cancelled (each accepted decision moves exactly one). */
  requestsCancelled: number;
  /** Confirmed bookings released (accepted decisions whose booking was confirmed). */
  bookingsReleased: number;
}

/**
 * Records cancellation decisions in one statement. For each accepted one it releases the
 * confirmed booking (the exclusion constraint ignores cancelled rows, so the period is free at
 * COMMIT) and moves the request to cancelled; a request still pending is thereby decided, and
 * its decision record names the cancellation's event. Refusals change nothing but their own
 * record. The caller must hold the requests' row locks. The `(…) IS TRUE` guards keep the planner
 * on the primary keys, as in decideReservationRequests.
 */
export async function recordCancellationDecisions(
  db: PreparedQueryable,
  decidedAtMs: number,
  decisions: readonly CancellationDecisionInput[],
): Promise<RecordedCancellations> {
  if (decisions.length === 0) return { decisions: [], requestsCancelled: 0, bookingsReleased: 0 };
  try {
    const result = await db.query<
      CancellationDecisionRow & { requests_cancelled: number; bookings_released: number }
    >({
      name: 'settlement.record_cancellation_decisions',
      text: `WITH decided AS (
         SELECT *
           FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::uuid[], $9::text[], $10::int[], $11::bigint[])
                AS d(command_id, reservation_id, customer_id, vehicle_id, outcome, reason, event_id, correlation_id, decided_partition, decided_offset)
       ),
       released AS (
         UPDATE fleet.reservations b
            SET status = 'cancelled', cancelled_at = $1::timestamptz
           FROM decided d
          WHERE d.outcome = 'cancelled' AND b.id = d.reservation_id AND (b.status = 'confirmed') IS TRUE
         RETURNING b.id
       ),
       cancelled AS (
         UPDATE fleet.reservation_requests r
            SET status = 'cancelled',
                cancelled_at = $1::timestamptz,
                decided_status = CASE WHEN r.status = 'pending' THEN 'cancelled' ELSE r.decided_status END,
                decided_at = CASE WHEN r.status = 'pending' THEN $1::timestamptz ELSE r.decided_at END,
                decided_partition = CASE WHEN r.status = 'pending' THEN d.decided_partition ELSE r.decided_partition END,
                decided_offset = CASE WHEN r.status = 'pending' THEN d.decided_offset ELSE r.decided_offset END,
                decision_event_id = CASE WHEN r.status = 'pending' THEN d.event_id ELSE r.decision_event_id END,
                decision_command_id = CASE WHEN r.status = 'pending' THEN d.command_id ELSE r.decision_command_id END,
                decision_correlation_id = CASE WHEN r.status = 'pending' THEN d.correlation_id ELSE r.decision_correlation_id END
           FROM decided d
          WHERE d.outcome = 'cancelled' AND r.reservation_id = d.reservation_id AND (r.status IN ('pending', 'confirmed')) IS TRUE
         RETURNING r.reservation_id
       ),
       c AS (
         INSERT INTO fleet.cancellation_decisions
                (command_id, reservation_id, customer_id, vehicle_id, outcome, reason, event_id, correlation_id,
                 decided_at, decided_partition, decided_offset)
         SELECT d.command_id, d.reservation_id, d.customer_id, d.vehicle_id, d.outcome, d.reason, d.event_id,
                d.correlation_id, $1::timestamptz, d.decided_partition, d.decided_offset
           FROM decided d
         -- A refusal locks no inbox row, so two replicas (a rebalance) can refuse the same command at
         -- once: the second waits for the first's insert and records nothing; the caller sees a
         -- decision missing, rolls back and, on the rerun, replays the first one's event.
         ON CONFLICT (command_id) DO NOTHING
         RETURNING *
       )
       SELECT ${cancellationDecisionColumns},
              (SELECT count(*) FROM cancelled)::int AS requests_cancelled,
              (SELECT count(*) FROM released)::int AS bookings_released
         FROM c`,
      values: [
        new Date(decidedAtMs).toISOString(),
        decisions.map((d) => d.commandId),
        decisions.map((d) => d.reservationId),
        decisions.map((d) => d.customerId),
        decisions.map((d) => d.vehicleId),
        decisions.map((d) => d.outcome),
        decisions.map((d) => d.reason),
        decisions.map((d) => d.eventId),
        decisions.map((d) => d.correlationId),
        decisions.map((d) => d.partition),
        decisions.map((d) => d.offset),
      ],
    });
    const first = result.rows[0];
    return {
      decisions: result.rows.map(cancellationDecisionFromRow),
      requestsCancelled: first?.requests_cancelled ?? 0,
      bookingsReleased: first?.bookings_released ?? 0,
    };
  } catch (error) {
    throw new DatabaseOperationError('recording cancellation decisions', error);
  }
}
