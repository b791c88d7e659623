import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from './migrator.ts';
import { createPool } from './pool.ts';
import { seedLocalVehicles } from './seeds/localVehicleCatalog.ts';
import { createFreshDatabase, type FreshDatabase } from './testing/freshDatabase.ts';
import { sqlStateOfRejection } from './testing/sqlState.ts';

let db: FreshDatabase;
let app: pg.Pool;
let vehicles: string[];

beforeAll(async () => {
  db = await createFreshDatabase();
  await migrate({ connectionString: db.urls.migrator });
  const migrator = new pg.Client({ connectionString: db.urls.migrator });
  await migrator.connect();
  try {
    await seedLocalVehicles(migrator);
    const rows = await migrator.query<{ id: string }>('SELECT id FROM fleet.vehicles ORDER BY id LIMIT 10');
    vehicles = rows.rows.map((r) => r.id);
  } finally {
    await migrator.end();
  }
  // Everything below runs as the application role, as the workers will.
  app = createPool({ connectionString: db.urls.app, applicationName: 'db-constraints-test', max: 8 });
});

afterAll(async () => {
  await app?.end();
  await db?.drop();
});

const vehicle = (index: number): string => vehicles[index]!;

/** Records a pending request as the ingress would; returns its reservation id. */
async function request(vehicleId: string, period: string | null, customer = 'customer-1'): Promise<string> {
  const id = randomUUID();
  await app.query(
    `INSERT INTO fleet.reservation_requests (reservation_id, customer_id, vehicle_id, requested_period, request_hash)
     VALUES ($1, $2, $3, $4::tstzrange, $5)`,
    [id, customer, vehicleId, period, createHash('sha256').update(id).digest()],
  );
  return id;
}

/** Books a request's vehicle for `period` as the settler would (confirmed). */
function book(id: string, vehicleId: string, period: string | null, db: pg.Pool | pg.PoolClient = app) {
  return db.query(
    `INSERT INTO fleet.reservations (id, vehicle_id, customer_id, period) VALUES ($1, $2, 'customer-1', $3::tstzrange)`,
    [id, vehicleId, period],
  );
}

async function requestAndBook(vehicleId: string, period: string) {
  const id = await request(vehicleId, period);
  return { id, result: book(id, vehicleId, period) };
}

describe('no double-booking', () => {
  it('refuses a second confirmed booking overlapping the first on one vehicle with 23P01', async () => {
    await (await requestAndBook(vehicle(0), '[2030-01-10 10:00Z,2030-01-12 10:00Z)')).result;
    const second = await requestAndBook(vehicle(0), '[2030-01-11 00:00Z,2030-01-13 00:00Z)');
    expect(await sqlStateOfRejection(second.result)).toBe('23P01');
  });

  it('allows back-to-back bookings [a,b) and [b,c) of one vehicle', async () => {
    await (await requestAndBook(vehicle(1), '[2030-02-01 10:00Z,2030-02-03 10:00Z)')).result;
    const next = await requestAndBook(vehicle(1), '[2030-02-03 10:00Z,2030-02-05 10:00Z)');
    expect((await next.result).rowCount).toBe(1);
  });

  it('allows the same period on different vehicles', async () => {
    const period = '[2030-03-01 10:00Z,2030-03-03 10:00Z)';
    expect((await (await requestAndBook(vehicle(2), period)).result).rowCount).toBe(1);
    expect((await (await requestAndBook(vehicle(3), period)).result).rowCount).toBe(1);
  });

  it('a cancelled booking frees the vehicle, and cannot be revived over the new one', async () => {
    const period = '[2030-04-01 10:00Z,2030-04-03 10:00Z)';
    const first = await requestAndBook(vehicle(4), period);
    await first.result;
    await app.query(
      `UPDATE fleet.reservations SET status = 'cancelled', cancelled_at = now() WHERE id = $1`,
      [first.id],
    );
    expect((await (await requestAndBook(vehicle(4), period)).result).rowCount).toBe(1);

    const revive = app.query(
      `UPDATE fleet.reservations SET status = 'confirmed', cancelled_at = NULL WHERE id = $1`,
      [first.id],
    );
    expect(await sqlStateOfRejection(revive)).toBe('23514');
  });

  it('ON CONFLICT DO NOTHING turns an overlap into zero rows instead of an error', async () => {
    const period = '[2030-05-01 10:00Z,2030-05-02 10:00Z)';
    await (await requestAndBook(vehicle(5), period)).result;
    const id = await request(vehicle(5), period);
    const result = await app.query(
      `INSERT INTO fleet.reservations (id, vehicle_id, customer_id, period)
       VALUES ($1, $2, 'customer-1', $3::tstzrange) ON CONFLICT DO NOTHING`,
      [id, vehicle(5), period],
    );
    expect(result.rowCount).toBe(0);
  });

  it('of many concurrent overlapping bookings on separate connections exactly one commits', async () => {
    const period = '[2030-06-01 10:00Z,2030-06-08 10:00Z)';
    const ids = await Promise.all(Array.from({ length: 8 }, () => request(vehicle(6), period)));
    const outcomes = await Promise.all(ids.map((id) => sqlStateOfRejection(book(id, vehicle(6), period))));

    expect(outcomes.filter((o) => o === 'resolved')).toHaveLength(1);
    // A conflict is a final 23P01; a deadlock (40P01) would be retried by the settler.
    expect(outcomes.filter((o) => o !== 'resolved').every((o) => o === '23P01' || o === '40P01')).toBe(true);
    const confirmed = await app.query(
      `SELECT count(*)::int AS n FROM fleet.reservations WHERE vehicle_id = $1 AND status = 'confirmed'`,
      [vehicle(6)],
    );
    expect(confirmed.rows[0].n).toBe(1);
  });
});

