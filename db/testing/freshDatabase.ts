import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensureRolesAndDatabase } from '../bootstrap.ts';
import { loadDatabaseConfig } from '../config.ts';
import { connectionUrlFor } from '../connectionUrls.ts';
import { dbRoles } from '../roles.ts';

/** A throwaway database for one test file, created by the real bootstrap. */
export interface FreshDatabase {
  name: string;
  /** Connection URLs to this database as each role. */
  urls: { migrator: string; app: string; readonly: string; admin: string };
  /** Drops the database, disconnecting anything still attached. */
  drop(): Promise<void>;
}

/**
 * Creates a database with a random name (owned by the migrator, roles ensured) through
 * DATABASE_ADMIN_URL, so test files run in parallel without seeing each other's rows.
 */
export async function createFreshDatabase(prefix = 'fleetstream_test'): Promise<FreshDatabase> {
  const { adminUrl } = loadDatabaseConfig();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await ensureRolesAndDatabase({ adminUrl, database: name });
  return {
    name,
    urls: {
      migrator: connectionUrlFor(adminUrl, dbRoles.migrator, name),
      app: connectionUrlFor(adminUrl, dbRoles.app, name),
      readonly: connectionUrlFor(adminUrl, dbRoles.readonly, name),
      admin: sameLoginOtherDatabase(adminUrl, name),
    },
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

function sameLoginOtherDatabase(connectionUrl: string, database: string): string {
  const url = new URL(connectionUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
