import { describe, expect, it } from 'vitest';
import { cancellationDecision, requestDecision } from './stormDatabase.ts';
import { type StormReport, stormFailures, stormSummary } from './stormReport.ts';

/** A passing report of a small run; each test breaks one thing. */
function passing(): StormReport {
  return {
    ok: true,
    failures: [],
    options: {
      requests: 400,
      concurrency: 32,
      hotVehicles: 5,
      customers: 200,
      settlers: 3,
      kills: 2,
      cancelRatio: 0.2,
      confirmedCancelRatio: 0.3,
      windowDays: 10,
      partitions: 6,
    },
    startedAt: '2026-11-26T00:00:00.000Z',
    durationSeconds: 20,
    sent: 400,
    accepted: 400,
    refused: {},
    cancellationsAccepted: 40,
    kills: 2,
    settleSeconds: 1,
    decisions: { confirmed: 10, rejected: 380, cancelled: 10 },
    timeline: { points: [], kills: [] },
    evidence: {
      eventsRead: 460,
      uniqueEventIds: 440,
      redeliveries: 20,
      replayEventsRead: 440,
      replayUniqueEventIds: 440,
      cancellationDecisions: { cancelled: 10, rejected: 30 },
      cancellationsAfterConfirmation: 5,
      rejectionReasons: { overlap: 380 },
      uncommittedAtKills: [3, 0],
      withdrawnRequests: 0,
      compared: {
        overlapsInDatabase: 10,
        overlapsThroughApi: 10,
        terminal: 400,
        apiWithDatabase: 400,
        eventsWithDatabase: { decisions: 440, events: 460 },
        cancellations: 40,
        replay: { decisions: 440, events: 440 },
      },
    },
    checks: {
      serverErrors: 0,
      acceptedWithoutId: 0,
      overlapsInDatabase: [],
      overlapsThroughApi: [],
      notTerminal: [],
      apiDisagreesWithDatabase: [],
      eventsDisagreeWithDatabase: [],
      eventsMissingFromTopic: [],
      eventsDifferFromDatabase: [],
      eventsWithoutRow: [],
      cancellationsWithoutDecision: [],
      cancellationsDecidedMoreThanOnce: [],
      cancellationDecisionsWithoutRequest: [],
      replayChangedDatabase: false,
      replayNotReemitted: [],
      replayDiffers: [],
      replayNewEventIds: 0,
    },
  };
}

describe('stormFailures', () => {
  it('passes a run whose checks passed and that exercised what they check', () => {
    expect(stormFailures(passing())).toEqual([]);
    expect(stormSummary(passing())[0]).toMatch(/^double-booking storm: PASSED/);
  });

  it('fails a run with fewer kills than asked (the old killer gave up when the load ended)', () => {
    expect(stormFailures({ ...passing(), kills: 1 })).toEqual(['1 of 2 SIGKILLs landed during the load']);
  });

  it('fails a run that confirmed nothing, rejected nothing for an overlap, or cancelled nothing', () => {
    const r = passing();
    r.decisions = { rejected: 400 };
    r.evidence.rejectionReasons = { invalid_period: 400 };
    r.evidence.cancellationDecisions = { cancelled: 0, rejected: 40 };
    expect(stormFailures(r)).toEqual([
      'no reservation was confirmed',
      'no reservation was rejected for an overlap',
      'no cancellation was accepted',
    ]);
  });

  it('fails a run whose kills hit idle settlers: no redelivery, nothing uncommitted', () => {
    const r = passing();
    r.evidence.redeliveries = 0;
    r.evidence.uncommittedAtKills = [0, null];
    expect(stormFailures(r)).toEqual([
      'no kill landed with work in flight (no redelivery, no uncommitted record at a kill)',
    ]);
    r.evidence.redeliveries = 1;
    expect(stormFailures(r)).toEqual([]);
  });

  it('fails on a 202 without a reservation id, and on a replay that emitted nothing again', () => {
    const r = passing();
    r.checks.acceptedWithoutId = 1;
    r.checks.replayNotReemitted = ['e1', 'e2'];
    expect(stormFailures(r)).toEqual([
      '1 reservations accepted without a reservation id',
      '2 decisions the replay did not emit again',
    ]);
  });
});

describe('recorded decisions', () => {
  it('maps a rejected request and a refused cancellation to the event reason they are emitted with', () => {
    const row = {
      reservation_id: 'r',
      status: 'rejected' as const,
      decided_status: 'rejected' as const,
      decision_event_id: 'e',
      decision_reason: 'overlap',
    };
    expect(requestDecision(row)).toEqual({
      source: 'request',
      eventId: 'e',
      reservationId: 'r',
      kind: 'rejected',
      rejectedRequest: 'reservation',
      reason: 'overlap',
    });
    expect(
      cancellationDecision({ reservation_id: 'r', outcome: 'rejected', reason: 'not_owner', event_id: 'c' }),
    ).toMatchObject({ kind: 'rejected', rejectedRequest: 'cancellation', reason: 'not_found' });
  });

  it('keeps the decided status of a confirmed request cancelled later, and skips pending ones', () => {
    const row = {
      reservation_id: 'r',
      status: 'cancelled' as const,
      decided_status: 'confirmed' as const,
      decision_event_id: 'e',
      decision_reason: null,
    };
    expect(requestDecision(row)).toMatchObject({ eventId: 'e', kind: 'confirmed' });
    expect(
      requestDecision({ ...row, status: 'pending', decided_status: null, decision_event_id: null }),
    ).toBe(undefined);
  });
});
