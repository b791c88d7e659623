import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../db/pool.ts';
import { decideReservationRequests } from '../../db/queries/settlement/decideReservationRequests.ts';
import { lockReservationRequests } from '../../db/queries/settlement/lockReservationRequests.ts';
import {
  type MatchingRequestInput,
  settleMatchingPendingRequests,
} from '../../db/queries/settlement/settleMatchingPendingRequests.ts';
import { inReadCommittedTransaction } from '../../db/readCommittedTransaction.ts';
import { untilSessionsWaitForLocks } from '../../db/testing/lockWaits.ts';
import { matchingRequestInput, settleCommandBatch } from './settleCommandBatch.ts';
import type { CommandResult, Settlement } from './settlement.ts';
import type { ReservationRequestCommand } from './settlementCommand.ts';
import { defaultSettlementPolicy } from './settlementPolicy.ts';
import { settleReservationBatch } from './settleReservationBatch.ts';
import { overlappingRounds, requestCommand } from './testing/settlementCommands.ts';
import {
  createSettlementDatabase,
  overlappingConfirmedPairs,
  recordPendingRequests,
  type SettlementDatabase,
} from './testing/settlementDatabase.ts';

let db: SettlementDatabase;
const clock = { nowMs: Date.now, newEventId: randomUUID };

beforeAll(async () => {
  db = await createSettlementDatabase({ vehicles: 20 });
});

afterAll(async () => {
  await db?.close();
});

const vehicle = (index: number): string => db.vehicles[index]!;

function inputOf(command: ReservationRequestCommand): MatchingRequestInput {
  return matchingRequestInput(command, randomUUID());
}

