import pg from 'pg';
import { advisoryLockIds, advisoryLockNamespace } from './advisoryLockKeys.ts';
import { redactConnectionUrl } from './connectionUrls.ts';
import {
  MigrationChecksumError,
  MigrationError,
  MigrationFailedError,
  MigrationFileError,
  MigrationLockTimeoutError,
  MissingMigrationFileError,
  OutOfOrderMigrationError,
} from './migrationErrors.ts';
import { defaultMigrationsDir, type MigrationFile, readMigrationFiles } from './migrationFiles.ts';
import { DatabaseOperationError, sqlStateOf, sqlStates } from './pgErrors.ts';
import { dbRoles, fleetSchema } from './roles.ts';

/** Where and how to migrate. */
export interface MigrateOptions {
  /** The migrator role's connection (MIGRATION_DATABASE_URL). */
  connectionString: string;
  migrationsDir?: string;
  /** How long to wait for another migrator to finish before failing (retriable). */
  lockTimeoutMs?: number;
  /**
   * How long one migration may wait for a table lock. A DDL statement queued behind a long
   * transaction blocks every query queued behind it, so it gives up instead (retriable).
   */
  ddlLockTimeoutMs?: number;
  /** The role that must own everything migrations create; a session logged in as another member switches to it. */
  ownerRole?: string;
  log?: (line: string) => void;
}

/** One migration applied by this run. */
export interface AppliedMigration {
  version: number;
  name: string;
  fileName: string;
  checksum: string;
  durationMs: number;
}

/** What a `migrate` run did. */
export interface MigrateResult {
  applied: AppliedMigration[];
  /** Migrations that were already recorded and left alone. */
  alreadyApplied: number;
}

/** One migration's standing, as `status` reports it. */
export interface MigrationStatus {
  version: number;
  name: string;
  state: 'applied' | 'pending' | 'changed' | 'missing-file';
  appliedAt: Date | null;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
}

const bookkeepingTable = `${fleetSchema}.schema_migrations`;

/**
 * Applies every pending migration in version order, each in its own transaction, exactly once:
 * the whole run holds a session advisory lock, so concurrent migrators queue and the later one
 * finds nothing to do. Refuses to run when an applied migration's file changed or disappeared.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const files = await readMigrationFiles(options.migrationsDir ?? defaultMigrationsDir);
  const log = options.log ?? (() => {});
  const client = await connect(options.connectionString);
  try {
    await assumeOwnerRole(client, options.ownerRole ?? dbRoles.migrator);
    // The lock is session-level and this client is used for nothing else: closing the
    // connection (below, or by the process dying) is what releases it.
    await acquireMigrationLock(client, options.lockTimeoutMs ?? 120_000);
    await client.query(`SET lock_timeout = ${Math.trunc(options.ddlLockTimeoutMs ?? 15_000)}`);
    await ensureBookkeeping(client);
    const applied = await readApplied(client);
    const pending = planPending(files, applied);
    const done: AppliedMigration[] = [];
    for (const migration of pending) {
      const result = await applyOne(client, migration);
      done.push(result);
      log(`applied ${migration.fileName} (${result.durationMs} ms)`);
    }
    return { applied: done, alreadyApplied: applied.length };
  } finally {
    await client.end();
  }
}

/** Compares the migration files with what the database recorded, without changing anything. */
export async function migrationStatus(
  options: Pick<MigrateOptions, 'connectionString' | 'migrationsDir'>,
): Promise<MigrationStatus[]> {
  const files = await readMigrationFiles(options.migrationsDir ?? defaultMigrationsDir);
  const client = await connect(options.connectionString);
  try {
    const exists = await client.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [
      bookkeepingTable,
    ]);
    const applied = exists.rows[0]?.present ? await readApplied(client) : [];
    const byVersion = new Map(applied.map((row) => [row.version, row]));
    const statuses: MigrationStatus[] = files.map((file) => {
      const row = byVersion.get(file.version);
      if (row === undefined)
        return { version: file.version, name: file.name, state: 'pending', appliedAt: null };
      const same = row.checksum === file.checksum && row.name === file.name;
      return {
        version: file.version,
        name: file.name,
        state: same ? 'applied' : 'changed',
        appliedAt: row.applied_at,
      };
    });
    const fileVersions = new Set(files.map((file) => file.version));
    for (const row of applied) {
      if (!fileVersions.has(row.version)) {
        statuses.push({
          version: row.version,
          name: row.name,
          state: 'missing-file',
          appliedAt: row.applied_at,
        });
      }
    }
    return statuses.sort((a, b) => a.version - b.version);
  } finally {
    await client.end();
  }
}

