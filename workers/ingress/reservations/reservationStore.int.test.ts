import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrate } from '../../../db/migrator.ts';
import { seedLocalVehicles } from '../../../db/seeds/localVehicleCatalog.ts';
import { createFreshDatabase, type FreshDatabase } from '../../../db/testing/freshDatabase.ts';
import { sqlStateOfRejection } from '../../../db/testing/sqlState.ts';
import { seededVehicleIds } from '../testing/ingressTestKit.ts';
import { requestHash } from './reservationInput.ts';
import { ReservationStore } from './reservationStore.ts';

// The store and migration 007 as the application role, on a fresh database.
let db: FreshDatabase;
let app: pg.Pool;
let owner: pg.Pool;
let readonly: pg.Pool;
let store: ReservationStore;
const day = 86_400_000;

beforeAll(async () => {
  db = await createFreshDatabase('fleetstream_ingress_store');
  await migrate({ connectionString: db.urls.migrator });
  owner = new pg.Pool({ connectionString: db.urls.migrator, max: 2 });
  await seedLocalVehicles(owner);
  app = new pg.Pool({ connectionString: db.urls.app, max: 12 });
  readonly = new pg.Pool({ connectionString: db.urls.readonly, max: 1 });
  store = new ReservationStore(app);
});

afterAll(async () => {
  await Promise.all([app?.end(), owner?.end(), readonly?.end()]);
  await db?.drop();
});

function input(offsetDays: number, vehicle = 0) {
  const startsAtMs = Date.now() + offsetDays * day;
  return { vehicleId: seededVehicleIds[vehicle] as string, startsAtMs, endsAtMs: startsAtMs + day };
}

async function place(customerId: string, offsetDays: number, idempotencyKey?: string, vehicle = 0) {
  const request = input(offsetDays, vehicle);
  return store.placePending(
    { reservationId: randomUUID(), customerId, idempotencyKey, hash: requestHash(request), input: request },
    5,
  );
}

describe('withdrawing an unenqueued request (migration 007)', () => {
  it('rejects a pending row with enqueue_failed and frees its key; leaves a decided row alone', async () => {
    const customer = `w-${randomUUID()}`;
    const created = await place(customer, 2, 'key-1');
    if (created.kind !== 'created') throw new Error(created.kind);
    expect(await store.withdrawUnenqueued(created.reservationId)).toBe('withdrawn');
    const row = (
      await owner.query(
        'SELECT status, decision_reason, idempotency_key, decided_at FROM fleet.reservation_requests WHERE reservation_id = $1',
        [created.reservationId],
      )
    ).rows[0];
    expect(row).toMatchObject({
      status: 'rejected',
      decision_reason: 'enqueue_failed',
      idempotency_key: null,
    });
    expect(row.decided_at).toBeInstanceOf(Date);
    // Withdrawing twice changes nothing and reports the decided status.
    expect(await store.withdrawUnenqueued(created.reservationId)).toBe('rejected');
    // The key is free again.
    expect((await place(customer, 2, 'key-1')).kind).toBe('created');

    const settled = await place(customer, 3);
    if (settled.kind !== 'created') throw new Error(settled.kind);
    await app.query(
      `UPDATE fleet.reservation_requests SET status = 'confirmed', decided_at = now() WHERE reservation_id = $1`,
      [settled.reservationId],
    );
    expect(await store.withdrawUnenqueued(settled.reservationId)).toBe('confirmed');
    expect(await store.withdrawUnenqueued(randomUUID())).toBe('not-found');
  });

  it('is the only new power of the application role: no direct key rewrite, no DELETE, no EXECUTE for others', async () => {
    const customer = `p-${randomUUID()}`;
    const created = await place(customer, 4, 'key-p');
    if (created.kind !== 'created') throw new Error(created.kind);
    expect(
      await sqlStateOfRejection(
        app.query('UPDATE fleet.reservation_requests SET idempotency_key = NULL WHERE reservation_id = $1', [
          created.reservationId,
        ]),
      ),
    ).toBe('42501');
    expect(
      await sqlStateOfRejection(
        app.query('DELETE FROM fleet.reservation_requests WHERE reservation_id = $1', [
          created.reservationId,
        ]),
      ),
    ).toBe('42501');
    expect(
      await sqlStateOfRejection(
        readonly.query('SELECT fleet.withdraw_unenqueued_reservation_request($1)', [created.reservationId]),
      ),
    ).toBe('42501');
    const definer = (
      await owner.query(
        `SELECT p.prosecdef, p.proconfig FROM pg_proc p WHERE p.proname = 'withdraw_unenqueued_reservation_request'`,
      )
    ).rows[0];
    expect(definer).toEqual({ prosecdef: true, proconfig: ['search_path=pg_catalog, pg_temp'] });
  });
});

