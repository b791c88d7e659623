import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../db/pool.ts';
import { inReadCommittedTransaction } from '../../db/readCommittedTransaction.ts';
import { untilSessionsWaitForLocks } from '../../db/testing/lockWaits.ts';
import { PermanentError } from '../runtime/errors/processingErrors.ts';
import { recoveringBatchSettler } from './recoveringBatchSettler.ts';
import { settleCommandBatch } from './settleCommandBatch.ts';
import type { CommandResult, Settlement } from './settlement.ts';
import type { SettlementCommand } from './settlementCommand.ts';
import { type SettlementClock, settleReservationBatch } from './settleReservationBatch.ts';
import { cancellationCommand, overlappingRounds, requestCommand } from './testing/settlementCommands.ts';
import {
  createSettlementDatabase,
  overlappingConfirmedPairs,
  recordPendingRequests,
  type SettlementDatabase,
} from './testing/settlementDatabase.ts';

let db: SettlementDatabase;
const clock: SettlementClock = { nowMs: Date.now, newEventId: randomUUID };

beforeAll(async () => {
  db = await createSettlementDatabase({ vehicles: 80 });
});

afterAll(async () => {
  await db?.close();
});

type SettleBatch = (commands: SettlementCommand[], pool: pg.Pool) => Promise<CommandResult[]>;

/**
 * Every test below runs through both ways a batch is settled: the locked transaction alone, and
 * the settler's path — the one-statement fast path first, the locked transaction for the rest.
 * Each gets its own 40 vehicles of the database.
 */
const settlementPaths: { name: string; vehicleOffset: number; run: SettleBatch }[] = [
  {
    name: 'one locked transaction',
    vehicleOffset: 0,
    run: (commands, pool) =>
      inReadCommittedTransaction(pool, (client) => settleReservationBatch(client, commands, clock)),
  },
  {
    name: 'the fast path, then the locked transaction (settleCommandBatch)',
    vehicleOffset: 40,
    run: (commands, pool) => settleCommandBatch(pool, commands, clock),
  },
];
let path = settlementPaths[0]!;

/** Settles `commands` as one batch through the path under test. */
function settle(commands: SettlementCommand[], pool = db.app): Promise<CommandResult[]> {
  return path.run(commands, pool);
}

function settled(result: CommandResult | undefined): Settlement {
  if (!result?.ok) throw new Error(`expected a settlement, got ${String(result?.ok ? '' : result?.error)}`);
  return result.settlement;
}

async function settleOne(command: SettlementCommand): Promise<Settlement> {
  return settled((await settle([command]))[0]);
}

const vehicle = (index: number): string => db.vehicles[path.vehicleOffset + index]!;

