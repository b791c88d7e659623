/**
 * What the storm reads from its fleet's database: statuses, confirmed bookings, every decision
 * with the event id it was emitted under, and a fingerprint of everything a replay must not change.
 */
import pg from 'pg';
import { deterministicEventId } from '../../workers/reservation-settler/deterministicEventId.ts';
import type {
  CancellationDecisionRow,
  ConfirmedBooking,
  FinalStatus,
  RecordedDecision,
} from './bookingChecks.ts';
import { expectedEventReason } from './expectedEventReasons.ts';

/** A reservation request's decision columns. */
export interface RequestDecisionColumns {
  reservation_id: string;
  status: FinalStatus;
  decided_status: 'confirmed' | 'rejected' | 'cancelled' | null;
  decision_event_id: string | null;
  decision_reason: string | null;
}

/** A cancellation decision's columns. */
export interface CancellationDecisionColumns {
  reservation_id: string;
  outcome: 'cancelled' | 'rejected';
  reason: string | null;
  event_id: string;
}

/** Everything the checks read from the database once the fleet settled. */
export interface StormDatabase {
  statuses: Map<string, FinalStatus>;
  confirmed: ConfirmedBooking[];
  decisions: RecordedDecision[];
  cancellations: CancellationDecisionRow[];
  rejectionReasons: Record<string, number>;
  withdrawnRequests: number;
}

/** Runs `read` over a fresh read-only connection. */
export async function withDatabase<T>(url: string, read: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await read(client);
  } finally {
    await client.end();
  }
}

/**
 * The decision a request row records, under the event id the settler emits it with. A row the
 * ingress withdrew (503, no stored event id) may have reached the settler or not: its name-based
 * event id is allowed on the topic, not required.
 */
export function requestDecision(row: RequestDecisionColumns): RecordedDecision | undefined {
  if (row.status === 'pending') return undefined;
  const kind = row.decided_status ?? row.status;
  const eventId = row.decision_event_id ?? deterministicEventId(`${row.reservation_id}:${kind}`);
  return {
    source: 'request',
    eventId,
    reservationId: row.reservation_id,
    kind,
    ...(kind === 'rejected'
      ? { rejectedRequest: 'reservation' as const, reason: expectedEventReason(row.decision_reason) }
      : {}),
    ...(row.decision_event_id === null ? { mayBeAbsent: true } : {}),
  };
}

/** The decision a cancellation row records, under its event id. */
export function cancellationDecision(row: CancellationDecisionColumns): RecordedDecision {
  return {
    source: 'cancellation',
    eventId: row.event_id,
    reservationId: row.reservation_id,
    kind: row.outcome,
    ...(row.outcome === 'rejected'
      ? { rejectedRequest: 'cancellation' as const, reason: expectedEventReason(row.reason) }
      : {}),
  };
}

/** Reads statuses, confirmed bookings and every decision (requests and cancellations). */
export async function readStormDatabase(url: string): Promise<StormDatabase> {
  return withDatabase(url, async (client) => {
    const requests = await client.query<RequestDecisionColumns>(
      `SELECT reservation_id, status, decided_status, decision_event_id, decision_reason
         FROM fleet.reservation_requests`,
    );
    const cancellations = await client.query<CancellationDecisionColumns>(
      'SELECT reservation_id, outcome, reason, event_id FROM fleet.cancellation_decisions',
    );
    const confirmed = await client.query<{ id: string; vehicle_id: string; starts: Date; ends: Date }>(
      `SELECT id, vehicle_id, lower(period) AS starts, upper(period) AS ends FROM fleet.reservations WHERE status = 'confirmed'`,
    );
    const rejectionReasons: Record<string, number> = {};
    for (const r of requests.rows.filter((x) => x.status === 'rejected')) {
      const reason = r.decision_reason ?? 'none';
      rejectionReasons[reason] = (rejectionReasons[reason] ?? 0) + 1;
    }
    return {
      statuses: new Map(requests.rows.map((r) => [r.reservation_id, r.status])),
      confirmed: confirmed.rows.map((r) => ({
        reservationId: r.id,
        vehicleId: r.vehicle_id,
        startsAt: r.starts.getTime(),
        endsAt: r.ends.getTime(),
      })),
      decisions: [
        ...requests.rows.flatMap((r) => requestDecision(r) ?? []),
        ...cancellations.rows.map(cancellationDecision),
      ],
      cancellations: cancellations.rows.map((r) => ({ reservationId: r.reservation_id, outcome: r.outcome })),
      rejectionReasons,
      withdrawnRequests: requests.rows.filter((r) => r.status !== 'pending' && r.decision_event_id === null)
        .length,
    };
  });
}

/** A digest of every decision a replay must leave alone: requests, bookings and cancellation decisions. */
export async function databaseFingerprint(url: string): Promise<string> {
  return withDatabase(url, async (client) => {
    const { rows } = await client.query<{ digest: string }>(
      `SELECT md5(string_agg(row_text, '|' ORDER BY row_text)) AS digest FROM (
         SELECT concat_ws(',', 'request', reservation_id, status, decision_reason, decided_at, decided_partition,
                          decided_offset, cancelled_at, decided_status, decision_event_id, decision_command_id,
                          decision_correlation_id) AS row_text
           FROM fleet.reservation_requests
         UNION ALL
         SELECT concat_ws(',', 'booking', id, vehicle_id, period, status, cancelled_at) FROM fleet.reservations
         UNION ALL
         SELECT concat_ws(',', 'cancellation', command_id, reservation_id, customer_id, vehicle_id, outcome, reason,
                          event_id, correlation_id, decided_at, decided_partition, decided_offset)
           FROM fleet.cancellation_decisions
       ) t`,
    );
    return rows[0]!.digest;
  });
}

/** The first `count` active vehicles: the storm's hot ones. */
export async function hotVehicles(url: string, count: number): Promise<string[]> {
  return withDatabase(url, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      'SELECT id FROM fleet.vehicles WHERE active ORDER BY id LIMIT $1',
      [count],
    );
    return rows.map((r) => r.id);
  });
}

/** How many requests are pending, and how many there are. */
export async function pendingRequests(client: pg.Client): Promise<{ pending: number; total: number }> {
  const { rows } = await client.query<{ pending: string; total: string }>(
    `SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) AS total FROM fleet.reservation_requests`,
  );
  return { pending: Number(rows[0]!.pending), total: Number(rows[0]!.total) };
}
