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

/** One event of the events topic, reduced to what the checks compare. */
export interface EventDecision {
  eventId: string;
  reservationId: string;
  kind: 'confirmed' | 'rejected' | 'cancelled';
  /** For a rejection: whether it refused the reservation itself or a cancellation of it. */
  rejectedRequest?: 'reservation' | 'cancellation' | 'unspecified';
  /** For a rejection: the event's reason symbol. */
  reason?: string;
}

/** The Avro union branch names of the event types the checks know, by kind. */
export const eventTypeNames = {
  confirmed: 'dev.fleetstream.reservation.ReservationConfirmed',
  rejected: 'dev.fleetstream.reservation.ReservationRejected',
  cancelled: 'dev.fleetstream.reservation.ReservationCancelled',
} as const;

/**
 * Reduces a decoded event to what the checks compare. An event type the checks do not know
 * throws: counting it as anything would let the comparison pass without looking at it.
 */
export function eventDecisionOf(event: { eventId: string; payload: object }): EventDecision {
  const [typeName, body] = Object.entries(event.payload)[0] ?? [];
  const kind = (Object.keys(eventTypeNames) as EventDecision['kind'][]).find(
    (k) => eventTypeNames[k] === typeName,
  );
  if (!kind)
    throw new Error(`event ${event.eventId} has a type the storm does not know: ${String(typeName)}`);
  const fields = body as { reservationId: string; rejectedRequest?: string; reason?: string };
  if (kind !== 'rejected') return { eventId: event.eventId, reservationId: fields.reservationId, kind };
  return {
    eventId: event.eventId,
    reservationId: fields.reservationId,
    kind,
    rejectedRequest: fields.rejectedRequest as EventDecision['rejectedRequest'],
    ...(fields.reason === undefined ? {} : { reason: fields.reason }),
  };
}

/**
 * A decision the database records under the event id it was (or will be re-)emitted with: a
 * reservation request's decision or a cancellation command's decision.
 */
export interface RecordedDecision extends EventDecision {
  source: 'request' | 'cancellation';
  /** A request withdrawn by the ingress (503) has no stored event id; its event may never exist. */
  mayBeAbsent?: boolean;
}

/** An event id whose decision the topic (or a second database row) states differently. */
export interface DifferingDecision {
  eventId: string;
  database: string;
  topic: string;
}

/** The one-to-one comparison of the database's decisions with the events of a topic read. */
export interface DecisionComparison {
  /** Decisions whose event id the read never carried. */
  missingFromTopic: string[];
  /** Event ids the topic (or another row) states differently from the database. */
  differing: DifferingDecision[];
  /** Event ids on the topic that no decision row names. */
  withoutRow: string[];
  /** What was compared, so a pass over nothing shows. */
  compared: { decisions: number; events: number; uniqueEventIds: number };
}

/** What a decision says, as one comparable string (the fields an event must repeat). */
export function decisionText(d: EventDecision): string {
  const rejection = d.kind === 'rejected' ? `/${d.rejectedRequest ?? '?'}/${d.reason ?? '?'}` : '';
  return `${d.reservationId}:${d.kind}${rejection}`;
}

/** The decisions by event id; two rows naming one event id with different decisions are reported. */
function decisionsById(
  decisions: readonly RecordedDecision[],
  differing: DifferingDecision[],
): Map<string, RecordedDecision> {
  const byId = new Map<string, RecordedDecision>();
  for (const d of decisions) {
    const seen = byId.get(d.eventId);
    // A request cancelled while pending shares its event id with the cancellation: same decision.
    if (seen && decisionText(seen) !== decisionText(d)) {
      differing.push({ eventId: d.eventId, database: decisionText(seen), topic: `row: ${decisionText(d)}` });
    }
    if (!seen || seen.mayBeAbsent) byId.set(d.eventId, d);
  }
  return byId;
}

