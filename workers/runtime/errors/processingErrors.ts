/**
 * Errors a handler (or the runtime) throws to say what should happen to a message.
 * The engine acts on the class, never on the message text:
 *  - RetriableError: retried with backoff, the key stays blocked, then dead-lettered past the attempt limit;
 *  - PermanentError: dead-lettered at once (a bug or a business rule will never accept it);
 *  - PoisonMessageError: the bytes cannot be decoded or do not match the schema: dead-lettered at once;
 *  - DependencyUnavailableError: a downstream is down (breaker open): the partition pauses, nothing is dead-lettered.
 * Any other thrown value is treated as retriable: an unexpected failure should not lose a message.
 */
export abstract class ProcessingError extends Error {
  /** Whether trying the same message again may succeed. */
  abstract readonly retriable: boolean;
  /** Stable machine-readable code for logs, metrics and DLQ headers. */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A transient failure (timeout, deadlock, 5xx): retry with backoff. */
export class RetriableError extends ProcessingError {
  readonly retriable = true;
  readonly code: string;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options);
    this.code = options?.code ?? 'RETRIABLE';
  }
}

/** A failure that no retry will fix: dead-letter the message. */
export class PermanentError extends ProcessingError {
  readonly retriable = false;
  readonly code: string;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options);
    this.code = options?.code ?? 'PERMANENT';
  }
}

/** The message's bytes are undecodable or do not match the schema. */
export class PoisonMessageError extends ProcessingError {
  readonly retriable = false;
  readonly code: string;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options);
    this.code = options?.code ?? 'POISON';
  }
}

/** A downstream dependency is unavailable (its breaker is open): pause, do not dead-letter. */
export class DependencyUnavailableError extends ProcessingError {
  readonly retriable = true;
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  readonly dependency: string;
  constructor(dependency: string, message?: string, options?: { cause?: unknown }) {
    super(message ?? `${dependency} is unavailable`, options);
    this.dependency = dependency;
  }
}

/** How the engine treats a thrown value. */
export type FailureDisposition = 'retry' | 'dead-letter' | 'pause-dependency';

/** Classifies any thrown value; unknown errors are retried so that nothing is lost by accident. */
export function dispositionOf(error: unknown): FailureDisposition {
  if (error instanceof DependencyUnavailableError) return 'pause-dependency';
  if (error instanceof ProcessingError) return error.retriable ? 'retry' : 'dead-letter';
  return 'retry';
}

/** The error's class name and message, for DLQ headers and logs. */
export function describeError(error: unknown): { errorClass: string; message: string; code: string } {
  if (error instanceof ProcessingError)
    return { errorClass: error.name, message: error.message, code: error.code };
  if (error instanceof Error)
    return { errorClass: error.name || 'Error', message: error.message, code: 'UNEXPECTED' };
  return { errorClass: typeof error, message: String(error), code: 'UNEXPECTED' };
}
