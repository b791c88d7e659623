// `node db/cli.ts migrate | status | seed-local` (npm run db:migrate runs `migrate`).
import pg from 'pg';
import { ensureRolesAndDatabase } from './bootstrap.ts';
import { loadDatabaseConfig } from './config.ts';
import { databaseNameOf, redactConnectionUrl } from './connectionUrls.ts';
import { migrate, migrationStatus } from './migrator.ts';
import { seedLocalVehicles } from './seeds/localVehicleCatalog.ts';

const usage = `usage: node db/cli.ts <command>
  migrate      create missing roles and database (unless DATABASE_BOOTSTRAP=false), then apply pending migrations
  status       show each migration: applied, pending, changed or missing-file (exit 1 on changed/missing)
  seed-local   LOCAL STACK ONLY: insert the fixed demo vehicle catalog (idempotent)`;

async function runMigrate(): Promise<number> {
  const config = loadDatabaseConfig();
  if (config.bootstrap) {
    const report = await ensureRolesAndDatabase({
      adminUrl: config.adminUrl,
      database: databaseNameOf(config.migrationUrl),
    });
    for (const action of report.actions) console.log(`bootstrap: ${action}`);
  } else {
    console.log('bootstrap: skipped (DATABASE_BOOTSTRAP=false)');
  }
  console.log(`migrate: ${redactConnectionUrl(config.migrationUrl)}`);
  const result = await migrate({
    connectionString: config.migrationUrl,
    lockTimeoutMs: config.migrationLockTimeoutMs,
    log: (line) => console.log(`migrate: ${line}`),
  });
  console.log(
    result.applied.length === 0
      ? `migrate: up to date (${result.alreadyApplied} applied before)`
      : `migrate: applied ${result.applied.length}, ${result.alreadyApplied} were already applied`,
  );
  return 0;
}

async function runStatus(): Promise<number> {
  const config = loadDatabaseConfig();
  const statuses = await migrationStatus({ connectionString: config.migrationUrl });
  for (const s of statuses) {
    const when = s.appliedAt === null ? '' : `  ${s.appliedAt.toISOString()}`;
    console.log(`${String(s.version).padStart(3, '0')}  ${s.name.padEnd(32)} ${s.state}${when}`);
  }
  return statuses.some((s) => s.state === 'changed' || s.state === 'missing-file') ? 1 : 0;
}

async function runSeedLocal(): Promise<number> {
  const config = loadDatabaseConfig();
  // The migrator owns fleet.vehicles; the application role has no write access to the catalog.
  const client = new pg.Client({
    connectionString: config.migrationUrl,
    application_name: 'fleetstream-seed',
  });
  await client.connect();
  try {
    const { inserted, total } = await seedLocalVehicles(client);
    console.log(
      `seed-local: ${inserted} vehicles inserted, ${total - inserted} already present (local catalog)`,
    );
  } finally {
    await client.end();
  }
  return 0;
}

const commands: Record<string, () => Promise<number>> = {
  migrate: runMigrate,
  status: runStatus,
  'seed-local': runSeedLocal,
};

const command = commands[process.argv[2] ?? ''];
if (command === undefined) {
  console.error(usage);
  process.exitCode = 2;
} else {
  try {
    process.exitCode = await command();
  } catch (error) {
    const retriable = (error as { retriable?: unknown }).retriable === true;
    console.error(
      `error: ${error instanceof Error ? error.message : String(error)}${retriable ? ' (retriable)' : ''}`,
    );
    process.exitCode = 1;
  }
}