async function connect(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString, application_name: 'fleetstream-migrator' });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {}); // the connect error is the one worth reporting
    throw new DatabaseOperationError(`connecting to ${redactConnectionUrl(connectionString)}`, error);
  }
  return client;
}

async function assumeOwnerRole(client: pg.Client, ownerRole: string): Promise<void> {
  const current = await client.query<{ user: string }>('SELECT current_user AS user');
  if (current.rows[0]?.user === ownerRole) return;
  // Objects belong to whoever creates them; a superuser running migrations would otherwise own
  // the tables, and the migrator's default privileges would not apply to them.
  try {
    await client.query(`SET ROLE ${pg.escapeIdentifier(ownerRole)}`);
  } catch (error) {
    throw new MigrationError(
      `migrations must run as ${ownerRole}, and ${current.rows[0]?.user} cannot SET ROLE to it: ${(error as Error).message}`,
      false,
      { cause: error },
    );
  }
}

async function acquireMigrationLock(client: pg.Client, timeoutMs: number): Promise<void> {
  await client.query(`SET lock_timeout = ${Math.trunc(timeoutMs)}`);
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [
      advisoryLockNamespace,
      advisoryLockIds.migrations,
    ]);
  } catch (error) {
    if (sqlStateOf(error) === sqlStates.lockNotAvailable) throw new MigrationLockTimeoutError(timeoutMs);
    throw error;
  }
}

async function ensureBookkeeping(client: pg.Client): Promise<void> {
  // Safe without IF NOT EXISTS races: only the lock holder gets here.
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${fleetSchema}`);
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${bookkeepingTable} (
      version integer PRIMARY KEY CHECK (version > 0),
      name text NOT NULL,
      checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
      applied_at timestamptz NOT NULL DEFAULT now(),
      applied_by text NOT NULL DEFAULT current_user,
      execution_ms integer NOT NULL CHECK (execution_ms >= 0)
    )`);
}

async function readApplied(client: pg.Client): Promise<AppliedRow[]> {
  const result = await client.query<AppliedRow>(
    `SELECT version, name, checksum, applied_at FROM ${bookkeepingTable} ORDER BY version`,
  );
  return result.rows;
}

function planPending(files: readonly MigrationFile[], applied: readonly AppliedRow[]): MigrationFile[] {
  const filesByVersion = new Map(files.map((file) => [file.version, file]));
  for (const row of applied) {
    const file = filesByVersion.get(row.version);
    if (file === undefined) throw new MissingMigrationFileError(row.version, row.name);
    if (file.name !== row.name) {
      throw new MigrationFileError(
        `${file.fileName} was renamed after it was applied as ${String(row.version).padStart(3, '0')}_${row.name}`,
      );
    }
    if (file.checksum !== row.checksum)
      throw new MigrationChecksumError(file.fileName, row.checksum, file.checksum);
  }
  const appliedVersions = new Set(applied.map((row) => row.version));
  const highestApplied = applied.at(-1)?.version ?? 0;
  const pending = files.filter((file) => !appliedVersions.has(file.version));
  const early = pending.find((file) => file.version < highestApplied);
  if (early !== undefined) throw new OutOfOrderMigrationError(early.fileName, highestApplied);
  return pending;
}

async function applyOne(client: pg.Client, migration: MigrationFile): Promise<AppliedMigration> {
  const started = performance.now();
  await client.query('BEGIN');
  try {
    // Unqualified names in a migration land in the fleet schema, never in public.
    await client.query(`SET LOCAL search_path = ${fleetSchema}, public`);
    await client.query(migration.sql);
    const durationMs = Math.round(performance.now() - started);
    await client.query(
      `INSERT INTO ${bookkeepingTable} (version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4)`,
      [migration.version, migration.name, migration.checksum, durationMs],
    );
    await client.query('COMMIT');
    const { version, name, fileName, checksum } = migration;
    return { version, name, fileName, checksum, durationMs };
  } catch (error) {
    // On a broken connection ROLLBACK fails too, and the server has aborted the transaction
    // anyway; the migration's own error is the one to report.
    await client.query('ROLLBACK').catch(() => {});
    throw new MigrationFailedError(migration.fileName, error);
  }
}
