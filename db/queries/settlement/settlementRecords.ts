/**
 * The records the settlement queries read and return, and the SQL that selects them. Times are
 * whole epoch milliseconds: the settler writes whole milliseconds, so what it reads back is
 * exactly what it wrote and an event rebuilt on replay is identical to the first; times written
 * by others (the ingress withdrawing a request uses now(), in microseconds) are floored, as the
 * events' timestamp-millis fields require.
 */

/** Where a reservation request stands. */
export type RequestStatus = 'pending' | 'confirmed' | 'rejected' | 'cancelled';

/** What was decided for a request (its status may have moved on since: confirmed → cancelled). */
export type DecidedStatus = 'confirmed' | 'rejected' | 'cancelled';

/** A reservation request with its decision record, as stored in fleet.reservation_requests. */
export interface RequestDecisionRecord {
  reservationId: string;
  customerId: string;
  vehicleId: string;
  startsAtMs: number;
  endsAtMs: number;
  status: RequestStatus;
  /** Null while pending, and for a request decided by something other than the settler. */
  decidedStatus: DecidedStatus | null;
  decisionReason: string | null;
  decisionEventId: string | null;
  decisionCommandId: string | null;
  decisionCorrelationId: string | null;
  decidedAtMs: number | null;
  cancelledAtMs: number | null;
}

/** A cancellation command's decision, as stored in fleet.cancellation_decisions. */
export interface CancellationDecisionRecord {
  commandId: string;
  reservationId: string;
  customerId: string;
  vehicleId: string;
  outcome: 'cancelled' | 'rejected';
  reason: string | null;
  eventId: string;
  correlationId: string | null;
  decidedAtMs: number;
}

/** A request locked for settlement, with what deciding it needs to know. */
export interface LockedReservationRequest extends RequestDecisionRecord {
  /** Whether fleet.vehicles has the request's vehicle at all. */
  vehicleKnown: boolean;
  /** Whether that vehicle is bookable (not retired). */
  vehicleActive: boolean;
  /** Status of the booking with the request's id, if one exists. */
  bookingStatus: 'confirmed' | 'cancelled' | null;
  /** The accepted cancellation of this reservation, if any. */
  acceptedCancellation: CancellationDecisionRecord | null;
}

/** Columns of a RequestDecisionRecord, selected from fleet.reservation_requests aliased `r`. */
export const requestDecisionColumns = `
  r.reservation_id::text AS reservation_id,
  r.customer_id,
  r.vehicle_id::text AS vehicle_id,
  floor(extract(epoch FROM lower(r.requested_period)) * 1000)::float8 AS starts_at_ms,
  floor(extract(epoch FROM upper(r.requested_period)) * 1000)::float8 AS ends_at_ms,
  r.status,
  r.decided_status,
  r.decision_reason,
  r.decision_event_id::text AS decision_event_id,
  r.decision_command_id::text AS decision_command_id,
  r.decision_correlation_id,
  floor(extract(epoch FROM r.decided_at) * 1000)::float8 AS decided_at_ms,
  floor(extract(epoch FROM r.cancelled_at) * 1000)::float8 AS cancelled_at_ms`;

/**
 * Columns of a LockedReservationRequest over `r` and the accepted cancellation `cd` (see
 * `lockedRequestJoins`). The vehicle and booking come from per-row subqueries on primary keys:
 * whatever the planner believes about table sizes (a fresh table has no statistics yet), each
 * is one index probe per request instead of a scan of the whole catalog or booking table.
 */
export const lockedRequestColumns = `${requestDecisionColumns},
  (SELECT v.active FROM fleet.vehicles v WHERE v.id = r.vehicle_id) AS vehicle_active,
  (SELECT b.status FROM fleet.reservations b WHERE b.id = r.reservation_id) AS booking_status,
  cd.command_id::text AS cancellation_command_id,
  cd.customer_id AS cancellation_customer_id,
  cd.vehicle_id::text AS cancellation_vehicle_id,
  cd.event_id::text AS cancellation_event_id,
  cd.correlation_id AS cancellation_correlation_id,
  floor(extract(epoch FROM cd.decided_at) * 1000)::float8 AS cancellation_decided_at_ms`;

