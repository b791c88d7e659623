import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../workers/runtime/errors/processingErrors.ts';
import { buildDeadLetterRecord } from '../../workers/runtime/resilience/deadLetterRecord.ts';
import { type DlqFilter, isFiltered, matchesFilter } from './dlqFilter.ts';
import { toDlqRecord } from './dlqRecord.ts';

function deadLetter(key: string | null, error: unknown, at: string) {
  const record = buildDeadLetterRecord(
    {
      topic: 'fleet.x.v1',
      partition: 1,
      offset: 7,
      timestamp: 1000,
      key: key === null ? null : Buffer.from(key),
      value: Buffer.from('v'),
      headers: {},
      error,
      attempts: 3,
      groupId: 'fleet.g',
      worker: 'w',
    },
    { sourcePartitionCount: 3, deadLetterPartitionCount: 3, deadLetteredAt: new Date(at) },
  );
  return toDlqRecord({
    topic: record.topic,
    partition: 1,
    offset: 0,
    timestamp: Date.parse(at),
    key: record.key,
    value: record.value,
    headers: Object.entries(record.headers).map(([name, value]) => ({ [name]: value })),
  });
}

describe('matchesFilter', () => {
  const permanent = deadLetter('vehicle-1', new PermanentError('no'), '2026-05-01T10:00:00Z');

  it('selects everything without criteria', () => {
    expect(isFiltered({})).toBe(false);
    expect(matchesFilter(permanent, {})).toBe(true);
  });

  it('requires every criterion: since inclusive, until exclusive, error class, key', () => {
    const at = Date.parse('2026-05-01T10:00:00Z');
    const cases: [DlqFilter, boolean][] = [
      [{ since: at }, true],
      [{ since: at + 1 }, false],
      [{ until: at }, false],
      [{ until: at + 1 }, true],
      [{ errorClass: 'PermanentError' }, true],
      [{ errorClass: 'Error' }, false],
      [{ key: 'vehicle-1' }, true],
      [{ key: 'vehicle-2' }, false],
      [{ key: 'vehicle-1', errorClass: 'Error' }, false],
    ];
    for (const [filter, expected] of cases)
      expect(matchesFilter(permanent, filter), JSON.stringify(filter)).toBe(expected);
  });

  it('selects by error code, AND-ed with the class and the key (one class carries many codes)', () => {
    const refund = deadLetter(
      'rental-1',
      new PermanentError('no payment', { code: 'REFUND_OF_UNKNOWN_PAYMENT' }),
      '2026-05-01T10:00:00Z',
    );
    const cases: [DlqFilter, boolean][] = [
      [{ errorCode: 'REFUND_OF_UNKNOWN_PAYMENT' }, true],
      [{ errorCode: 'REFUND_MISMATCH' }, false],
      [{ errorCode: 'REFUND_OF_UNKNOWN_PAYMENT', errorClass: 'PermanentError' }, true],
      [{ errorCode: 'REFUND_OF_UNKNOWN_PAYMENT', errorClass: 'Error' }, false],
      [{ errorCode: 'REFUND_OF_UNKNOWN_PAYMENT', key: 'rental-2' }, false],
    ];
    for (const [filter, expected] of cases)
      expect(matchesFilter(refund, filter), JSON.stringify(filter)).toBe(expected);
    expect(isFiltered({ errorCode: 'REFUND_MISMATCH' })).toBe(true);
  });

  it('never matches a key criterion on a null key', () => {
    expect(matchesFilter(deadLetter(null, new Error('x'), '2026-05-01T10:00:00Z'), { key: '' })).toBe(false);
  });

  it('keeps a record with unreadable headers visible (and out of error-class and error-code selections)', () => {
    const broken = toDlqRecord({
      topic: 't.dlq',
      partition: 0,
      offset: 0,
      timestamp: 5,
      value: null,
      headers: [],
    });
    expect(broken.info).toBeUndefined();
    expect(broken.problem).toMatch(/fleet.dlq.original-topic is missing/);
    expect(matchesFilter(broken, {})).toBe(true);
    expect(matchesFilter(broken, { errorClass: 'Error' })).toBe(false);
    expect(matchesFilter(broken, { errorCode: 'PERMANENT' })).toBe(false);
  });
});
