import {
  DependencyUnavailableError,
  PermanentError,
  type ProcessingError,
  RetriableError,
} from '../workers/runtime/errors/processingErrors.ts';
import { BreakerTimeoutError } from '../workers/runtime/resilience/circuitBreaker.ts';
import { DatabaseOperationError, isRetriablePgError, sqlStateOf, sqlStates } from './pgErrors.ts';

/** The dependency name of PostgreSQL: the breaker's name and the runtime's pause reason. */
export const postgresDependency = 'postgres';

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

// The database answers, but refuses every transaction alike: a rotated password, a dropped database,
// a missing grant or table after a bad deploy. Nothing about the message is wrong, so it must wait
// (pause) rather than be retried into the DLQ.
const refusesEveryTransactionStates = new Set<string>([
  '3D000', // invalid_catalog_name: the database does not exist
  '42501', // insufficient_privilege
  '42P01', // undefined_table
  '57P04', // database_dropped
]);

/**
 * PostgreSQL cannot serve any transaction now: unreachable or restarting (isConnectionFailure),
 * refusing our login (SQLSTATE class 28) or the schema (missing database, table or grant), or a
 * call that hung past its breaker's timeout. A worker pauses on it; the breaker counts it.
 */
export function isPostgresUnavailable(error: unknown): boolean {
  if (error instanceof BreakerTimeoutError || isConnectionFailure(error)) return true;
  const state = sqlStateOf(rootCause(error));
  return state !== undefined && (state.startsWith('28') || refusesEveryTransactionStates.has(state));
}

/** Integrity or data errors (SQLSTATE classes 22 and 23): the message's data can never be stored as it is. */
export function isDataRejection(error: unknown): boolean {
  const state = sqlStateOf(rootCause(error));
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

/** The error codes a worker gives the three kinds of database failure that are not an outage. */
export interface PostgresFailureCodes {
  /** A deadlock or serialization failure: retried. */
  conflict: string;
  /** A constraint or data error: dead-lettered, no retry can store the message. */
  refused: string;
  /** Anything else: retried, then dead-lettered past the attempt limit. */
  failed: string;
}

/**
 * What the runtime should do with one message whose database work failed with `error`: pause
 * (PostgreSQL is down or refuses every transaction), retry (a conflict, or unknown), or
 * dead-letter (the data is refused).
 * ProcessingErrors the worker threw itself pass through unchanged.
 */
export function postgresProcessingFailure(error: unknown, codes: PostgresFailureCodes): ProcessingError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof DependencyUnavailableError) return error;
  if (isPostgresUnavailable(error)) {
    return new DependencyUnavailableError(postgresDependency, `PostgreSQL is unavailable: ${message}`, {
      cause: error,
    });
  }
  if (error instanceof RetriableError || error instanceof PermanentError) return error;
  if (isTransientConflict(error)) return new RetriableError(message, { cause: error, code: codes.conflict });
  if (isDataRejection(error)) return new PermanentError(message, { cause: error, code: codes.refused });
  // Unknown: retry (then dead-letter past the attempt limit) rather than lose the message.
  return new RetriableError(message, { cause: error, code: codes.failed });
}
