import { postgresProcessingFailure } from '../../db/postgresFailures.ts';
import { type ProcessingError, RetriableError } from '../runtime/errors/processingErrors.ts';

/** A settlement transaction found the database in a state its own locks should have prevented; roll back and retry. */
export class SettlementInvariantError extends RetriableError {
  constructor(message: string) {
    super(message, { code: 'SETTLEMENT_INVARIANT' });
  }
}

/** What the runtime should do with one command whose settlement failed with `error`. */
export function commandFailure(error: unknown): ProcessingError {
  return postgresProcessingFailure(error, {
    conflict: 'SETTLEMENT_CONFLICT',
    refused: 'SETTLEMENT_REFUSED_BY_DATABASE',
    failed: 'SETTLEMENT_FAILED',
  });
}
