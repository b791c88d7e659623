import { describe, expect, it } from 'vitest';
import {
  compareCancellations,
  compareDecisionsWithEvents,
  compareEventsWithDatabase,
  type EventDecision,
  eventDecisionOf,
  eventTypeNames,
  findOverlaps,
  type RecordedDecision,
  statusFromEvents,
} from './bookingChecks.ts';

const day = 86_400_000;

describe('findOverlaps', () => {
  it('finds overlapping bookings of one vehicle and accepts back-to-back ones', () => {
    const overlaps = findOverlaps([
      { reservationId: 'a', vehicleId: 'v1', startsAt: 0, endsAt: 2 * day },
      { reservationId: 'b', vehicleId: 'v1', startsAt: 2 * day, endsAt: 3 * day },
      { reservationId: 'c', vehicleId: 'v1', startsAt: day, endsAt: day + 1 },
      { reservationId: 'd', vehicleId: 'v2', startsAt: 0, endsAt: 5 * day },
    ]);
    expect(overlaps).toEqual([{ vehicleId: 'v1', first: 'a', second: 'c' }]);
  });

  it('catches an overlap hidden behind a long booking', () => {
    const overlaps = findOverlaps([
      { reservationId: 'long', vehicleId: 'v', startsAt: 0, endsAt: 10 * day },
      { reservationId: 'short', vehicleId: 'v', startsAt: day, endsAt: 2 * day },
      { reservationId: 'later', vehicleId: 'v', startsAt: 5 * day, endsAt: 6 * day },
    ]);
    expect(overlaps.map((o) => o.second)).toEqual(['short', 'later']);
  });
});

describe('statusFromEvents', () => {
  const e = (
    eventId: string,
    kind: EventDecision['kind'],
    rejectedRequest?: EventDecision['rejectedRequest'],
  ) => ({
    eventId,
    reservationId: 'r',
    kind,
    ...(rejectedRequest ? { rejectedRequest } : {}),
  });

  it('reads confirmed, rejected and cancelled, ignoring replayed duplicates', () => {
    expect(statusFromEvents([e('1', 'confirmed'), e('1', 'confirmed')])).toBe('confirmed');
    expect(statusFromEvents([e('1', 'rejected', 'reservation')])).toBe('rejected');
    expect(statusFromEvents([e('1', 'confirmed'), e('2', 'cancelled')])).toBe('cancelled');
    expect(statusFromEvents([e('1', 'confirmed'), e('2', 'rejected', 'cancellation')])).toBe('confirmed');
    expect(statusFromEvents([])).toBe('none');
  });

  it('flags two different decisions of one reservation as a contradiction', () => {
    expect(statusFromEvents([e('1', 'confirmed'), e('2', 'rejected', 'reservation')])).toBe('contradiction');
    expect(statusFromEvents([e('1', 'confirmed'), e('2', 'confirmed')])).toBe('contradiction');
  });

  it('flags a cancelled rejection and two different cancellations as contradictions', () => {
    expect(statusFromEvents([e('1', 'rejected', 'reservation'), e('2', 'cancelled')])).toBe('contradiction');
    expect(statusFromEvents([e('1', 'confirmed'), e('2', 'cancelled'), e('3', 'cancelled')])).toBe(
      'contradiction',
    );
    // A reservation cancelled while still pending: its only decision is the cancellation.
    expect(statusFromEvents([e('2', 'cancelled'), e('2', 'cancelled')])).toBe('cancelled');
  });
});

describe('compareEventsWithDatabase', () => {
  it('reports reservations whose events disagree with the database, both ways', () => {
    const database = new Map([
      ['ok', 'confirmed' as const],
      ['bad', 'rejected' as const],
      ['silent', 'confirmed' as const],
    ]);
    const events = new Map<string, EventDecision[]>([
      ['ok', [{ eventId: '1', reservationId: 'ok', kind: 'confirmed' }]],
      ['bad', [{ eventId: '2', reservationId: 'bad', kind: 'confirmed' }]],
      ['ghost', [{ eventId: '3', reservationId: 'ghost', kind: 'confirmed' }]],
    ]);
    expect(
      compareEventsWithDatabase(database, events)
        .map((d) => d.reservationId)
        .sort(),
    ).toEqual(['bad', 'ghost', 'silent']);
  });
});

describe('eventDecisionOf', () => {
  it('reads the kind, and the request kind and reason of a rejection', () => {
    const rejected = eventDecisionOf({
      eventId: 'e',
      payload: {
        [eventTypeNames.rejected]: {
          reservationId: 'r',
          rejectedRequest: 'cancellation',
          reason: 'not_found',
        },
      },
    });
    expect(rejected).toEqual({
      eventId: 'e',
      reservationId: 'r',
      kind: 'rejected',
      rejectedRequest: 'cancellation',
      reason: 'not_found',
    });
  });

  it('fails on an event type it does not know instead of counting it as a rejection', () => {
    expect(() =>
      eventDecisionOf({ eventId: 'e', payload: { 'dev.fleetstream.reservation.ReservationExtended': {} } }),
    ).toThrow(/type the storm does not know/);
  });
});

