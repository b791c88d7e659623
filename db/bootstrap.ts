import pg from 'pg';
import { advisoryLockIds, advisoryLockNamespace } from './advisoryLockKeys.ts';
import { redactConnectionUrl } from './connectionUrls.ts';
import { DatabaseOperationError } from './pgErrors.ts';
import { dbRoles, fleetSchema } from './roles.ts';

/** What `ensureRolesAndDatabase` needs: a superuser connection and the database to provide. */
export interface BootstrapOptions {
  /** A superuser connection (DATABASE_ADMIN_URL); its database only hosts the bootstrap lock. */
  adminUrl: string;
  /** Name of the application database to create if missing, owned by the migrator role. */
  database: string;
  lockTimeoutMs?: number;
}

/** One line per role and database: what existed, what was created or corrected. */
export interface BootstrapReport {
  actions: string[];
}

/** The cluster is in a state bootstrap must not paper over (e.g. a database owned by someone else). */
export class BootstrapError extends Error {
  readonly retriable = false;

  constructor(message: string) {
    super(message);
    this.name = 'BootstrapError';
  }
}

const databaseNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

// Least privilege at the role level: none of the three may create roles or databases, bypass row
// security or replicate; any of these found set (by hand, by an old script) is reset.
const forbiddenAttributes = [
  ['rolsuper', 'NOSUPERUSER'],
  ['rolcreatedb', 'NOCREATEDB'],
  ['rolcreaterole', 'NOCREATEROLE'],
  ['rolreplication', 'NOREPLICATION'],
  ['rolbypassrls', 'NOBYPASSRLS'],
] as const;

// Role-level settings that hold in every database: a worker stuck inside a transaction must not
// keep a vehicle's rows locked; the operations role cannot write even through a function.
const roleSettings: Readonly<Record<string, readonly string[]>> = {
  [dbRoles.migrator]: [`search_path = ${fleetSchema}, public`],
  [dbRoles.app]: [`search_path = ${fleetSchema}, public`, `idle_in_transaction_session_timeout = '60s'`],
  [dbRoles.readonly]: [`search_path = ${fleetSchema}, public`, 'default_transaction_read_only = on'],
};

/**
 * Creates the three LOGIN roles and the application database when missing and keeps their
 * least-privilege attributes, idempotently. Passwords are not managed here: the local stack uses
 * trust auth; production sets passwords or IAM authentication through its own secret handling.
 */
export async function ensureRolesAndDatabase(options: BootstrapOptions): Promise<BootstrapReport> {
  if (!databaseNamePattern.test(options.database)) {
    throw new BootstrapError(
      `database name ${JSON.stringify(options.database)} must match ${databaseNamePattern}`,
    );
  }
  const client = new pg.Client({
    connectionString: options.adminUrl,
    application_name: 'fleetstream-bootstrap',
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {}); // the connect error is the one worth reporting
    throw new DatabaseOperationError(`connecting to ${redactConnectionUrl(options.adminUrl)}`, error);
  }
  try {
    await client.query(`SET lock_timeout = ${Math.trunc(options.lockTimeoutMs ?? 60_000)}`);
    // Roles are cluster-wide, so two bootstraps (parallel test files, two deploys) would race on
    // CREATE ROLE; every bootstrapper takes this lock in the same admin database.
    // Session-level: released when this dedicated connection closes in `finally`.
    await client.query('SELECT pg_advisory_lock($1, $2)', [advisoryLockNamespace, advisoryLockIds.bootstrap]);
    const actions: string[] = [];
    for (const role of Object.values(dbRoles)) actions.push(await ensureRole(client, role));
    actions.push(await ensureDatabase(client, options.database));
    await restrictDatabaseAccess(client, options.database);
    return { actions };
  } finally {
    await client.end();
  }
}

async function ensureRole(client: pg.Client, role: string): Promise<string> {
  const found = await client.query<Record<string, boolean>>(
    `SELECT rolcanlogin, ${forbiddenAttributes.map(([column]) => column).join(', ')}
       FROM pg_catalog.pg_roles WHERE rolname = $1`,
    [role],
  );
  const ident = pg.escapeIdentifier(role);
  let action: string;
  const existing = found.rows[0];
  if (existing === undefined) {
    await client.query(`CREATE ROLE ${ident} LOGIN ${forbiddenAttributes.map(([, off]) => off).join(' ')}`);
    action = `role ${role}: created`;
  } else {
    const fixes: string[] = forbiddenAttributes.filter(([column]) => existing[column]).map(([, off]) => off);
    if (!existing.rolcanlogin) fixes.push('LOGIN');
    if (fixes.length > 0) {
      await client.query(`ALTER ROLE ${ident} ${fixes.join(' ')}`);
      action = `role ${role}: exists, corrected ${fixes.join(' ')}`;
    } else {
      action = `role ${role}: exists`;
    }
  }
  for (const setting of roleSettings[role] ?? []) await client.query(`ALTER ROLE ${ident} SET ${setting}`);
  return action;
}

async function ensureDatabase(client: pg.Client, database: string): Promise<string> {
  const found = await client.query<{ owner: string }>(
    `SELECT pg_catalog.pg_get_userbyid(datdba) AS owner FROM pg_catalog.pg_database WHERE datname = $1`,
    [database],
  );
  const owner = found.rows[0]?.owner;
  if (owner === undefined) {
    // template0: the new database must not inherit whatever someone put into template1.
    await client.query(
      `CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${pg.escapeIdentifier(dbRoles.migrator)} TEMPLATE template0 ENCODING 'UTF8'`,
    );
    return `database ${database}: created, owned by ${dbRoles.migrator}`;
  }
  if (owner !== dbRoles.migrator) {
    // Changing the owner would not move the tables already inside it; a human has to decide.
    throw new BootstrapError(
      `database ${database} exists but is owned by ${owner}, not ${dbRoles.migrator}; ` +
        `fix it by hand (ALTER DATABASE ${database} OWNER TO ${dbRoles.migrator} and reassign its objects) or point MIGRATION_DATABASE_URL at another database`,
    );
  }
  return `database ${database}: exists`;
}

async function restrictDatabaseAccess(client: pg.Client, database: string): Promise<void> {
  const db = pg.escapeIdentifier(database);
  // PUBLIC gets CONNECT and TEMPORARY on every new database by default: any role of the cluster
  // could log in, and temporary tables are DDL the application role has no business doing.
  await client.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
  await client.query(
    `GRANT CONNECT ON DATABASE ${db} TO ${pg.escapeIdentifier(dbRoles.app)}, ${pg.escapeIdentifier(dbRoles.readonly)}`,
  );
}
