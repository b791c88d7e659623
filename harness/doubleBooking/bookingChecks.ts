/** A confirmed booking as read back (database or API). */
export interface ConfirmedBooking {
  reservationId: string;
  vehicleId: string;
  /** Epoch ms, inclusive. */
  startsAt: number;
  /** Epoch ms, exclusive. */
  endsAt: number;
}

/** Two confirmed bookings of one vehicle whose half-open periods overlap. */
export interface Overlap {
  vehicleId: string;
  first: string;
  second: string;
}

/** Every pair of overlapping confirmed bookings per vehicle (half-open: back-to-back is fine). */
export function findOverlaps(bookings: readonly ConfirmedBooking[]): Overlap[] {
  const byVehicle = new Map<string, ConfirmedBooking[]>();
  for (const b of bookings) {
    const list = byVehicle.get(b.vehicleId) ?? [];
    list.push(b);
    byVehicle.set(b.vehicleId, list);
  }
  const overlaps: Overlap[] = [];
  for (const [vehicleId, list] of byVehicle) {
    list.sort((a, b) => a.startsAt - b.startsAt || a.endsAt - b.endsAt);
    // Sweep: compare each booking with the one reaching furthest so far.
    let furthest: ConfirmedBooking | undefined;
    for (const booking of list) {
      if (furthest && booking.startsAt < furthest.endsAt) {
        overlaps.push({ vehicleId, first: furthest.reservationId, second: booking.reservationId });
      }
      if (!furthest || booking.endsAt > furthest.endsAt) furthest = booking;
    }
  }
  return overlaps;
}

/** The decisions the events topic carries for one reservation, deduplicated by event id. */
export interface EventDecision {
  eventId: string;
  reservationId: string;
  kind: 'confirmed' | 'rejected' | 'cancelled';
  /** For a rejection: whether it refused the reservation itself or a cancellation of it. */
  rejectedRequest?: 'reservation' | 'cancellation';
}

/** What the database says a reservation ended as. */
export type FinalStatus = 'pending' | 'confirmed' | 'rejected' | 'cancelled';

/** A disagreement between the events topic and the database. */
export interface Disagreement {
  reservationId: string;
  database: FinalStatus | 'missing';
  events: string;
}

/**
 * The status the events imply: the reservation's own decision (confirmed or rejected, at most
 * one), then `cancelled` if a cancellation event followed a confirmation. Two different
 * decisions of the reservation itself are a contradiction (returned as 'contradiction').
 */
export function statusFromEvents(events: readonly EventDecision[]): FinalStatus | 'contradiction' | 'none' {
  const unique = new Map(events.map((e) => [e.eventId, e]));
  const decisions = [...unique.values()].filter(
    (e) => e.kind === 'confirmed' || (e.kind === 'rejected' && e.rejectedRequest !== 'cancellation'),
  );
  const kinds = new Set(decisions.map((e) => e.kind));
  if (kinds.size > 1 || decisions.length > 1) return 'contradiction';
  const cancelled = [...unique.values()].some((e) => e.kind === 'cancelled');
  if (cancelled) return 'cancelled';
  if (decisions.length === 0) return 'none';
  return decisions[0]!.kind as FinalStatus;
}

/** Compares the final status of every reservation in the database with what its events say. */
export function compareEventsWithDatabase(
  database: ReadonlyMap<string, FinalStatus>,
  events: ReadonlyMap<string, EventDecision[]>,
): Disagreement[] {
  const disagreements: Disagreement[] = [];
  for (const [reservationId, status] of database) {
    const implied = statusFromEvents(events.get(reservationId) ?? []);
    if (implied !== status) disagreements.push({ reservationId, database: status, events: implied });
  }
  for (const reservationId of events.keys()) {
    if (!database.has(reservationId)) {
      disagreements.push({
        reservationId,
        database: 'missing',
        events: statusFromEvents(events.get(reservationId)!),
      });
    }
  }
  return disagreements;
}
