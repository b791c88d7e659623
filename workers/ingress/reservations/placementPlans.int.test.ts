import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../../db/migrator.ts';
import { seedLocalVehicles } from '../../../db/seeds/localVehicleCatalog.ts';
import { createFreshDatabase, type FreshDatabase } from '../../../db/testing/freshDatabase.ts';
import { seededVehicleIds } from '../testing/ingressTestKit.ts';

// Migration 012: the placement functions' plans, cached on empty tables, still probe indexes
// after the inbox has grown. auto_explain (loaded by the superuser session, which calls the
// functions itself) reports the plan each nested statement ran with.
let db: FreshDatabase;
let owner: pg.Pool;
let session: pg.Client;
const notices: string[] = [];
const day = 86_400_000;

beforeAll(async () => {
  db = await createFreshDatabase('fleetstream_placement_plans');
  await migrate({ connectionString: db.urls.migrator });
  owner = new pg.Pool({ connectionString: db.urls.migrator, max: 1 });
  await seedLocalVehicles(owner);
  session = new pg.Client({ connectionString: db.urls.admin });
  await session.connect();
  session.on('notice', (notice) => notices.push(notice.message ?? ''));
  await session.query(`LOAD 'auto_explain'`);
});

afterAll(async () => {
  await session?.end();
  await owner?.end();
  await db?.drop();
});

/** Places one request for `customerId` through the batch function (as the ingress does). */
async function place(customerId: string): Promise<void> {
  const startsAt = Date.now() + 2 * day + Math.floor(Math.random() * 1000) * day;
  await session.query('SELECT * FROM fleet.place_reservation_requests($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
    [randomUUID()],
    [customerId],
    [seededVehicleIds[0]],
    [new Date(startsAt).toISOString()],
    [new Date(startsAt + day).toISOString()],
    [randomUUID()],
    [Buffer.alloc(32, 7)],
    [1_000_000],
    [42],
  ]);
}

describe('the placement functions (migration 012)', () => {
  it('run with generic plans and index-only settings', async () => {
    const config = await owner.query<{ name: string; config: string[] }>(
      `SELECT p.proname AS name, p.proconfig AS config FROM pg_proc p
        WHERE p.pronamespace = 'fleet'::regnamespace AND p.proname LIKE 'place_reservation_request%'
        ORDER BY p.proname`,
    );
    expect(config.rows.map((r) => r.name)).toEqual([
      'place_reservation_request',
      'place_reservation_requests',
    ]);
    for (const row of config.rows) {
      expect(row.config).toEqual(
        expect.arrayContaining([
          'plan_cache_mode=force_generic_plan',
          'enable_seqscan=off',
          'enable_hashjoin=off',
          'enable_mergejoin=off',
        ]),
      );
    }
  });

  it('keep index plans cached while the inbox was empty after it has grown, and re-plan after ANALYZE', async () => {
    // The session caches its plans now, on an inbox of a few rows without statistics: a fresh
    // deployment's first minutes.
    await addRequests(1, 30);
    for (let i = 0; i < 6; i++) await place('plan-customer');
    await addRequests(31, 20_000);
    await session.query('SET auto_explain.log_min_duration = 0');
    await session.query('SET auto_explain.log_nested_statements = on');

    const cached = await placementPlan();
    expect(cached).toMatch(
      /(Index|Index Only|Bitmap Index) Scan (using|on) reservation_requests_customer_open_idx/,
    );
    expect(cached).not.toMatch(/Seq Scan|Hash Join|Merge Join/);

    // ANALYZE (autovacuum's, in production) invalidates the cached plan: the next one is made
    // from the new statistics and finds the idempotency key through its unique index.
    await owner.query('ANALYZE fleet.reservation_requests');
    const replanned = await placementPlan();
    expect(replanned).toMatch(/Index Scan using reservation_requests_idempotency_key_unique/);
    expect(replanned).not.toMatch(/Seq Scan|Hash Join|Merge Join/);
  });
});

/** Inserts requests number `from`..`to` for 50 bulk customers, as the owner (no statistics are gathered). */
async function addRequests(from: number, to: number): Promise<void> {
  await owner.query(
    `INSERT INTO fleet.reservation_requests (reservation_id, customer_id, vehicle_id, requested_period, idempotency_key, request_hash)
     SELECT gen_random_uuid(), 'bulk-' || (i % 50), $1::uuid,
            tstzrange(now() + i * interval '1 hour', now() + (i + 1) * interval '1 hour', '[)'),
            'key-' || i, sha256(int4send(i))
       FROM generate_series($2::int, $3::int) AS i`,
    [seededVehicleIds[1], from, to],
  );
}

/** The plan auto_explain reports for 009's placement statement during one more placement. */
async function placementPlan(): Promise<string> {
  notices.length = 0;
  await session.query('SET client_min_messages = log');
  try {
    await place('plan-customer');
  } finally {
    await session.query('SET client_min_messages = notice');
  }
  const plan = notices.find((n) => n.includes('Insert on reservation_requests'));
  if (plan === undefined)
    throw new Error(`no plan of the placement statement among ${notices.length} notices`);
  return plan;
}
