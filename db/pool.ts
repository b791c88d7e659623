import pg from 'pg';

/** How a process connects: one pool per role and purpose. */
export interface PoolOptions {
  connectionString: string;
  /** Shown in pg_stat_activity, so operators can tell which worker holds a lock. */
  applicationName: string;
  max?: number;
  /** Per-statement ceiling; a hung statement must not hold a vehicle's row locks forever. */
  statementTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Receives errors of idle clients (server restart, network loss). */
  onIdleClientError?: (error: Error) => void;
}

/** How much longer than the statement timeout the client waits for any answer at all. */
const clientTimeoutMarginMs = 1000;

/** How long a pool waits for a free connection unless told otherwise. */
export const defaultConnectionTimeoutMs = 10_000;

/** The longest a query of a pool with this statement timeout waits for an answer (its query_timeout). */
export function clientQueryTimeoutMs(statementTimeoutMs: number): number {
  return statementTimeoutMs + clientTimeoutMarginMs;
}

/** Creates a pg Pool whose idle-client errors are reported instead of crashing the process. */
export function createPool(options: PoolOptions): pg.Pool {
  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    application_name: options.applicationName,
    max: options.max ?? 10,
    statement_timeout: statementTimeoutMs,
    // The server enforces statement_timeout; this client-side bound catches a server or network
    // that stopped answering altogether (a frozen host, a black-holed route), which no server
    // timeout can report: the query fails as a connection failure and its connection is discarded.
    query_timeout: clientQueryTimeoutMs(statementTimeoutMs),
    connectionTimeoutMillis: options.connectionTimeoutMs ?? defaultConnectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    // TCP keepalive: a connection whose peer vanished without a FIN (a failover, a lost node)
    // fails instead of holding its pool slot for ever — probed after 10 s idle, not the OS's 2 h.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // Without a listener, pg re-emits an idle client's socket error as an uncaught exception;
  // the pool already discards that client, so reporting is all that is left to do.
  pool.on('error', (error) => options.onIdleClientError?.(error));
  return pool;
}