async function rowsOf(ids: string[]) {
  const rows = await db.app.query<{
    id: string;
    status: string;
    reason: string | null;
    booking: string | null;
  }>(
    `SELECT r.reservation_id::text AS id, r.status, r.decision_reason AS reason, b.status AS booking
       FROM fleet.reservation_requests r LEFT JOIN fleet.reservations b ON b.id = r.reservation_id
      WHERE r.reservation_id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.rows.map((row) => [row.id, row]));
}

/** Decisions made now, under the default grace for started periods. */
function decidingNow(): { decidedAtMs: number; earliestStartMs: number } {
  const decidedAtMs = Date.now();
  return { decidedAtMs, earliestStartMs: decidedAtMs - defaultSettlementPolicy.startGraceMs };
}

function settled(result: CommandResult | undefined): Settlement {
  if (!result?.ok) throw new Error(`expected a settlement, got ${String(result?.ok ? '' : result?.error)}`);
  return result.settlement;
}

describe('the one-statement fast path (settleMatchingPendingRequests)', () => {
  it('decides pending requests that match their rows, and leaves every other case to the locked path untouched', async () => {
    const matching = requestCommand({ vehicleId: vehicle(0), fromHour: 0, toHour: 4 });
    const overlapping = requestCommand({ vehicleId: vehicle(0), fromHour: 2, toHour: 6 });
    const otherPeriod = requestCommand({ vehicleId: vehicle(1), fromHour: 0, toHour: 4 });
    const retired = requestCommand({ vehicleId: db.retiredVehicle, fromHour: 0, toHour: 4 });
    const unrecorded = requestCommand({ vehicleId: vehicle(2), fromHour: 0, toHour: 4 });
    const alreadyDecided = requestCommand({ vehicleId: vehicle(3), fromHour: 0, toHour: 4 });
    // Started two hours ago: past the grace, the locked path's to reject.
    const startedLongAgo = {
      ...requestCommand({ vehicleId: vehicle(4), fromHour: 0, toHour: 1 }),
      startsAtMs: Date.now() - 7_200_000,
      endsAtMs: Date.now() + 3_600_000,
    };
    await recordPendingRequests(db.app, [
      matching,
      overlapping,
      otherPeriod,
      retired,
      alreadyDecided,
      startedLongAgo,
    ]);
    await db.app.query(
      `UPDATE fleet.reservation_requests SET status = 'rejected', decision_reason = 'enqueue_failed', decided_at = now() WHERE reservation_id = $1`,
      [alreadyDecided.reservationId],
    );

    const first = await settleMatchingPendingRequests(db.app, decidingNow(), [
      inputOf(matching),
      // The command says one hour later than the row: not this request, the locked path refuses it.
      inputOf({ ...otherPeriod, endsAtMs: otherPeriod.endsAtMs + 3_600_000 }),
      inputOf(retired),
      inputOf(unrecorded),
      inputOf(alreadyDecided),
      inputOf(startedLongAgo),
    ]);
    expect(first.map((r) => [r.reservationId, r.status])).toEqual([[matching.reservationId, 'confirmed']]);
    // A second batch: the overlap is decided by the exclusion constraint, as in the locked path.
    const second = await settleMatchingPendingRequests(db.app, decidingNow(), [inputOf(overlapping)]);
    expect(second.map((r) => [r.status, r.decisionReason])).toEqual([['rejected', 'overlap']]);

    const rows = await rowsOf(
      [otherPeriod, retired, unrecorded, alreadyDecided, startedLongAgo].map((c) => c.reservationId),
    );
    expect(rows.get(otherPeriod.reservationId)).toMatchObject({ status: 'pending', booking: null });
    expect(rows.get(retired.reservationId)).toMatchObject({ status: 'pending', booking: null });
    expect(rows.has(unrecorded.reservationId)).toBe(false);
    expect(rows.get(alreadyDecided.reservationId)).toMatchObject({ status: 'rejected', booking: null });
    expect(rows.get(startedLongAgo.reservationId)).toMatchObject({ status: 'pending', booking: null });
  });

  it('waits for a locked transaction deciding the same request, then leaves it alone: no booking behind a rejection', async () => {
    const command = requestCommand({ vehicleId: vehicle(5), fromHour: 0, toHour: 4 });
    await recordPendingRequests(db.app, [command]);
    const owner = await db.app.connect();
    try {
      // Another settler holds the row and rejects the request (any decision without a booking).
      await owner.query('BEGIN');
      await lockReservationRequests(owner, [command.reservationId]);
      await decideReservationRequests(owner, Date.now(), [
        { ...inputOf(command), proposal: 'rejected', reason: 'vehicle_retired' },
      ]);
      const fast = settleMatchingPendingRequests(db.app, decidingNow(), [inputOf(command)]);
      // The fast statement must be waiting for the owner's row lock before the owner commits.
      await untilSessionsWaitForLocks(db.app, { queryLike: 'WITH proposed%claimed%' });
      await owner.query('COMMIT');
      expect(await fast).toEqual([]);
    } finally {
      owner.release();
    }
    const row = (await rowsOf([command.reservationId])).get(command.reservationId);
    expect(row).toEqual({
      id: command.reservationId,
      status: 'rejected',
      reason: 'vehicle_retired',
      booking: null,
    });
  });
});

describe('settleCommandBatch racing the locked path (a zombie on one path, the new owner on the other)', () => {
  it('never double-books, decides each request once, and both announce the same decisions', async () => {
    const other = createPool({ connectionString: db.fresh.urls.app, applicationName: 'locked-path', max: 4 });
    try {
      const vehicles = [10, 11, 12, 13].map(vehicle);
      const rounds = overlappingRounds(vehicles, 8);
      await recordPendingRequests(db.app, rounds.flat());
      const fromFast: Settlement[] = [];
      const fromLocked: Settlement[] = [];
      for (const round of rounds) {
        const [a, b] = await Promise.all([
          settleCommandBatch(db.app, round, clock),
          inReadCommittedTransaction(other, (client) =>
            settleReservationBatch(client, [...round].reverse(), clock),
          ),
        ]);
        fromFast.push(...a.map(settled));
        fromLocked.push(...[...b].reverse().map(settled));
      }
      expect(fromFast.map((s) => s.event)).toEqual(fromLocked.map((s) => s.event));
      expect(fromFast.map((s, i) => s.replayed !== fromLocked[i]!.replayed)).toEqual(
        fromFast.map(() => true),
      );
      expect(await overlappingConfirmedPairs(db.app)).toBe(0);
      const decided = await db.app.query(
        `SELECT count(*)::int AS n, count(DISTINCT decision_event_id)::int AS events,
                count(*) FILTER (WHERE status = 'confirmed')::int AS confirmed,
                (SELECT count(*)::int FROM fleet.reservations WHERE vehicle_id = ANY($1::uuid[])) AS bookings
           FROM fleet.reservation_requests WHERE vehicle_id = ANY($1::uuid[]) AND status <> 'pending'`,
        [vehicles],
      );
      const counts = decided.rows[0];
      expect({ n: counts.n, events: counts.events }).toEqual({ n: 32, events: 32 });
      // Every booking belongs to a confirmed request: nothing booked behind a rejection.
      expect(counts.bookings).toBe(counts.confirmed);
    } finally {
      await other.end();
    }
  });
});
