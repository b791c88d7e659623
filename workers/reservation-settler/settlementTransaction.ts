import type pg from 'pg';
import { DatabaseOperationError } from '../../db/pgErrors.ts';
import { isConnectionFailure } from './settlementErrors.ts';

/**
 * Runs `work` in one READ COMMITTED transaction on a pooled connection: COMMIT when it resolves,
 * ROLLBACK when it throws (the original error is rethrown). A connection that failed, or whose
 * ROLLBACK failed, is destroyed instead of returned to the pool, so no later transaction inherits
 * a broken session. A COMMIT whose answer was lost leaves the outcome unknown to us; the caller
 * retries, and a retry of a settlement finds the decision if it committed.
 */
export async function inSettlementTransaction<T>(
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
    // Explicit: the exclusion constraint is the guarantee, and a server default of SERIALIZABLE
    // would only add aborts (40001) without adding safety.
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