describe('periods', () => {
  it.each([
    ['an empty range', '[2030-07-01 10:00Z,2030-07-01 10:00Z)', '23514'],
    ['an infinite upper bound', '[2030-07-01 10:00Z,)', '23514'],
    ['an infinite lower bound', '(,2030-07-01 10:00Z)', '23514'],
    ['an inclusive upper bound', '[2030-07-01 10:00Z,2030-07-02 10:00Z]', '23514'],
    ['an exclusive lower bound', '(2030-07-01 10:00Z,2030-07-02 10:00Z)', '23514'],
    ['a NULL period', null, '23502'],
  ])('a booking with %s is refused', async (_label, period, state) => {
    const id = await request(vehicle(7), '[2030-07-01 10:00Z,2030-07-02 10:00Z)');
    expect(await sqlStateOfRejection(book(id, vehicle(7), period))).toBe(state);
  });

  it('a request with an empty or NULL period is refused as well', async () => {
    expect(await sqlStateOfRejection(request(vehicle(7), 'empty'))).toBe('23514');
    expect(await sqlStateOfRejection(request(vehicle(7), null))).toBe('23502');
  });
});

describe('bookings and decisions', () => {
  it('a booking needs its request and a known vehicle', async () => {
    const period = '[2030-08-01 10:00Z,2030-08-02 10:00Z)';
    expect(await sqlStateOfRejection(book(randomUUID(), vehicle(8), period))).toBe('23503');
    const id = await request(randomUUID(), period);
    expect(await sqlStateOfRejection(book(id, randomUUID(), period))).toBe('23503');
  });

  it('a request is decided exactly once; the decision cannot be changed afterwards', async () => {
    const id = await request(vehicle(9), '[2030-09-01 10:00Z,2030-09-02 10:00Z)');
    const decide = (status: string, offset: number) =>
      app.query(
        `UPDATE fleet.reservation_requests
            SET status = $2, decided_at = now(), decision_reason = 'vehicle_unavailable', decided_partition = 3, decided_offset = $3
          WHERE reservation_id = $1`,
        [id, status, offset],
      );
    expect((await decide('rejected', 41)).rowCount).toBe(1);
    expect(await sqlStateOfRejection(decide('confirmed', 42))).toBe('23514');
    expect(await sqlStateOfRejection(decide('rejected', 42))).toBe('23514');
    const row = await app.query(
      'SELECT status, decided_offset FROM fleet.reservation_requests WHERE reservation_id = $1',
      [id],
    );
    expect(row.rows[0]).toEqual({ status: 'rejected', decided_offset: '41' });
  });

  it('the guarded decision UPDATE … WHERE status = pending matches nothing on a replay', async () => {
    const id = await request(vehicle(9), '[2030-09-05 10:00Z,2030-09-06 10:00Z)');
    const decide = () =>
      app.query(
        `UPDATE fleet.reservation_requests SET status = 'confirmed', decided_at = now(), decided_partition = 0, decided_offset = 7
          WHERE reservation_id = $1 AND status = 'pending'`,
        [id],
      );
    expect((await decide()).rowCount).toBe(1);
    expect((await decide()).rowCount).toBe(0);
  });

  it('a rejection must carry a reason, and a decision its time', async () => {
    const id = await request(vehicle(9), '[2030-09-10 10:00Z,2030-09-11 10:00Z)');
    const noReason = app.query(
      `UPDATE fleet.reservation_requests SET status = 'rejected', decided_at = now() WHERE reservation_id = $1`,
      [id],
    );
    expect(await sqlStateOfRejection(noReason)).toBe('23514');
    const noTime = app.query(
      `UPDATE fleet.reservation_requests SET status = 'confirmed' WHERE reservation_id = $1`,
      [id],
    );
    expect(await sqlStateOfRejection(noTime)).toBe('23514');
  });

  it('an Idempotency-Key is unique per customer, not across customers', async () => {
    const insert = (customer: string) =>
      app.query(
        `INSERT INTO fleet.reservation_requests
           (reservation_id, customer_id, vehicle_id, requested_period, idempotency_key, request_hash)
         VALUES ($1, $2, $3, '[2030-10-01 10:00Z,2030-10-02 10:00Z)', 'key-1', $4)`,
        [randomUUID(), customer, vehicle(0), Buffer.alloc(32)],
      );
    await insert('customer-a');
    await insert('customer-b');
    expect(await sqlStateOfRejection(insert('customer-a'))).toBe('23505');
  });

  it("counting a customer's open holds uses the partial index", async () => {
    const client = await app.connect();
    try {
      // A handful of rows would make a sequential scan cheaper; the plan shape is what matters.
      await client.query('SET enable_seqscan = off');
      const plan = await client.query(
        `EXPLAIN SELECT count(*) FROM fleet.reservation_requests
          WHERE customer_id = $1 AND status IN ('pending', 'confirmed') AND upper(requested_period) > now()`,
        ['customer-1'],
      );
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(
        /reservation_requests_customer_open_idx/,
      );
    } finally {
      client.release();
    }
  });
});
