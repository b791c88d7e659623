import { describe, expect, it } from 'vitest';
import {
  compareEventsWithDatabase,
  type EventDecision,
  findOverlaps,
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