describe('claiming a pending request for a replay (migration 015)', () => {
  it('claims a pending row so that its first attempt can no longer withdraw it', async () => {
    const created = await place(`c-${randomUUID()}`, 5, 'key-c');
    if (created.kind !== 'created') throw new Error(created.kind);
    expect(await store.claimForReplay(created.reservationId)).toBe('claimed');
    expect(await store.withdrawUnenqueued(created.reservationId)).toBe('pending');
    const row = (
      await owner.query(
        'SELECT status, idempotency_key, relay_count, relayed_at FROM fleet.reservation_requests WHERE reservation_id = $1',
        [created.reservationId],
      )
    ).rows[0];
    expect(row).toMatchObject({ status: 'pending', idempotency_key: 'key-c', relay_count: 1 });
    expect(row.relayed_at).toBeInstanceOf(Date);
    // A second replay claims it again; the relay's count shows both.
    expect(await store.claimForReplay(created.reservationId)).toBe('claimed');
  });

  it('reports a withdrawn row, a decided row and a missing one without changing them', async () => {
    const customer = `d-${randomUUID()}`;
    const withdrawn = await place(customer, 6, 'key-w');
    const settled = await place(customer, 7);
    if (withdrawn.kind !== 'created' || settled.kind !== 'created') throw new Error('not created');
    expect(await store.withdrawUnenqueued(withdrawn.reservationId)).toBe('withdrawn');
    expect(await store.claimForReplay(withdrawn.reservationId)).toBe('withdrawn');
    await app.query(
      `UPDATE fleet.reservation_requests SET status = 'rejected', decision_reason = 'overlap', decided_at = now()
        WHERE reservation_id = $1`,
      [settled.reservationId],
    );
    expect(await store.claimForReplay(settled.reservationId)).toBe('rejected');
    expect(await store.claimForReplay(randomUUID())).toBe('not-found');
    const counts = await owner.query<{ relay_count: number }>(
      'SELECT relay_count FROM fleet.reservation_requests WHERE reservation_id = ANY($1) ORDER BY relay_count',
      [[withdrawn.reservationId, settled.reservationId]],
    );
    expect(counts.rows.map((row) => row.relay_count)).toEqual([0, 0]);
  });

  it('runs with the definer rights and pinned search_path, and only for the application role', async () => {
    const created = await place(`r-${randomUUID()}`, 8);
    if (created.kind !== 'created') throw new Error(created.kind);
    expect(
      await sqlStateOfRejection(
        readonly.query('SELECT fleet.claim_pending_request_for_replay($1)', [created.reservationId]),
      ),
    ).toBe('42501');
    expect(
      await sqlStateOfRejection(
        app.query('UPDATE fleet.reservation_requests SET relay_count = 1 WHERE reservation_id = $1', [
          created.reservationId,
        ]),
      ),
    ).toBe('42501');
    const definer = (
      await owner.query(
        `SELECT p.prosecdef, p.proconfig FROM pg_proc p WHERE p.proname = 'claim_pending_request_for_replay'`,
      )
    ).rows[0];
    expect(definer).toEqual({ prosecdef: true, proconfig: ['search_path=pg_catalog, pg_temp'] });
  });
});

