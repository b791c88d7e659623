/**
 * SQLSTATEs the code branches on. 23P01 is a business outcome (the vehicle is taken), never a
 * reason to retry; deadlocks and serialization failures are the database asking for a retry.
 */
export const sqlStates = Object.freeze({
  uniqueViolation: '23505',
  exclusionViolation: '23P01',
  checkViolation: '23514',
  notNullViolation: '23502',
  foreignKeyViolation: '23503',
  insufficientPrivilege: '42501',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  lockNotAvailable: '55P03',
  queryCanceled: '57014',
  duplicateObject: '42710',
  duplicateDatabase: '42P04',
});

// Transient by nature: the same statement can succeed on another attempt or connection.
const retriableSqlStates = new Set([
  sqlStates.serializationFailure,
  sqlStates.deadlockDetected,
  sqlStates.lockNotAvailable,
  sqlStates.queryCanceled,
  '53000', // insufficient_resources
  '53100', // disk_full: an operator can free space without a code change
  '53200', // out_of_memory
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (server starting up or in recovery)
  '58000', // system_error
]);

const retriableNodeCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/** The five-character SQLSTATE of a PostgreSQL error, or undefined for anything else. */
export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Whether retrying the same work later may succeed (connection loss, deadlock, overload). */
export function isRetriablePgError(error: unknown): boolean {
  const state = sqlStateOf(error);
  if (state !== undefined) return state.startsWith('08') || retriableSqlStates.has(state);
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && retriableNodeCodes.has(code)) return true;
  // pg reports a socket that closed mid-query, a server that stopped answering (query_timeout), and
  // pg-pool an exhausted pool (no connection free within connectionTimeoutMillis), as plain Errors
  // without a code: outage or overload, not bugs.
  const message = (error as { message?: unknown }).message;
  return (
    typeof message === 'string' &&
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout/i.test(
      message,
    )
  );
}

/** A failed database operation, labelled with what was attempted and whether retrying can help. */
export class DatabaseOperationError extends Error {
  readonly retriable: boolean;
  readonly sqlState: string | undefined;

  constructor(operation: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`${operation} failed: ${detail}`, { cause });
    this.name = 'DatabaseOperationError';
    this.sqlState = sqlStateOf(cause);
    this.retriable = isRetriablePgError(cause);
  }
}

/** Thrown before touching the database when a query's arguments are invalid; never retriable. */
export class InvalidQueryInputError extends Error {
  readonly retriable = false;
  readonly parameter: string;

  constructor(parameter: string, expected: string) {
    super(`invalid ${parameter}: expected ${expected}`);
    this.name = 'InvalidQueryInputError';
    this.parameter = parameter;
  }
}
