import { EnvReader } from '../workers/runtime/config/envReader.ts';
import { readStackEndpoints } from '../workers/runtime/config/stackEndpoints.ts';
import { connectionUrlFor } from './connectionUrls.ts';
import { dbRoles } from './roles.ts';

/** Database settings of the `db` tooling (migrations, bootstrap, seed). */
export interface DatabaseConfig {
  /** DATABASE_URL: the application role's connection string (workers and ingress use it). */
  databaseUrl: string;
  /** DATABASE_ADMIN_URL: a superuser connection, used only to create the roles and the database. */
  adminUrl: string;
  /** MIGRATION_DATABASE_URL: the migrator role's connection; default: DATABASE_URL's server and database as fleetstream_migrator. */
  migrationUrl: string;
  /** DATABASE_BOOTSTRAP: create missing roles and the database through DATABASE_ADMIN_URL before migrating (false where infrastructure code owns them). */
  bootstrap: boolean;
  /** DATABASE_MIGRATION_LOCK_TIMEOUT_MS: how long `migrate` waits for another migrator's lock before giving up. */
  migrationLockTimeoutMs: number;
}

const postgresSchemes = ['postgres:', 'postgresql:'] as const;

/** Default superuser connection of the local stack. */
export const defaultAdminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Reads the database settings with an existing reader, so a process validates them with the rest of its config. */
export function readDatabaseConfig(reader: EnvReader): DatabaseConfig {
  const { databaseUrl } = readStackEndpoints(reader);
  return {
    databaseUrl,
    adminUrl: reader.url('DATABASE_ADMIN_URL', defaultAdminUrl, postgresSchemes),
    migrationUrl: reader.url(
      'MIGRATION_DATABASE_URL',
      connectionUrlFor(databaseUrl, dbRoles.migrator),
      postgresSchemes,
    ),
    bootstrap: reader.bool('DATABASE_BOOTSTRAP', true),
    migrationLockTimeoutMs: reader.int('DATABASE_MIGRATION_LOCK_TIMEOUT_MS', 120_000, {
      min: 1,
      max: 3_600_000,
    }),
  };
}

/** Reads just the database settings; throws ConfigError naming every bad variable. */
export function loadDatabaseConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): DatabaseConfig {
  const reader = new EnvReader(env);
  const config = readDatabaseConfig(reader);
  reader.done();
  return Object.freeze(config);
}
