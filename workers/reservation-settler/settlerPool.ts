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
 * Session settings of the settler's connections. Every settlement statement is a key lookup
 * driven by an array of at most a batch of ids, so the right plan is always the same shape —
 * nested loops over primary-key and unique-index probes — whatever the tables' size or
 * statistics. Planning it anew on every execution cost more PostgreSQL CPU than running it
 * (measured: custom plans 1.6× the CPU of a batch of 64 and 2.3× of a batch of one), so the
 * sessions keep one generic plan per named statement. A generic plan chosen from an empty
 * table's statistics would scan sequentially until an ANALYZE invalidates it (never, where
 * autovacuum is off, as on the development machines); with sequential scans, hash and merge
 * joins priced out, the planner takes the index plan at any size (a statement without a usable
 * index would still get its scan: the settings are costs, not bans).
 */
export const settlerSessionSettings: Readonly<Record<string, string>> = {
  // The fast path's autocommit statement runs at the session's level; the exclusion constraint
  // is the guarantee, and a server default of SERIALIZABLE would only add aborts.
  default_transaction_isolation: 'read committed',
  plan_cache_mode: 'force_generic_plan',
  enable_seqscan: 'off',
  enable_hashjoin: 'off',
  enable_mergejoin: 'off',
};

/** The settler's PostgreSQL pool: its sessions carry `settlerSessionSettings`. */
export function createSettlerPool(options: SettlerPoolOptions): pg.Pool {
  const url = new URL(options.connectionString);
  const existing = url.searchParams.get('options');
  const settings = Object.entries(settlerSessionSettings)
    // The server splits `options` at spaces; a space inside a value is escaped with a backslash.
    .map(([name, value]) => `-c ${name}=${value.replaceAll(' ', '\\ ')}`)
    .join(' ');
  url.searchParams.set('options', existing ? `${existing} ${settings}` : settings);
  return createPool({ ...options, connectionString: url.toString() });
}