/**
 * Matches decisions and events one to one by event id: every decision's event is on the topic
 * with the same decision, and every event on the topic has its row. Copies of one event id with
 * identical content are redeliveries; copies that differ are reported.
 */
export function compareDecisionsWithEvents(
  decisions: readonly RecordedDecision[],
  events: readonly EventDecision[],
): DecisionComparison {
  const differing: DifferingDecision[] = [];
  const byId = decisionsById(decisions, differing);
  const onTopic = new Map<string, EventDecision>();
  for (const event of events) {
    const first = onTopic.get(event.eventId);
    if (first && decisionText(first) !== decisionText(event)) {
      differing.push({
        eventId: event.eventId,
        database: `event: ${decisionText(first)}`,
        topic: decisionText(event),
      });
    }
    if (!first) onTopic.set(event.eventId, event);
  }
  const withoutRow: string[] = [];
  for (const [eventId, event] of onTopic) {
    const decision = byId.get(eventId);
    if (!decision) withoutRow.push(eventId);
    else if (decisionText(decision) !== decisionText(event)) {
      differing.push({ eventId, database: decisionText(decision), topic: decisionText(event) });
    }
  }
  const missingFromTopic = [...byId.values()]
    .filter((d) => !d.mayBeAbsent && !onTopic.has(d.eventId))
    .map((d) => d.eventId);
  return {
    missingFromTopic,
    differing,
    withoutRow,
    compared: { decisions: byId.size, events: events.length, uniqueEventIds: onTopic.size },
  };
}

/** A cancellation command's decision as the database stores it. */
export interface CancellationDecisionRow {
  reservationId: string;
  outcome: 'cancelled' | 'rejected';
}

/** Cancellation requests (202 with a command) against the cancellation decisions recorded. */
export interface CancellationComparison {
  /** Reservations whose accepted cancellation has no decision. */
  withoutDecision: string[];
  /** Reservations cancelled once whose cancellation was decided more than once. */
  decidedMoreThanOnce: string[];
  /** Reservations with a cancellation decision that no accepted cancellation asked for. */
  decidedWithoutRequest: string[];
  /** Accepted cancellations compared. */
  compared: number;
}

/**
 * Every accepted cancellation (one per reservation in the storm) reached exactly one decision,
 * accepted or refused. `uncertain` reservations' cancellations were answered 503: their command
 * may or may not have reached the topic, so a decision is allowed but not required.
 */
export function compareCancellations(
  accepted: readonly string[],
  uncertain: ReadonlySet<string>,
  decisions: readonly CancellationDecisionRow[],
): CancellationComparison {
  const count = new Map<string, number>();
  for (const d of decisions) count.set(d.reservationId, (count.get(d.reservationId) ?? 0) + 1);
  const asked = new Set(accepted);
  return {
    withoutDecision: accepted.filter((id) => !count.has(id)),
    decidedMoreThanOnce: [...count].filter(([, n]) => n > 1).map(([id]) => id),
    decidedWithoutRequest: [...count.keys()].filter((id) => !asked.has(id) && !uncertain.has(id)),
    compared: accepted.length,
  };
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
 * one), then `cancelled` if one cancellation followed. Contradictions: two decisions of the
 * reservation itself, two different accepted cancellations, a cancellation of a rejected one.
 */
export function statusFromEvents(events: readonly EventDecision[]): FinalStatus | 'contradiction' | 'none' {
  const unique = [...new Map(events.map((e) => [e.eventId, e])).values()];
  const decisions = unique.filter(
    (e) => e.kind === 'confirmed' || (e.kind === 'rejected' && e.rejectedRequest !== 'cancellation'),
  );
  const cancellations = unique.filter((e) => e.kind === 'cancelled');
  if (decisions.length > 1 || cancellations.length > 1) return 'contradiction';
  if (cancellations.length === 1) return decisions[0]?.kind === 'rejected' ? 'contradiction' : 'cancelled';
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
