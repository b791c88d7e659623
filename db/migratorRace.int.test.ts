import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureRolesAndDatabase } from './bootstrap.ts';
import { loadDatabaseConfig } from './config.ts';
import { readMigrationFiles } from './migrationFiles.ts';
import { migrate } from './migrator.ts';
import { createFreshDatabase, type FreshDatabase } from './testing/freshDatabase.ts';

let racing: FreshDatabase;
let asSuperuser: FreshDatabase;

beforeAll(async () => {
  [racing, asSuperuser] = await Promise.all([createFreshDatabase(), createFreshDatabase()]);
});

afterAll(async () => {
  await Promise.all([racing?.drop(), asSuperuser?.drop()]);
});

it('two migrators racing apply each migration exactly once', async () => {
  const files = await readMigrationFiles();
  const [first, second] = await Promise.all([
    migrate({ connectionString: racing.urls.migrator }),
    migrate({ connectionString: racing.urls.migrator }),
  ]);

  const appliedByEither = [...first.applied, ...second.applied].map((m) => m.version);
  expect(appliedByEither.sort((a, b) => a - b)).toEqual(files.map((f) => f.version));
  // The loser waited for the lock and then found everything applied.
  expect([first.applied.length, second.applied.length].sort()).toEqual([0, files.length]);

  const client = new pg.Client({ connectionString: racing.urls.migrator });
  await client.connect();
  try {
    const rows = await client.query(
      'SELECT version, count(*)::int AS n FROM fleet.schema_migrations GROUP BY version',
    );
    expect(rows.rowCount).toBe(files.length);
    expect(rows.rows.every((r) => r.n === 1)).toBe(true);
  } finally {
    await client.end();
  }
});

it('bootstraps racing on the same database both succeed and change nothing', async () => {
  const { adminUrl } = loadDatabaseConfig();
  const reports = await Promise.all([
    ensureRolesAndDatabase({ adminUrl, database: racing.name }),
    ensureRolesAndDatabase({ adminUrl, database: racing.name }),
  ]);
  for (const report of reports) {
    expect(report.actions).toEqual([
      'role fleetstream_migrator: exists',
      'role fleetstream_app: exists',
      'role fleetstream_readonly: exists',
      `database ${racing.name}: exists`,
    ]);
  }
});

it('a superuser running the migrations still leaves every object owned by the migrator role', async () => {
  await migrate({ connectionString: asSuperuser.urls.admin });

  const client = new pg.Client({ connectionString: asSuperuser.urls.admin });
  await client.connect();
  try {
    const owners = await client.query(
      `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'fleet' AND c.relkind IN ('r', 'i', 'S')`,
    );
    expect(owners.rows.map((r) => r.owner)).toEqual(['fleetstream_migrator']);
    const applied = await client.query('SELECT DISTINCT applied_by FROM fleet.schema_migrations');
    expect(applied.rows.map((r) => r.applied_by)).toEqual(['fleetstream_migrator']);
  } finally {
    await client.end();
  }
});
