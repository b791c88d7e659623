import { describe, expect, it } from 'vitest';
import { DatabaseOperationError, isRetriablePgError, sqlStateOf } from './pgErrors.ts';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe('isRetriablePgError', () => {
  it.each([['40P01'], ['40001'], ['55P03'], ['08006'], ['57P01'], ['53300']])(
    'retries SQLSTATE %s',
    (code) => {
      expect(isRetriablePgError(pgError(code))).toBe(true);
    },
  );

  it.each([['23P01'], ['23505'], ['23514'], ['42501'], ['42P01']])('does not retry SQLSTATE %s', (code) => {
    expect(isRetriablePgError(pgError(code))).toBe(false);
  });

  it('retries lost connections reported by Node or by pg without a SQLSTATE', () => {
    expect(isRetriablePgError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetriablePgError(new Error('Connection terminated unexpectedly'))).toBe(true);
    // pg-pool's message when every connection stayed busy past connectionTimeoutMillis.
    expect(isRetriablePgError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isRetriablePgError(new Error('some bug'))).toBe(false);
  });
});

describe('DatabaseOperationError', () => {
  it('keeps the SQLSTATE and the retry verdict of its cause', () => {
    const error = new DatabaseOperationError('settling', pgError('40P01'));
    expect(error).toMatchObject({ sqlState: '40P01', retriable: true });
    expect(error.message).toMatch(/^settling failed/);
    expect(sqlStateOf(new Error('plain'))).toBeUndefined();
  });
});