/** The join `lockedRequestColumns` reads from, after `FROM <requests> r` (OFFSET 0 keeps it a per-row index probe). */
export const lockedRequestJoins = `
  LEFT JOIN LATERAL (
    SELECT * FROM fleet.cancellation_decisions c
     WHERE c.reservation_id = r.reservation_id AND c.outcome = 'cancelled'
    OFFSET 0
  ) cd ON true`;

/** Columns of a CancellationDecisionRecord, selected from fleet.cancellation_decisions aliased `c`. */
export const cancellationDecisionColumns = `
  c.command_id::text AS command_id,
  c.reservation_id::text AS reservation_id,
  c.customer_id,
  c.vehicle_id::text AS vehicle_id,
  c.outcome,
  c.reason,
  c.event_id::text AS event_id,
  c.correlation_id,
  floor(extract(epoch FROM c.decided_at) * 1000)::float8 AS decided_at_ms`;

/** A row selected with `requestDecisionColumns`. */
export interface RequestDecisionRow {
  reservation_id: string;
  customer_id: string;
  vehicle_id: string;
  starts_at_ms: number;
  ends_at_ms: number;
  status: RequestStatus;
  decided_status: DecidedStatus | null;
  decision_reason: string | null;
  decision_event_id: string | null;
  decision_command_id: string | null;
  decision_correlation_id: string | null;
  decided_at_ms: number | null;
  cancelled_at_ms: number | null;
}

/** A row selected with `lockedRequestColumns`. */
export interface LockedRequestRow extends RequestDecisionRow {
  /** Null when the vehicle is unknown. */
  vehicle_active: boolean | null;
  booking_status: 'confirmed' | 'cancelled' | null;
  cancellation_command_id: string | null;
  cancellation_customer_id: string | null;
  cancellation_vehicle_id: string | null;
  cancellation_event_id: string | null;
  cancellation_correlation_id: string | null;
  cancellation_decided_at_ms: number | null;
}

/** A row selected with `cancellationDecisionColumns`. */
export interface CancellationDecisionRow {
  command_id: string;
  reservation_id: string;
  customer_id: string;
  vehicle_id: string;
  outcome: 'cancelled' | 'rejected';
  reason: string | null;
  event_id: string;
  correlation_id: string | null;
  decided_at_ms: number;
}

/** Maps a `requestDecisionColumns` row. */
export function requestDecisionFromRow(row: RequestDecisionRow): RequestDecisionRecord {
  return {
    reservationId: row.reservation_id,
    customerId: row.customer_id,
    vehicleId: row.vehicle_id,
    startsAtMs: row.starts_at_ms,
    endsAtMs: row.ends_at_ms,
    status: row.status,
    decidedStatus: row.decided_status,
    decisionReason: row.decision_reason,
    decisionEventId: row.decision_event_id,
    decisionCommandId: row.decision_command_id,
    decisionCorrelationId: row.decision_correlation_id,
    decidedAtMs: row.decided_at_ms,
    cancelledAtMs: row.cancelled_at_ms,
  };
}

/** Maps a `lockedRequestColumns` row. */
export function lockedRequestFromRow(row: LockedRequestRow): LockedReservationRequest {
  return {
    ...requestDecisionFromRow(row),
    vehicleKnown: row.vehicle_active !== null,
    vehicleActive: row.vehicle_active === true,
    bookingStatus: row.booking_status,
    acceptedCancellation:
      row.cancellation_command_id === null
        ? null
        : {
            commandId: row.cancellation_command_id,
            reservationId: row.reservation_id,
            customerId: row.cancellation_customer_id ?? row.customer_id,
            vehicleId: row.cancellation_vehicle_id ?? row.vehicle_id,
            outcome: 'cancelled',
            reason: null,
            eventId: row.cancellation_event_id ?? '',
            correlationId: row.cancellation_correlation_id,
            decidedAtMs: row.cancellation_decided_at_ms ?? 0,
          },
  };
}

/** Maps a `cancellationDecisionColumns` row. */
export function cancellationDecisionFromRow(row: CancellationDecisionRow): CancellationDecisionRecord {
  return {
    commandId: row.command_id,
    reservationId: row.reservation_id,
    customerId: row.customer_id,
    vehicleId: row.vehicle_id,
    outcome: row.outcome,
    reason: row.reason,
    eventId: row.event_id,
    correlationId: row.correlation_id,
    decidedAtMs: row.decided_at_ms,
  };
}
