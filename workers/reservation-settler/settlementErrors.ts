import { DatabaseOperationError, isRetriablePgError, sqlStateOf, sqlStates } from '../../db/pgErrors.ts';
import {
  DependencyUnavailableError,
  PermanentError,
  type ProcessingError,
  RetriableError,
} from '../runtime/errors/processingErrors.ts';

/** The dependency name of PostgreSQL: the breaker's name and the runtime's pause reason. */
export const postgresDependency = 'postgres';

/** A settlement transaction found the database in a state its own locks should have prevented; roll back and retry. */
export class SettlementInvariantError extends RetriableError {
  constructor(message: string) {
    super(message, { code: 'SETTLEMENT_INVARIANT' });
  }
}

// The database is healthy and asks to run the transaction again: lock order, snapshot, timeout.
const transientConflictStates = new Set<string>([
  sqlStates.deadlockDetected,
  sqlStates.serializationFailure,
  sqlStates.lockNotAvailable,
  sqlStates.queryCanceled,
]);

/** The PostgreSQL (or socket) error under any DatabaseOperationError wrappers. */
export function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof DatabaseOperationError) current = current.cause;
  return current;
}

/** A deadlock, serialization failure, lock or statement timeout: run the whole transaction again. */
export function isTransientConflict(error: unknown): boolean {
  const state = sqlStateOf(rootCause(error));
  return state !== undefined && transientConflictStates.has(state);
}

/** The server is unreachable, restarting or out of connections: the dependency is down, not the data wrong. */
export function isConnectionFailure(error: unknown): boolean {
  const cause = rootCause(error);
  if (isTransientConflict(cause)) return false;
  if (isRetriablePgError(cause)) return true;
  const message = (cause as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /timeout exceeded when trying to connect/i.test(message);
}

/** Integrity or data errors (SQLSTATE classes 22 and 23): the command's data can never be stored as it is. */
export function isDataRejection(error: unknown): boolean {
  const state = sqlStateOf(rootCause(error));
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

/** What the runtime should do with one command whose settlement failed with `error`. */
export function commandFailure(error: unknown): ProcessingError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof DependencyUnavailableError) return error;
  if (isConnectionFailure(error)) {
    return new DependencyUnavailableError(postgresDependency, `PostgreSQL is unavailable: ${message}`, {
      cause: error,
    });
  }
  if (error instanceof RetriableError || error instanceof PermanentError) return error;
  if (isTransientConflict(error))
    return new RetriableError(message, { cause: error, code: 'SETTLEMENT_CONFLICT' });
  if (isDataRejection(error))
    return new PermanentError(message, { cause: error, code: 'SETTLEMENT_REFUSED_BY_DATABASE' });
  // Unknown: retry (then dead-letter past the attempt limit) rather than lose the command.
  return new RetriableError(message, { cause: error, code: 'SETTLEMENT_FAILED' });
}
