import { setTimeout as sleep } from 'node:timers/promises';
import type { Queryable } from '../queryable.ts';

/**
 * Waits until `count` sessions of the current database wait for a lock (optionally only those
 * whose statement text matches the LIKE pattern `queryLike`): the moment a test that races two
 * transactions may let the first one commit. Throws after `timeoutMs`.
 */
export async function untilSessionsWaitForLocks(
  db: Queryable,
  options: { count?: number; queryLike?: string; timeoutMs?: number } = {},
): Promise<void> {
  const { count = 1, queryLike = '%', timeoutMs = 10_000 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waiting = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`,
      [queryLike],
    );
    if ((waiting.rows[0]?.n ?? 0) >= count) return;
    if (Date.now() > deadline) {
      throw new Error(
        `no ${count} session(s) waited for a lock (query like ${queryLike}) within ${timeoutMs} ms`,
      );
    }
    await sleep(20);
  }
}
