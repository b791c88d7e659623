import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from './migrator.ts';
import { seedLocalVehicles } from './seeds/localVehicleCatalog.ts';
import { createFreshDatabase, type FreshDatabase } from './testing/freshDatabase.ts';
import { sqlStateOfRejection } from './testing/sqlState.ts';

let db: FreshDatabase;
let app: pg.Client;
let readonly: pg.Client;
let migrator: pg.Client;
let vehicleId: string;
let requestId: string;

const period = '[2031-01-01 10:00Z,2031-01-02 10:00Z)';

beforeAll(async () => {
  db = await createFreshDatabase();
  await migrate({ connectionString: db.urls.migrator });
  migrator = new pg.Client({ connectionString: db.urls.migrator });
  app = new pg.Client({ connectionString: db.urls.app });
  readonly = new pg.Client({ connectionString: db.urls.readonly });
  await Promise.all([migrator.connect(), app.connect(), readonly.connect()]);
  await seedLocalVehicles(migrator);
  vehicleId = (await migrator.query<{ id: string }>('SELECT id FROM fleet.vehicles LIMIT 1')).rows[0]!.id;
  requestId = randomUUID();
  await app.query(
    `INSERT INTO fleet.reservation_requests (reservation_id, customer_id, vehicle_id, requested_period, request_hash)
     VALUES ($1, 'c1', $2, $3, $4)`,
    [requestId, vehicleId, period, Buffer.alloc(32)],
  );
  await app.query(
    `INSERT INTO fleet.reservations (id, vehicle_id, customer_id, period) VALUES ($1, $2, 'c1', $3)`,
    [requestId, vehicleId, period],
  );
});

afterAll(async () => {
  await Promise.all([migrator?.end(), app?.end(), readonly?.end()]);
  await db?.drop();
});

describe('the application role', () => {
  it.each([
    ['CREATE TABLE in fleet', 'CREATE TABLE fleet.intruder (id int)'],
    ['CREATE TABLE in public', 'CREATE TABLE public.intruder (id int)'],
    ['CREATE SCHEMA', 'CREATE SCHEMA intruder'],
    ['CREATE TEMP TABLE', 'CREATE TEMP TABLE intruder (id int)'],
    ['DROP TABLE', 'DROP TABLE fleet.reservations'],
    ['ALTER TABLE', 'ALTER TABLE fleet.reservations DROP CONSTRAINT reservations_no_overlap'],
    ['CREATE INDEX', 'CREATE INDEX intruder_idx ON fleet.vehicles (display_name)'],
    ['TRUNCATE', 'TRUNCATE fleet.reservations'],
    ['DELETE a booking', 'DELETE FROM fleet.reservations'],
    ['DELETE a request', 'DELETE FROM fleet.reservation_requests'],
    ['DELETE a vehicle', 'DELETE FROM fleet.vehicles'],
    ['DELETE a fence', 'DELETE FROM fleet.consumer_fences'],
    ['write the catalog', `UPDATE fleet.vehicles SET active = false`],
    ['move a booking', `UPDATE fleet.reservations SET period = '[2031-02-01,2031-02-02)'`],
    ['reassign a request', `UPDATE fleet.reservation_requests SET customer_id = 'someone-else'`],
    [
      'insert an already decided request',
      `INSERT INTO fleet.reservation_requests (reservation_id, customer_id, vehicle_id, requested_period, request_hash, status, decided_at)
       VALUES (gen_random_uuid(), 'c1', gen_random_uuid(), '${period}', '\\x${'00'.repeat(32)}', 'confirmed', now())`,
    ],
    [
      'write migration history',
      `INSERT INTO fleet.schema_migrations VALUES (999, 'x', '${'0'.repeat(64)}', now(), 'x', 0)`,
    ],
  ])('cannot %s (42501)', async (_label, sql) => {
    expect(await sqlStateOfRejection(app.query(sql))).toBe('42501');
  });

  it('does the DML the workers need', async () => {
    await app.query(
      `UPDATE fleet.reservation_requests SET status = 'confirmed', decided_at = now() WHERE reservation_id = $1`,
      [requestId],
    );
    const cancelled = await app.query(
      `UPDATE fleet.reservations SET status = 'cancelled', cancelled_at = now() WHERE id = $1`,
      [requestId],
    );
    expect(cancelled.rowCount).toBe(1);
    await app.query(
      `INSERT INTO fleet.consumer_fences (consumer_group, topic, partition, next_offset) VALUES ('g', 't', 0, 0)`,
    );
    const fenced = await app.query(
      `UPDATE fleet.consumer_fences SET next_offset = 5 WHERE consumer_group = 'g' AND topic = 't' AND partition = 0 AND next_offset = $1`,
      [0],
    );
    expect(fenced.rowCount).toBe(1);
    const event = randomUUID();
    await app.query(
      `INSERT INTO fleet.outbox (event_id, topic, message_key, value) VALUES ($1, 't', 'k', '\\x00')`,
      [event],
    );
    expect(
      await sqlStateOfRejection(app.query('DELETE FROM fleet.outbox WHERE event_id = $1', [event])),
    ).toBe('23514');
    await app.query('UPDATE fleet.outbox SET published_at = now() WHERE event_id = $1', [event]);
    expect((await app.query('DELETE FROM fleet.outbox WHERE event_id = $1', [event])).rowCount).toBe(1);
    expect((await app.query('SELECT count(*)::int AS n FROM fleet.vehicles')).rows[0].n).toBe(50);
  });

  it('holds no cluster-level power', async () => {
    const roles = await migrator.query(
      `SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin
         FROM pg_roles WHERE rolname LIKE 'fleetstream\\_%' ORDER BY rolname`,
    );
    expect(roles.rows).toHaveLength(3);
    for (const role of roles.rows) {
      expect(role).toMatchObject({
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolreplication: false,
        rolbypassrls: false,
        rolcanlogin: true,
      });
    }
  });
});

describe('the readonly role', () => {
  it('reads every table', async () => {
    for (const table of [
      'vehicles',
      'reservations',
      'reservation_requests',
      'outbox',
      'consumer_fences',
      'schema_migrations',
    ]) {
      await expect(readonly.query(`SELECT count(*) FROM fleet.${table}`)).resolves.toBeDefined();
    }
  });

  it('cannot write: its sessions are read-only, and without that it lacks the privilege', async () => {
    const insert = `INSERT INTO fleet.consumer_fences (consumer_group, topic, partition, next_offset) VALUES ('ops', 't', 0, 0)`;
    expect(await sqlStateOfRejection(readonly.query(insert))).toBe('25006');
    await readonly.query('BEGIN READ WRITE');
    try {
      expect(await sqlStateOfRejection(readonly.query(insert))).toBe('42501');
    } finally {
      await readonly.query('ROLLBACK');
    }
    await readonly.query('BEGIN READ WRITE');
    try {
      expect(await sqlStateOfRejection(readonly.query('CREATE TABLE fleet.ops_scratch (id int)'))).toBe(
        '42501',
      );
    } finally {
      await readonly.query('ROLLBACK');
    }
  });
});

describe('default privileges', () => {
  it('a table the migrator creates later is readable by app and readonly, writable by neither', async () => {
    await migrator.query('CREATE TABLE fleet.added_later (id int)');
    await expect(app.query('SELECT * FROM fleet.added_later')).resolves.toBeDefined();
    await expect(readonly.query('SELECT * FROM fleet.added_later')).resolves.toBeDefined();
    expect(await sqlStateOfRejection(app.query('INSERT INTO fleet.added_later VALUES (1)'))).toBe('42501');
  });
});
