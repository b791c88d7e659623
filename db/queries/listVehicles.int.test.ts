import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrate } from '../migrator.ts';
import { InvalidQueryInputError } from '../pgErrors.ts';
import { createPool } from '../pool.ts';
import { localVehicleCatalog, seedLocalVehicles } from '../seeds/localVehicleCatalog.ts';
import { createFreshDatabase, type FreshDatabase } from '../testing/freshDatabase.ts';
import { listVehicles } from './listVehicles.ts';

let db: FreshDatabase;
let app: pg.Pool;
const retiredId = '00000000-0000-4000-8000-000000000001';

beforeAll(async () => {
  db = await createFreshDatabase();
  await migrate({ connectionString: db.urls.migrator });
  const migrator = new pg.Client({ connectionString: db.urls.migrator });
  await migrator.connect();
  try {
    expect(await seedLocalVehicles(migrator)).toEqual({ inserted: 50, total: 50 });
    expect(await seedLocalVehicles(migrator)).toEqual({ inserted: 0, total: 50 });
    // Sorts before every seeded id, so a listing that forgot `active` would show it first.
    await migrator.query(
      `INSERT INTO fleet.vehicles (id, display_name, vehicle_class, depot_code, daily_rate_minor, currency, active)
       VALUES ($1, 'Retired van', 'van', 'BER-01', 100, 'EUR', false)`,
      [retiredId],
    );
  } finally {
    await migrator.end();
  }
  app = createPool({ connectionString: db.urls.app, applicationName: 'db-list-vehicles-test', max: 2 });
});

afterAll(async () => {
  await app?.end();
  await db?.drop();
});

async function pageThrough(limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let afterId: string | null = null;
  let pages = 0;
  do {
    const page = await listVehicles(app, { limit, afterId });
    pages += 1;
    expect(page.vehicles.length).toBeLessThanOrEqual(limit);
    ids.push(...page.vehicles.map((v) => v.vehicleId));
    afterId = page.nextAfterId;
  } while (afterId !== null && pages < 100);
  return { ids, pages };
}

it('pages through the seeded catalog in id order with no duplicates and no gaps', async () => {
  const expected = localVehicleCatalog()
    .map((v) => v.id)
    .sort();
  const { ids, pages } = await pageThrough(7);

  expect(ids).toEqual(expected);
  expect(new Set(ids).size).toBe(50);
  expect(pages).toBe(8);
  expect(ids).not.toContain(retiredId);
});

it('ends with a null cursor when the last page is exactly full', async () => {
  const { ids, pages } = await pageThrough(25);
  expect(ids).toHaveLength(50);
  expect(pages).toBe(2);
});

it('returns the catalog fields of each vehicle', async () => {
  const page = await listVehicles(app, { limit: 1, afterId: null });
  const first = localVehicleCatalog().sort((a, b) => a.id.localeCompare(b.id))[0]!;
  expect(page.vehicles).toEqual([
    {
      vehicleId: first.id,
      displayName: first.displayName,
      vehicleClass: first.vehicleClass,
      depotCode: first.depotCode,
      dailyRateMinor: first.dailyRateMinor,
      currency: 'EUR',
    },
  ]);
});

it('refuses a bad limit or cursor before querying', async () => {
  await expect(listVehicles(app, { limit: 0, afterId: null })).rejects.toBeInstanceOf(InvalidQueryInputError);
  await expect(listVehicles(app, { limit: 101, afterId: null })).rejects.toBeInstanceOf(
    InvalidQueryInputError,
  );
  await expect(listVehicles(app, { limit: 10, afterId: 'not-a-uuid' })).rejects.toMatchObject({
    parameter: 'cursor',
    retriable: false,
  });
});

it('the first page and a deep page are both served by the active-id index', async () => {
  const client = await app.connect();
  try {
    await client.query('SET enable_seqscan = off');
    const plan = await client.query(
      `EXPLAIN SELECT id FROM fleet.vehicles WHERE active AND id > $1 ORDER BY id LIMIT 11`,
      [localVehicleCatalog()[0]!.id],
    );
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/vehicles_active_id_idx/);
  } finally {
    client.release();
  }
});
