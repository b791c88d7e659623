import { describe, expect, it } from 'vitest';
import { ConfigError } from '../workers/runtime/config/configError.ts';
import { loadDatabaseConfig } from './config.ts';
import { connectionUrlFor, databaseNameOf, redactConnectionUrl } from './connectionUrls.ts';

describe('loadDatabaseConfig', () => {
  it('defaults to the local stack: app, superuser and migrator on the fleetstream database', () => {
    expect(loadDatabaseConfig({})).toEqual({
      databaseUrl: 'postgres://fleetstream_app@127.0.0.1:5432/fleetstream',
      adminUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
      migrationUrl: 'postgres://fleetstream_migrator@127.0.0.1:5432/fleetstream',
      bootstrap: true,
      migrationLockTimeoutMs: 120_000,
    });
  });

  it("derives the migrator's URL from DATABASE_URL without carrying the app's password", () => {
    const config = loadDatabaseConfig({
      DATABASE_URL: 'postgresql://fleetstream_app:s3cret@db.internal:6432/rentals',
    });
    expect(config.migrationUrl).toBe('postgresql://fleetstream_migrator@db.internal:6432/rentals');
  });

  it('names every bad variable at once', () => {
    let caught: unknown;
    try {
      loadDatabaseConfig({ DATABASE_ADMIN_URL: 'mysql://x', DATABASE_BOOTSTRAP: 'maybe' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems.map((p) => p.variable)).toEqual([
      'DATABASE_ADMIN_URL',
      'DATABASE_BOOTSTRAP',
    ]);
  });
});

describe('connection URLs', () => {
  it('switches role and database, dropping the password', () => {
    expect(connectionUrlFor('postgres://postgres:pw@h:5432/postgres', 'fleetstream_app', 'test_db')).toBe(
      'postgres://fleetstream_app@h:5432/test_db',
    );
  });

  it('reads the database name, falling back to the user name as libpq does', () => {
    expect(databaseNameOf('postgres://u@h/fleet_db')).toBe('fleet_db');
    expect(databaseNameOf('postgres://someone@h')).toBe('someone');
  });

  it('redacts passwords for logs', () => {
    expect(redactConnectionUrl('postgres://u:topsecret@h/db')).not.toContain('topsecret');
  });
});
