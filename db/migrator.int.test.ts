import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MigrationChecksumError,
  MigrationFailedError,
  MissingMigrationFileError,
  OutOfOrderMigrationError,
} from './migrationErrors.ts';
import { defaultMigrationsDir, readMigrationFiles } from './migrationFiles.ts';
import { migrate, migrationStatus } from './migrator.ts';
import { createFreshDatabase, type FreshDatabase } from './testing/freshDatabase.ts';

let db: FreshDatabase;
let workDir: string;

async function bookkeeping(url: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(
      'SELECT version, name, checksum, applied_at, applied_by FROM fleet.schema_migrations ORDER BY version',
    );
    return result.rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await createFreshDatabase();
  workDir = await mkdtemp(path.join(tmpdir(), 'fleetstream-migrations-'));
  await cp(defaultMigrationsDir, workDir, { recursive: true });
});

afterAll(async () => {
  await db?.drop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

// The steps build on each other (one database); tests of a file run in order unless marked concurrent.
describe('migrate', () => {
  it('applies every migration in order on a fresh database and records its checksum', async () => {
    const files = await readMigrationFiles();
    const result = await migrate({ connectionString: db.urls.migrator });

    expect(result.alreadyApplied).toBe(0);
    expect(result.applied.map((m) => m.fileName)).toEqual(files.map((f) => f.fileName));
    const rows = (await bookkeeping(db.urls.migrator)) as {
      version: number;
      checksum: string;
      applied_by: string;
    }[];
    expect(rows.map((r) => [r.version, r.checksum])).toEqual(files.map((f) => [f.version, f.checksum]));
    expect(new Set(rows.map((r) => r.applied_by))).toEqual(new Set(['fleetstream_migrator']));
  });

  it('is a no-op the second time and leaves schema_migrations unchanged', async () => {
    const before = await bookkeeping(db.urls.migrator);
    const result = await migrate({ connectionString: db.urls.migrator });

    expect(result.applied).toEqual([]);
    expect(result.alreadyApplied).toBe(before.length);
    expect(await bookkeeping(db.urls.migrator)).toEqual(before);
  });

  it('refuses to run when an applied migration was changed, naming the file', async () => {
    const target = path.join(workDir, '002_vehicles.sql');
    await writeFile(target, '-- edited after release\n', { flag: 'a' });
    const before = await bookkeeping(db.urls.migrator);

    const attempt = migrate({ connectionString: db.urls.migrator, migrationsDir: workDir });
    await expect(attempt).rejects.toBeInstanceOf(MigrationChecksumError);
    await expect(attempt).rejects.toThrow(/002_vehicles\.sql/);
    await expect(attempt).rejects.toMatchObject({ retriable: false });
    expect(await bookkeeping(db.urls.migrator)).toEqual(before);

    const statuses = await migrationStatus({ connectionString: db.urls.migrator, migrationsDir: workDir });
    expect(statuses.find((s) => s.version === 2)?.state).toBe('changed');
    await cp(path.join(defaultMigrationsDir, '002_vehicles.sql'), target);
  });

  it('rolls a failing migration back entirely and records nothing of it', async () => {
    const files = await readdir(workDir);
    const next = String(files.length + 1).padStart(3, '0');
    await writeFile(
      path.join(workDir, `${next}_broken.sql`),
      'CREATE TABLE fleet.half_done (id int);\nSELECT * FROM fleet.no_such_table;\n',
    );

    const attempt = migrate({ connectionString: db.urls.migrator, migrationsDir: workDir });
    await expect(attempt).rejects.toBeInstanceOf(MigrationFailedError);
    await expect(attempt).rejects.toThrow(new RegExp(`${next}_broken\\.sql`));

    const client = new pg.Client({ connectionString: db.urls.migrator });
    await client.connect();
    try {
      const table = await client.query(`SELECT to_regclass('fleet.half_done') AS t`);
      expect(table.rows[0].t).toBeNull();
      const recorded = await client.query('SELECT 1 FROM fleet.schema_migrations WHERE version = $1', [
        Number(next),
      ]);
      expect(recorded.rowCount).toBe(0);
    } finally {
      await client.end();
    }
    await rm(path.join(workDir, `${next}_broken.sql`));
  });

  it('refuses a pending migration numbered below an applied one', async () => {
    const extra = path.join(workDir, '099_later.sql');
    await writeFile(extra, 'CREATE TABLE fleet.later (id int);\n');
    await migrate({ connectionString: db.urls.migrator, migrationsDir: workDir });
    await writeFile(path.join(workDir, '050_forgotten.sql'), 'SELECT 1;\n');

    await expect(
      migrate({ connectionString: db.urls.migrator, migrationsDir: workDir }),
    ).rejects.toBeInstanceOf(OutOfOrderMigrationError);
    await rm(path.join(workDir, '050_forgotten.sql'));
  });

  it('refuses to run when an applied migration has no file (a build older than the database)', async () => {
    await rm(path.join(workDir, '099_later.sql'));
    await expect(migrate({ connectionString: db.urls.migrator })).rejects.toBeInstanceOf(
      MissingMigrationFileError,
    );
    const statuses = await migrationStatus({ connectionString: db.urls.migrator });
    expect(statuses.find((s) => s.version === 99)?.state).toBe('missing-file');
  });
});