describe.each(settlementPaths)('through $name', (under) => {
  beforeAll(() => {
    path = under;
  });

  describe('settling reservation requests in PostgreSQL', () => {
    it('confirms a batch of requests on distinct vehicles in one transaction, with the events the rows say', async () => {
      const commands = [0, 1, 2].map((i) =>
        requestCommand({ vehicleId: vehicle(i), fromHour: 10, toHour: 20 }),
      );
      const results = (await settle(commands)).map(settled);
      expect(results.map((s) => [s.outcome, s.replayed, s.key])).toEqual(
        commands.map((c) => ['confirmed', false, c.vehicleId]),
      );
      const rows = await db.app.query(
        `SELECT r.reservation_id::text AS id, r.status, r.decided_status, r.decision_event_id::text AS event_id,
              r.decision_command_id::text AS command_id, r.decided_offset::int AS decided_offset, b.status AS booking
         FROM fleet.reservation_requests r JOIN fleet.reservations b ON b.id = r.reservation_id
        WHERE r.reservation_id = ANY($1::uuid[]) ORDER BY r.reservation_id`,
        [commands.map((c) => c.reservationId)],
      );
      expect(rows.rows).toHaveLength(3);
      for (const row of rows.rows) {
        const command = commands.find((c) => c.reservationId === row.id)!;
        const event = results.find((s) => s.event.eventId === row.event_id)!.event;
        expect(row).toMatchObject({
          status: 'confirmed',
          decided_status: 'confirmed',
          booking: 'confirmed',
          command_id: command.commandId,
          decided_offset: command.position.offset,
        });
        expect(event.causationId).toBe(command.commandId);
        expect(event.correlationId).toBe(command.correlationId);
        expect(event.payload).toEqual({
          'dev.fleetstream.reservation.ReservationConfirmed': {
            reservationId: command.reservationId,
            customerId: command.customerId,
            vehicleId: command.vehicleId,
            startsAt: command.startsAtMs,
            endsAt: command.endsAtMs,
            confirmedAt: event.occurredAt,
          },
        });
      }
    });

    it('rejects an overlapping request with reason overlap and confirms a back-to-back one', async () => {
      const first = await settleOne(requestCommand({ vehicleId: vehicle(3), fromHour: 10, toHour: 20 }));
      const overlapping = await settleOne(
        requestCommand({ vehicleId: vehicle(3), fromHour: 19, toHour: 30 }),
      );
      const before = await settleOne(requestCommand({ vehicleId: vehicle(3), fromHour: 0, toHour: 10 }));
      const after = await settleOne(requestCommand({ vehicleId: vehicle(3), fromHour: 20, toHour: 25 }));
      expect([first.outcome, overlapping.outcome, before.outcome, after.outcome]).toEqual([
        'confirmed',
        'rejected',
        'confirmed',
        'confirmed',
      ]);
      expect(overlapping.reason).toBe('overlap');
      expect(overlapping.event.payload).toMatchObject({
        'dev.fleetstream.reservation.ReservationRejected': {
          rejectedRequest: 'reservation',
          reason: 'overlap',
        },
      });
      expect(await overlappingConfirmedPairs(db.app)).toBe(0);
    });

    it('rejects an unknown vehicle and a retired one as unknown_vehicle, keeping the finer reason in the row', async () => {
      const unknown = requestCommand({ vehicleId: randomUUID(), fromHour: 1, toHour: 2 });
      const retired = requestCommand({ vehicleId: db.retiredVehicle, fromHour: 1, toHour: 2 });
      const [a, b] = (await settle([unknown, retired])).map(settled);
      expect([a?.outcome, a?.reason, b?.outcome, b?.reason]).toEqual([
        'rejected',
        'unknown_vehicle',
        'rejected',
        'unknown_vehicle',
      ]);
      const reasons = await db.app.query(
        'SELECT decision_reason FROM fleet.reservation_requests WHERE reservation_id = ANY($1::uuid[]) ORDER BY decision_reason',
        [[unknown.reservationId, retired.reservationId]],
      );
      expect(reasons.rows.map((r) => r.decision_reason)).toEqual(['unknown_vehicle', 'vehicle_retired']);
      expect(
        (
          await db.app.query('SELECT count(*)::int AS n FROM fleet.reservations WHERE vehicle_id = $1', [
            db.retiredVehicle,
          ])
        ).rows[0].n,
      ).toBe(0);
    });

    it('re-emits the stored decision on replay: the same event, nothing decided twice', async () => {
      const winner = requestCommand({ vehicleId: vehicle(4), fromHour: 0, toHour: 5 });
      const loser = requestCommand({ vehicleId: vehicle(4), fromHour: 1, toHour: 6 });
      const firstWinner = await settleOne(winner);
      const firstLoser = await settleOne(loser);
      // The loser's period is free again only in a world where the winner was not decided; a replay must not "retry" it.
      const replayed = (await settle([winner])).map(settled).concat((await settle([loser])).map(settled));
      expect(replayed.map((s) => s.replayed)).toEqual([true, true]);
      expect(replayed.map((s) => s.event)).toEqual([firstWinner.event, firstLoser.event]);
      // A replay produced with another command id (e.g. re-produced by a relay) finds the same decision.
      const again = await settleOne({ ...loser, commandId: randomUUID() });
      expect(again.event).toEqual(firstLoser.event);
    });

    it('records a request no ingress recorded, and settles one the ingress recorded as pending', async () => {
      const recorded = requestCommand({ vehicleId: vehicle(5), fromHour: 0, toHour: 3 });
      await db.app.query(
        `INSERT INTO fleet.reservation_requests (reservation_id, customer_id, vehicle_id, requested_period, idempotency_key, request_hash)
       VALUES ($1, $2, $3, tstzrange($4::timestamptz, $5::timestamptz, '[)'), $7, $6)`,
        [
          recorded.reservationId,
          recorded.customerId,
          recorded.vehicleId,
          new Date(recorded.startsAtMs).toISOString(),
          new Date(recorded.endsAtMs).toISOString(),
          Buffer.alloc(32, 7),
          `key-${path.vehicleOffset}`,
        ],
      );
      const unrecorded = requestCommand({ vehicleId: vehicle(6), fromHour: 0, toHour: 3 });
      const [a, b] = (await settle([recorded, unrecorded])).map(settled);
      expect([a?.outcome, b?.outcome]).toEqual(['confirmed', 'confirmed']);
      const rows = await db.app.query(
        'SELECT idempotency_key, octet_length(request_hash) AS hash_bytes FROM fleet.reservation_requests WHERE reservation_id = ANY($1::uuid[]) ORDER BY idempotency_key NULLS LAST',
        [[recorded.reservationId, unrecorded.reservationId]],
      );
      expect(rows.rows).toEqual([
        { idempotency_key: `key-${path.vehicleOffset}`, hash_bytes: 32 },
        { idempotency_key: null, hash_bytes: 32 },
      ]);
    });

    it('refuses a command that contradicts its recorded request without failing the rest of the batch', async () => {
      const original = requestCommand({ vehicleId: vehicle(7), fromHour: 0, toHour: 3, customerId: 'alice' });
      await settleOne(original);
      const forged = { ...original, commandId: randomUUID(), customerId: 'mallory' };
      const neighbour = requestCommand({ vehicleId: vehicle(8), fromHour: 0, toHour: 3 });
      const [forgedResult, neighbourResult] = await settle([forged, neighbour]);
      expect(forgedResult?.ok).toBe(false);
      expect(forgedResult?.ok === false && forgedResult.error).toBeInstanceOf(PermanentError);
      expect(settled(neighbourResult).outcome).toBe('confirmed');
    });

    it('re-emits a decision made elsewhere (the ingress withdrawing a request) with a stable id and whole milliseconds', async () => {
      const withdrawn = requestCommand({ vehicleId: vehicle(13), fromHour: 0, toHour: 3 });
      await recordPendingRequests(db.app, [withdrawn]);
      await db.app.query(
        `UPDATE fleet.reservation_requests SET status = 'rejected', decision_reason = 'enqueue_failed',
              decided_at = now() - interval '1.2345 milliseconds' WHERE reservation_id = $1`,
        [withdrawn.reservationId],
      );
      const first = await settleOne(withdrawn);
      const second = await settleOne(withdrawn);
      expect(first).toMatchObject({ outcome: 'rejected', reason: 'unspecified', replayed: true });
      expect(first.event.payload).toMatchObject({
        'dev.fleetstream.reservation.ReservationRejected': {
          reason: 'unspecified',
          detail: 'enqueue_failed',
        },
      });
      expect(Number.isInteger(first.event.occurredAt)).toBe(true);
      expect(second.event).toEqual(first.event);
    });

    it('rejects a request whose period started longer ago than the grace (relayed after an outage) as invalid_period, and books one inside it', async () => {
      const now = Date.now();
      const hourMs = 3_600_000;
      // Whole milliseconds, as the ingress records them.
      const stale = {
        ...requestCommand({ vehicleId: vehicle(14), fromHour: 0, toHour: 1 }),
        startsAtMs: now - 2 * hourMs,
        endsAtMs: now + 2 * hourMs,
      };
      const recent = {
        ...requestCommand({ vehicleId: vehicle(15), fromHour: 0, toHour: 1 }),
        startsAtMs: now - 5 * 60_000,
        endsAtMs: now + hourMs,
      };
      await recordPendingRequests(db.app, [stale, recent]);
      const [rejected, confirmed] = (await settle([stale, recent])).map(settled);
      expect([rejected?.outcome, rejected?.reason, confirmed?.outcome]).toEqual([
        'rejected',
        'invalid_period',
        'confirmed',
      ]);
      const stored = await db.app.query(
        'SELECT decision_reason FROM fleet.reservation_requests WHERE reservation_id = $1',
        [stale.reservationId],
      );
      expect(stored.rows[0].decision_reason).toBe('period_started');
      // A replay re-emits that decision, whatever the clock says by then.
      const again = await settleOne({ ...stale, commandId: randomUUID() });
      expect([again.replayed, again.event]).toEqual([true, rejected?.event]);
    });

    it('refuses a batch holding two commands of one vehicle (the batcher never builds one)', async () => {
      const a = requestCommand({ vehicleId: vehicle(9), fromHour: 0, toHour: 3 });
      const b = requestCommand({ vehicleId: vehicle(9), fromHour: 5, toHour: 8 });
      await expect(settle([a, b])).rejects.toThrow(/two commands of one reservation or vehicle/);
      const rows = await db.app.query(
        'SELECT count(*)::int AS n FROM fleet.reservation_requests WHERE vehicle_id = $1',
        [vehicle(9)],
      );
      expect(rows.rows[0].n).toBe(0);
    });
  });

  describe('settling cancellations in PostgreSQL', () => {
    it("cancels the owner's confirmed reservation, frees its period, and re-emits the same events on replay", async () => {
      const booking = requestCommand({
        vehicleId: vehicle(10),
        fromHour: 0,
        toHour: 10,
        customerId: 'owner',
      });
      const confirmed = await settleOne(booking);
      const blocked = await settleOne(requestCommand({ vehicleId: vehicle(10), fromHour: 2, toHour: 4 }));
      expect(blocked.reason).toBe('overlap');

      const cancel = cancellationCommand({
        reservationId: booking.reservationId,
        vehicleId: vehicle(10),
        customerId: 'owner',
      });
      const cancelled = await settleOne(cancel);
      expect(cancelled.outcome).toBe('cancelled');
      expect(cancelled.event.payload).toEqual({
        'dev.fleetstream.reservation.ReservationCancelled': {
          reservationId: booking.reservationId,
          customerId: 'owner',
          vehicleId: vehicle(10),
          cancelledAt: cancelled.event.occurredAt,
        },
      });
      const rebooked = await settleOne(requestCommand({ vehicleId: vehicle(10), fromHour: 2, toHour: 4 }));
      expect(rebooked.outcome).toBe('confirmed');

      // Replays: the cancellation, a second cancellation by the owner, and the original request.
      expect((await settleOne(cancel)).event).toEqual(cancelled.event);
      expect((await settleOne({ ...cancel, commandId: randomUUID() })).event).toEqual(cancelled.event);
      expect((await settleOne(booking)).event).toEqual(confirmed.event);
      const row = await db.app.query(
        'SELECT status, decided_status FROM fleet.reservation_requests WHERE reservation_id = $1',
        [booking.reservationId],
      );
      expect(row.rows[0]).toEqual({ status: 'cancelled', decided_status: 'confirmed' });
      expect(await overlappingConfirmedPairs(db.app)).toBe(0);
    });

    it('refuses a cancellation by someone else exactly like one of an unknown reservation, and keeps the booking', async () => {
      const booking = requestCommand({
        vehicleId: vehicle(11),
        fromHour: 0,
        toHour: 10,
        customerId: 'owner',
      });
      await settleOne(booking);
      const byStranger = await settleOne(
        cancellationCommand({
          reservationId: booking.reservationId,
          vehicleId: vehicle(11),
          customerId: 'stranger',
        }),
      );
      const unknownId = randomUUID();
      const ofUnknown = await settleOne(
        cancellationCommand({ reservationId: unknownId, vehicleId: vehicle(11), customerId: 'stranger' }),
      );
      const shape = (s: Settlement) => {
        const rejected = (s.event.payload as unknown as Record<string, Record<string, unknown>>)[
          'dev.fleetstream.reservation.ReservationRejected'
        ]!;
        return { ...rejected, reservationId: 'x', rejectedAt: 0 };
      };
      expect(byStranger.outcome).toBe('rejected');
      expect(shape(byStranger)).toEqual(shape(ofUnknown));
      expect(shape(byStranger)).toMatchObject({
        rejectedRequest: 'cancellation',
        reason: 'not_found',
        customerId: 'stranger',
        startsAt: null,
      });
      const rows = await db.app.query(
        `SELECT (SELECT status FROM fleet.reservations WHERE id = $1) AS booking,
              (SELECT array_agg(reason ORDER BY reason) FROM fleet.cancellation_decisions WHERE reservation_id IN ($1, $2)) AS reasons`,
        [booking.reservationId, unknownId],
      );
      expect(rows.rows[0]).toEqual({ booking: 'confirmed', reasons: ['not_found', 'not_owner'] });
    });

    it("refuses a cancellation that reuses another cancellation's command id, instead of replaying someone else's decision", async () => {
      const alices = requestCommand({ vehicleId: vehicle(13), fromHour: 0, toHour: 2, customerId: 'alice' });
      const bobs = requestCommand({ vehicleId: vehicle(14), fromHour: 0, toHour: 2, customerId: 'bob' });
      await settle([alices, bobs]);
      const alicesCancel = cancellationCommand({
        reservationId: alices.reservationId,
        vehicleId: vehicle(13),
        customerId: 'alice',
      });
      expect((await settleOne(alicesCancel)).outcome).toBe('cancelled');
      // Bob's own cancellation, under the id of Alice's (a producer reusing command ids).
      const reused = cancellationCommand({
        reservationId: bobs.reservationId,
        vehicleId: vehicle(14),
        customerId: 'bob',
      });
      const [result] = await settle([{ ...reused, commandId: alicesCancel.commandId }]);
      expect(result?.ok).toBe(false);
      expect(result?.ok === false && result.error).toBeInstanceOf(PermanentError);
      expect(result?.ok === false && result.error.message).toMatch(/decided before for another reservation/);
      const booking = await db.app.query('SELECT status FROM fleet.reservations WHERE id = $1', [
        bobs.reservationId,
      ]);
      expect(booking.rows[0]).toEqual({ status: 'confirmed' });
      // Alice's own command still replays her decision.
      expect((await settleOne(alicesCancel)).outcome).toBe('cancelled');
    });

    it('cancels a request that is still pending; its own command then re-emits that cancellation', async () => {
      const booking = requestCommand({ vehicleId: vehicle(12), fromHour: 0, toHour: 10 });
      await recordPendingRequests(db.app, [booking]);
      const cancelled = await settleOne(
        cancellationCommand({ reservationId: booking.reservationId, vehicleId: vehicle(12) }),
      );
      expect(cancelled.outcome).toBe('cancelled');
      const late = await settleOne(booking);
      expect(late).toMatchObject({ outcome: 'cancelled', replayed: true });
      expect(late.event).toEqual(cancelled.event);
      expect(
        (
          await db.app.query('SELECT count(*)::int AS n FROM fleet.reservations WHERE id = $1', [
            booking.reservationId,
          ])
        ).rows[0].n,
      ).toBe(0);
    });
  });

  describe('two settlers racing on the same commands (a zombie and the new owner)', () => {
    it('never double-books, decides each request once, and both announce the same decisions', async () => {
      const other = createPool({ connectionString: db.fresh.urls.app, applicationName: 'zombie', max: 4 });
      try {
        const vehicles = [20, 21, 22, 23].map(vehicle);
        const rounds = overlappingRounds(vehicles, 6);
        // Half the rounds recorded by an ingress first (the fast path's case), half not.
        await recordPendingRequests(db.app, rounds.filter((_, i) => i % 2 === 0).flat());
        const fromA: Settlement[] = [];
        const fromB: Settlement[] = [];
        for (const round of rounds) {
          // Same commands, opposite order, two connections pools: the transactions contend on every row.
          const [a, b] = await Promise.all([settle(round), settle([...round].reverse(), other)]);
          fromA.push(...a.map(settled));
          fromB.push(...[...b].reverse().map(settled));
        }
        expect(fromA.map((s) => s.event)).toEqual(fromB.map((s) => s.event));
        expect(fromA.map((s, i) => s.replayed || fromB[i]!.replayed)).toEqual(fromA.map(() => true));
        expect(fromA.map((s, i) => s.replayed && fromB[i]!.replayed)).toEqual(fromA.map(() => false));
        expect(await overlappingConfirmedPairs(db.app)).toBe(0);
        const decided = await db.app.query(
          `SELECT count(*)::int AS n, count(DISTINCT decision_event_id)::int AS events
           FROM fleet.reservation_requests WHERE vehicle_id = ANY($1::uuid[]) AND status <> 'pending'`,
          [vehicles],
        );
        expect(decided.rows[0]).toEqual({ n: 24, events: 24 });
      } finally {
        await other.end();
      }
    });
  });

  describe('the new owner waiting for a zombie that settles the same reservation', () => {
    /**
     * A settler that lost its partitions (the zombie) settles `zombieCommands` in a transaction it
     * keeps open; the new owner settles `ownerCommands` through the path under test (with the
     * pipeline's batch recovery) and waits for the zombie's locks; then the zombie commits.
     */
    async function ownerAfterZombie(
      zombieCommands: SettlementCommand[],
      ownerCommands: SettlementCommand[],
    ): Promise<{ zombie: Settlement[]; owner: CommandResult[]; recoveries: unknown[] }> {
      const zombiePool = createPool({
        connectionString: db.fresh.urls.app,
        applicationName: 'zombie',
        max: 1,
      });
      const zombie = await zombiePool.connect();
      try {
        await zombie.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        const zombieSettled = (await settleReservationBatch(zombie, zombieCommands, clock)).map(settled);
        const recoveries: unknown[] = [];
        const owner = recoveringBatchSettler(
          (commands) => settle(commands),
          { attempts: 3, retryDelayMs: 5 },
          (_kind, error) => recoveries.push(error),
        )(ownerCommands);
        await untilSessionsWaitForLocks(db.app);
        await zombie.query('COMMIT');
        return { zombie: zombieSettled, owner: await owner, recoveries };
      } finally {
        zombie.release();
        await zombiePool.end();
      }
    }

    it("announces the zombie's cancellation for a second cancellation that waited for it", async () => {
      const booking = requestCommand({ vehicleId: vehicle(30), fromHour: 0, toHour: 4 });
      await settleOne(booking);
      const first = cancellationCommand({ reservationId: booking.reservationId, vehicleId: vehicle(30) });
      const second = cancellationCommand({ reservationId: booking.reservationId, vehicleId: vehicle(30) });
      const { zombie, owner } = await ownerAfterZombie([first], [second]);
      expect(zombie[0]!.outcome).toBe('cancelled');
      // The same event as the first cancellation's, now and on every replay of either command.
      expect(settled(owner[0]).event).toEqual(zombie[0]!.event);
      expect((await settleOne(second)).event).toEqual(zombie[0]!.event);
      expect((await settleOne(first)).event).toEqual(zombie[0]!.event);
    });

    it('cancels a request the zombie was confirming, on the first try', async () => {
      const booking = requestCommand({ vehicleId: vehicle(31), fromHour: 0, toHour: 4 });
      await recordPendingRequests(db.app, [booking]);
      const cancel = cancellationCommand({ reservationId: booking.reservationId, vehicleId: vehicle(31) });
      const { zombie, owner, recoveries } = await ownerAfterZombie([booking], [cancel]);
      expect(zombie[0]!.outcome).toBe('confirmed');
      expect(settled(owner[0]).outcome).toBe('cancelled');
      // It saw the booking the zombie committed: released it, no rollback and rerun needed.
      expect(recoveries).toEqual([]);
      const row = await db.app.query(
        `SELECT r.status, b.status AS booking FROM fleet.reservation_requests r
           JOIN fleet.reservations b ON b.id = r.reservation_id WHERE r.reservation_id = $1`,
        [booking.reservationId],
      );
      expect(row.rows[0]).toEqual({ status: 'cancelled', booking: 'cancelled' });
    });

    it("replays the zombie's refusal of a cancellation of an unknown reservation instead of dead-lettering it", async () => {
      const cancel = cancellationCommand({ reservationId: randomUUID(), vehicleId: vehicle(32) });
      const { zombie, owner } = await ownerAfterZombie([cancel], [cancel]);
      expect(zombie[0]!.reason).toBe('not_found');
      expect(settled(owner[0])).toMatchObject({ replayed: true, event: zombie[0]!.event });
    });
  });
});
