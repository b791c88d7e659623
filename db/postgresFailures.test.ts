import { describe, expect, it } from 'vitest';
import {
  DependencyUnavailableError,
  PermanentError,
  RetriableError,
} from '../workers/runtime/errors/processingErrors.ts';
import { BreakerTimeoutError } from '../workers/runtime/resilience/circuitBreaker.ts';
import { DatabaseOperationError } from './pgErrors.ts';
import { isPostgresUnavailable, postgresProcessingFailure } from './postgresFailures.ts';

const codes = { conflict: 'X_CONFLICT', refused: 'X_REFUSED', failed: 'X_FAILED' };
/** A pg error as the driver raises it, wrapped the way the workers' queries wrap it. */
const pgError = (code: string) =>
  new DatabaseOperationError('recording', Object.assign(new Error(`server said ${code}`), { code }));

describe('postgresProcessingFailure', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a rotated password (28P01)', pgError('28P01')],
    ['a database that does not exist (3D000)', pgError('3D000')],
    ['a missing grant (42501)', pgError('42501')],
    ['a missing table after a bad deploy (42P01)', pgError('42P01')],
    ['a call that hung past its breaker', new BreakerTimeoutError('postgres', 70_000)],
  ])('pauses on %s: every transaction would fail alike, the message is not at fault', (_case, error) => {
    expect(isPostgresUnavailable(error)).toBe(true);
    const failure = postgresProcessingFailure(error, codes);
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect((failure as DependencyUnavailableError).dependency).toBe('postgres');
  });

  it('retries a deadlock and dead-letters data the database refuses', () => {
    expect(postgresProcessingFailure(pgError('40P01'), codes)).toMatchObject({ code: 'X_CONFLICT' });
    expect(postgresProcessingFailure(pgError('40P01'), codes)).toBeInstanceOf(RetriableError);
    expect(postgresProcessingFailure(pgError('23514'), codes)).toBeInstanceOf(PermanentError);
    expect(postgresProcessingFailure(pgError('23514'), codes)).toMatchObject({ code: 'X_REFUSED' });
    expect(isPostgresUnavailable(pgError('23505'))).toBe(false);
  });

  it('retries what it cannot classify, and passes the worker’s own processing errors through', () => {
    expect(postgresProcessingFailure(new Error('odd'), codes)).toMatchObject({
      code: 'X_FAILED',
      retriable: true,
    });
    const own = new PermanentError('refused by a rule', { code: 'RULE' });
    expect(postgresProcessingFailure(own, codes)).toBe(own);
  });
});
