import pg from 'pg';
import { DatabaseOperationError } from '../db/pgErrors.ts';
import { EnvReader } from '../workers/runtime/config/envReader.ts';
import { readStackEndpoints } from '../workers/runtime/config/stackEndpoints.ts';

/**
 * Runs `work` on one connection to DATABASE_URL in a read-only session — an operator's look must
 * never change what it looks at — and closes it. Failures become a DatabaseOperationError naming
 * `operation` (the CLI answers exit status 1).
 */
export async function withReadOnlyDatabase<T>(
  env: Readonly<Record<string, string | undefined>>,
  operation: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const reader = new EnvReader(env);
  const { databaseUrl } = readStackEndpoints(reader);
  reader.done();
  const client = new pg.Client({
    connectionString: databaseUrl,
    options: '-c default_transaction_read_only=on',
    connectionTimeoutMillis: 5000,
    application_name: 'fleetstream-ops',
  });
  try {
    await client.connect();
    return await work(client);
  } catch (error) {
    throw new DatabaseOperationError(operation, error);
  } finally {
    await client.end().catch(() => undefined); // closing a connection that failed: nothing left to release
  }
}
