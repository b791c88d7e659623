import type pg from 'pg';
import { DatabaseOperationError } from './pgErrors.ts';
import { isConnectionFailure } from './postgresFailures.ts';

/**
 * Runs `work` in one READ COMMITTED transaction on a pooled connection: COMMIT when it resolves,
 * ROLLBACK when it throws (the original error is rethrown). A connection that failed, or whose
 * ROLLBACK failed, is destroyed instead of returned to the pool, so no later transaction inherits
 * a broken session. A COMMIT whose answer was lost leaves the outcome unknown to us; the caller
 * retries, so `work` must recognise its own committed effects (the settler finds its decision,
 * the ledger its event id).
 */
export async function inReadCommittedTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new DatabaseOperationError('connecting to PostgreSQL', error);
  }
  let discard = false;
  try {
    // Explicit: the workers' guarantees are constraints and row locks, and a server default of
    // SERIALIZABLE would only add aborts (40001) without adding safety.
    await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    discard = isConnectionFailure(error);
    if (!discard) {
      try {
        await client.query('ROLLBACK');
      } catch {
        // The session is unusable; destroying it below is the whole remedy, and `error` is what the caller needs.
        discard = true;
      }
    }
    throw error;
  } finally {
    client.release(discard);
  }
}