describe('compareDecisionsWithEvents', () => {
  const confirmed = (eventId: string, reservationId = 'r1'): RecordedDecision => ({
    source: 'request',
    eventId,
    reservationId,
    kind: 'confirmed',
  });
  const cancelled = (eventId: string, source: RecordedDecision['source']): RecordedDecision => ({
    source,
    eventId,
    reservationId: 'r1',
    kind: 'cancelled',
  });
  const refusedCancel: RecordedDecision = {
    source: 'cancellation',
    eventId: 'c2',
    reservationId: 'r2',
    kind: 'rejected',
    rejectedRequest: 'cancellation',
    reason: 'not_found',
  };
  const event = ({ source: _source, mayBeAbsent: _absent, ...fields }: RecordedDecision): EventDecision =>
    fields;

  it('passes one to one, counting redeliveries of identical copies', () => {
    const decisions = [confirmed('d1'), cancelled('c1', 'cancellation'), refusedCancel];
    const result = compareDecisionsWithEvents(decisions, [...decisions, confirmed('d1')].map(event));
    expect(result).toEqual({
      missingFromTopic: [],
      differing: [],
      withoutRow: [],
      compared: { decisions: 3, events: 4, uniqueEventIds: 3 },
    });
  });

  it('reports an accepted cancellation whose event never reached the topic', () => {
    // The old check passed this: the final status implied by the events was never compared per decision.
    const result = compareDecisionsWithEvents(
      [confirmed('d1'), cancelled('c1', 'cancellation')],
      [event(confirmed('d1'))],
    );
    expect(result.missingFromTopic).toEqual(['c1']);
  });

  it('reports an event without a row, and an event stating another outcome', () => {
    const result = compareDecisionsWithEvents(
      [confirmed('d1'), refusedCancel],
      [
        event(confirmed('d1')),
        event({ ...refusedCancel, reason: 'overlap' }),
        event(confirmed('ghost', 'r9')),
      ],
    );
    expect(result.withoutRow).toEqual(['ghost']);
    expect(result.differing).toEqual([
      {
        eventId: 'c2',
        database: 'r2:rejected/cancellation/not_found',
        topic: 'r2:rejected/cancellation/overlap',
      },
    ]);
  });

  it('reports two copies of one event id that differ', () => {
    const result = compareDecisionsWithEvents(
      [confirmed('d1')],
      [event(confirmed('d1')), { eventId: 'd1', reservationId: 'r1', kind: 'cancelled' }],
    );
    expect(result.differing.map((d) => d.eventId)).toEqual(['d1']);
  });

  it('accepts a request cancelled while pending: its decision and the cancellation share one event', () => {
    const shared = [cancelled('c1', 'request'), cancelled('c1', 'cancellation')];
    const result = compareDecisionsWithEvents(shared, [event(shared[0]!)]);
    expect(result).toMatchObject({ missingFromTopic: [], differing: [], withoutRow: [] });
    expect(result.compared.decisions).toBe(1);
  });

  it('does not require the event of a withdrawn request, but checks it when present', () => {
    const withdrawn: RecordedDecision = { ...confirmed('w1'), kind: 'rejected', mayBeAbsent: true };
    expect(compareDecisionsWithEvents([withdrawn], []).missingFromTopic).toEqual([]);
    expect(compareDecisionsWithEvents([withdrawn], [event(confirmed('w1'))]).differing).toHaveLength(1);
  });

  it('fails a replay that emitted nothing: every decision is missing from the replayed events', () => {
    // The old replay check compared the original events again and passed.
    const result = compareDecisionsWithEvents([confirmed('d1'), refusedCancel], []);
    expect(result.missingFromTopic).toEqual(['d1', 'c2']);
    expect(result.compared).toEqual({ decisions: 2, events: 0, uniqueEventIds: 0 });
  });
});

describe('compareCancellations', () => {
  it('finds accepted cancellations never decided, decided twice, or decided unasked', () => {
    const result = compareCancellations(['a', 'b', 'c'], new Set(['u']), [
      { reservationId: 'a', outcome: 'cancelled' },
      { reservationId: 'b', outcome: 'rejected' },
      { reservationId: 'b', outcome: 'cancelled' },
      { reservationId: 'x', outcome: 'rejected' },
      { reservationId: 'u', outcome: 'cancelled' },
    ]);
    expect(result).toEqual({
      withoutDecision: ['c'],
      decidedMoreThanOnce: ['b'],
      decidedWithoutRequest: ['x'],
      compared: 3,
    });
  });
});