describe('placing pending requests', () => {
  it('takes exactly the quota under concurrency (the per-customer lock)', async () => {
    const customer = `q-${randomUUID()}`;
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => place(customer, 2 + i, undefined, i)),
    );
    expect(outcomes.filter((o) => o.kind === 'created')).toHaveLength(5);
    expect(outcomes.filter((o) => o.kind === 'quota-exceeded')).toHaveLength(7);
  });

  it('takes exactly the quota when two ingress instances place for one customer at once', async () => {
    const customer = `q2-${randomUUID()}`;
    const other = new ReservationStore(app);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, i) => {
          const request = input(2 + i, i);
          return (i % 2 === 0 ? store : other).placePending(
            {
              reservationId: randomUUID(),
              customerId: customer,
              idempotencyKey: undefined,
              hash: requestHash(request),
              input: request,
            },
            5,
          );
        }),
      );
      expect(outcomes.filter((o) => o.kind === 'created')).toHaveLength(5);
      expect(outcomes.filter((o) => o.kind === 'quota-exceeded')).toHaveLength(7);
    } finally {
      await other.close();
    }
  });

  it('groups concurrent placements into few statements, each request with its own outcome', async () => {
    const pool = new pg.Pool({ connectionString: db.urls.app, max: 4 });
    const grouped = new ReservationStore(pool, { maxBatchSize: 32, lingerMs: 0, maxBatchesInFlight: 2 });
    const query = vi.spyOn(pool, 'query');
    try {
      const customers = Array.from({ length: 40 }, () => `g-${randomUUID()}`);
      const outcomes = await Promise.all(
        customers.map((c, i) => {
          const request = input(40 + i, i % seededVehicleIds.length);
          return grouped.placePending(
            {
              reservationId: randomUUID(),
              customerId: c,
              idempotencyKey: undefined,
              hash: requestHash(request),
              input: request,
            },
            5,
          );
        }),
      );
      expect(outcomes.every((o) => o.kind === 'created')).toBe(true);
      const statements = query.mock.calls.filter(
        ([config]) => (config as { name?: string }).name === 'ingress-place-reservation-requests',
      ).length;
      expect(statements).toBeGreaterThanOrEqual(2);
      expect(statements).toBeLessThan(customers.length / 4);
      const rows = await owner.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM fleet.reservation_requests WHERE customer_id = ANY($1)',
        [customers],
      );
      expect(rows.rows[0]?.n).toBe(customers.length);
    } finally {
      query.mockRestore();
      await grouped.close();
      await pool.end();
    }
  });

  it('fails only the request the database refuses when a batch breaks', async () => {
    const good = [`ok-${randomUUID()}`, `ok-${randomUUID()}`];
    const tooLong = 'x'.repeat(300); // violates the customer_id CHECK (1..255): a data error, not retriable
    const outcomes = await Promise.allSettled(
      [good[0]!, tooLong, good[1]!].map((customer, i) => {
        const request = input(80 + i, i);
        return store.placePending(
          {
            reservationId: randomUUID(),
            customerId: customer,
            idempotencyKey: undefined,
            hash: requestHash(request),
            input: request,
          },
          5,
        );
      }),
    );
    expect(outcomes[0]).toMatchObject({ status: 'fulfilled', value: { kind: 'created' } });
    expect(outcomes[1]).toMatchObject({
      status: 'rejected',
      reason: { name: 'DatabaseOperationError', retriable: false },
    });
    expect(outcomes[2]).toMatchObject({ status: 'fulfilled', value: { kind: 'created' } });
  });

  it("applies a batch in order: a customer's second request counts the first (migration 011)", async () => {
    const customer = `o-${randomUUID()}`;
    const first = input(90, 1);
    const second = input(92, 2);
    const result = await app.query<{ ord: number; inserted_id: string | null; open_holds: number }>(
      `SELECT ord, inserted_id, open_holds FROM fleet.place_reservation_requests(
         $1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::bytea[], $8::int[], $9::int[])
       ORDER BY ord`,
      [
        [randomUUID(), randomUUID()],
        [customer, customer],
        [first.vehicleId, second.vehicleId],
        [new Date(first.startsAtMs).toISOString(), new Date(second.startsAtMs).toISOString()],
        [new Date(first.endsAtMs).toISOString(), new Date(second.endsAtMs).toISOString()],
        [null, null],
        [requestHash(first), requestHash(second)],
        [1, 1],
        [7, 7],
      ],
    );
    expect(result.rows.map((r) => [r.ord, r.inserted_id !== null, r.open_holds])).toEqual([
      [1, true, 0],
      [2, false, 1],
    ]);
  });

  it('replays the same key and body, refuses the same key with another body, and knows unknown vehicles', async () => {
    const customer = `i-${randomUUID()}`;
    const request = input(6);
    const hash = requestHash(request);
    const first = await store.placePending(
      { reservationId: randomUUID(), customerId: customer, idempotencyKey: 'k', hash, input: request },
      5,
    );
    const again = await store.placePending(
      { reservationId: randomUUID(), customerId: customer, idempotencyKey: 'k', hash, input: request },
      5,
    );
    expect(first.kind).toBe('created');
    expect(again).toEqual({
      kind: 'replayed',
      reservationId: (first as { reservationId: string }).reservationId,
      status: 'pending',
    });
    const other = input(7);
    expect(
      await store.placePending(
        {
          reservationId: randomUUID(),
          customerId: customer,
          idempotencyKey: 'k',
          hash: requestHash(other),
          input: other,
        },
        5,
      ),
    ).toEqual({ kind: 'key-reused' });
    const ghost = { ...input(8), vehicleId: randomUUID() };
    expect(
      await store.placePending(
        {
          reservationId: randomUUID(),
          customerId: customer,
          idempotencyKey: undefined,
          hash: requestHash(ghost),
          input: ghost,
        },
        5,
      ),
    ).toEqual({ kind: 'unknown-vehicle' });
  });

  it('lists a customer newest first across pages using the 007 index order', async () => {
    const customer = `l-${randomUUID()}`;
    for (let i = 0; i < 5; i++) await place(customer, 10 + i, undefined, i);
    const first = await store.listForCustomer(customer, { limit: 3, after: null });
    const second = await store.listForCustomer(customer, { limit: 3, after: first.next });
    expect(first.reservations).toHaveLength(3);
    expect(second.reservations).toHaveLength(2);
    expect(second.next).toBeNull();
    const all = [...first.reservations, ...second.reservations];
    const times = all.map((r) => r.createdAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(new Set(all.map((r) => r.reservationId)).size).toBe(5);
    const plan = await owner.query(
      `EXPLAIN SELECT reservation_id FROM fleet.reservation_requests WHERE customer_id = $1
       ORDER BY created_at DESC, reservation_id DESC LIMIT 3`,
      [customer],
    );
    expect(JSON.stringify(plan.rows)).toContain('reservation_requests_customer_created_idx');
  });
});
