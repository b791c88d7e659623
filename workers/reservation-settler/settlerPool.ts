import type pg from 'pg';
import { createPool } from '../../db/pool.ts';

/** What the settler's pool needs besides the connection string. */
export interface SettlerPoolOptions {
  connectionString: string;
  applicationName: string;
  /** One connection per batch in flight. */
  max: number;
  statementTimeoutMs?: number;
  onIdleClientError?: (error: Error) => void;
}

/**
 * The settler's PostgreSQL pool. Its sessions plan every execution of the (named) settlement
 * statements for the tables as they are now (`plan_cache_mode = force_custom_plan`): a generic
 * plan cached while the tables were nearly empty — a fresh deployment, before autovacuum's first
 * ANALYZE — would keep scanning them sequentially as they grow, at a cost rising with every row.
 */
export function createSettlerPool(options: SettlerPoolOptions): pg.Pool {
  const url = new URL(options.connectionString);
  const existing = url.searchParams.get('options');
  url.searchParams.set('options', `${existing ? `${existing} ` : ''}-c plan_cache_mode=force_custom_plan`);
  return createPool({ ...options, connectionString: url.toString() });
}
