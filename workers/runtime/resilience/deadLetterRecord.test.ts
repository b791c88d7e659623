import { describe, expect, it } from 'vitest';
import { PermanentError, PoisonMessageError } from '../errors/processingErrors.ts';
import {
  buildDeadLetterRecord,
  DeadLetterHeadersError,
  type DeadLetterPlacement,
  deadLetterHeaders,
  type FailedMessage,
  maxErrorMessageBytes,
  parseDeadLetterHeaders,
  truncateUtf8,
} from './deadLetterRecord.ts';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function failed(overrides: Partial<FailedMessage> = {}): FailedMessage {
  return {
    topic: 'fleet.reservation.commands.v1',
    partition: 4,
    offset: 9_007_199_254,
    timestamp: 1_767_225_600_000,
    key: Buffer.from('vehicle-42'),
    value: Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]),
    headers: { 'correlation-id': Buffer.from('corr-1'), traceparent: Buffer.from(traceparent) },
    error: new PermanentError('vehicle is retired', { code: 'VEHICLE_RETIRED' }),
    attempts: 3,
    groupId: 'fleet.settler',
    worker: 'settler',
    ...overrides,
  };
}

function placement(overrides: Partial<DeadLetterPlacement> = {}): DeadLetterPlacement {
  return {
    sourcePartitionCount: 12,
    deadLetterPartitionCount: 12,
    deadLetteredAt: new Date('2026-01-01T00:00:05.000Z'),
    ...overrides,
  };
}

/** The record of a failure with the defaults above, overridden field by field. */
function build(failure: Partial<FailedMessage> = {}, where: Partial<DeadLetterPlacement> = {}) {
  return buildDeadLetterRecord(failed(failure), placement(where));
}

describe('buildDeadLetterRecord', () => {
  it('keeps key, value bytes and partition, and adds the fleet.dlq.* headers', () => {
    const record = build();
    expect(record.topic).toBe('fleet.reservation.commands.v1.dlq');
    expect(record.partition).toBe(4);
    expect(record.key?.equals(Buffer.from('vehicle-42'))).toBe(true);
    expect(record.value?.equals(Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]))).toBe(true);
    expect(record.headers).toEqual({
      'correlation-id': Buffer.from('corr-1'),
      traceparent: Buffer.from(traceparent),
      'fleet.dlq.original-topic': 'fleet.reservation.commands.v1',
      'fleet.dlq.original-partition': '4',
      'fleet.dlq.original-offset': '9007199254',
      'fleet.dlq.original-timestamp': '1767225600000',
      'fleet.dlq.consumer-group': 'fleet.settler',
      'fleet.dlq.error-class': 'PermanentError',
      'fleet.dlq.error-code': 'VEHICLE_RETIRED',
      'fleet.dlq.error-message': 'vehicle is retired',
      'fleet.dlq.attempts': '3',
      'fleet.dlq.worker': 'settler',
      'fleet.dlq.dead-lettered-at': '2026-01-01T00:00:05.000Z',
    });
  });

  it('keeps null key and value as null', () => {
    const record = build({ key: null, value: null });
    expect(record.key).toBeNull();
    expect(record.value).toBeNull();
  });

  it('leaves the partition to the key partitioner when the DLQ has fewer partitions than the source', () => {
    expect(build({}, { deadLetterPartitionCount: 6 }).partition).toBeUndefined();
    expect(build({}, { deadLetterPartitionCount: 24 }).partition).toBe(4);
  });

  it('adds the correlation id when the original record had none, and replaces headers of an earlier dead-lettering', () => {
    const record = build(
      { headers: { 'fleet.dlq.attempts': Buffer.from('9'), 'fleet.dlq.stale': Buffer.from('x') } },
      { correlationId: 'generated-7' },
    );
    expect(record.headers['correlation-id']).toBe('generated-7');
    expect(record.headers['fleet.dlq.attempts']).toBe('3');
    expect(record.headers['fleet.dlq.stale']).toBeUndefined();
  });

  it('sends a repeated original header as often as it came, in order, before the fleet.dlq.* ones', () => {
    const record = build({
      headerList: [
        ['x-rep', Buffer.from('first')],
        ['correlation-id', Buffer.from('corr-1')],
        ['x-rep', Buffer.from('second')],
        ['fleet.dlq.stale', Buffer.from('from an earlier dead-lettering')],
      ],
    });
    const names = record.headerList.map(([name]) => name);
    expect(names.slice(0, 3)).toEqual(['x-rep', 'correlation-id', 'x-rep']);
    expect(names.slice(3).every((name) => name.startsWith('fleet.dlq.'))).toBe(true);
    expect(names).not.toContain('fleet.dlq.stale');
    expect(record.headerList.filter(([name]) => name === 'x-rep').map(([, v]) => v.toString())).toEqual([
      'first',
      'second',
    ]);
    // Read back, both values are there for a replay.
    const read: Record<string, Buffer[]> = {};
    for (const [name, value] of record.headerList) read[name] = [...(read[name] ?? []), Buffer.from(value)];
    expect(
      parseDeadLetterHeaders(read)
        .originalHeaderList.filter(([name]) => name === 'x-rep')
        .map(([, v]) => v.toString()),
    ).toEqual(['first', 'second']);
  });

  it('describes non-ProcessingError values', () => {
    const record = build({ error: 'boom' });
    expect(record.headers[deadLetterHeaders.errorClass]).toBe('string');
    expect(record.headers[deadLetterHeaders.errorCode]).toBe('UNEXPECTED');
    expect(record.headers[deadLetterHeaders.errorMessage]).toBe('boom');
  });

  it('truncates the error message to 1 KiB of UTF-8 without splitting a character', () => {
    const long = 'é'.repeat(2_000);
    const record = build({ error: new PoisonMessageError(long) });
    const header = record.headers[deadLetterHeaders.errorMessage] as string;
    expect(Buffer.byteLength(header)).toBeLessThanOrEqual(maxErrorMessageBytes);
    expect(header.endsWith('…')).toBe(true);
    expect(header).not.toContain('\uFFFD');
    expect(header.length).toBeGreaterThan(500);
  });
});

describe('truncateUtf8', () => {
  it('returns short text unchanged', () => {
    expect(truncateUtf8('short', 1024)).toBe('short');
    expect(truncateUtf8('a'.repeat(1024), 1024)).toBe('a'.repeat(1024));
  });

  it('cuts at a character boundary', () => {
    // 'ab€€x' is 9 bytes; '…' takes 3 of the budget.
    expect(truncateUtf8('ab€€x', 8)).toBe('ab€…');
    expect(truncateUtf8('ab€€x', 7)).toBe('ab…');
  });
});

describe('parseDeadLetterHeaders', () => {
  it('inverts buildDeadLetterRecord and returns the original headers for a replay', () => {
    const record = build();
    const asBuffers = Object.fromEntries(
      Object.entries(record.headers).map(([name, value]) => [
        name,
        Buffer.isBuffer(value) ? value : Buffer.from(value),
      ]),
    );
    expect(parseDeadLetterHeaders(asBuffers)).toEqual({
      originalTopic: 'fleet.reservation.commands.v1',
      originalPartition: 4,
      originalOffset: 9_007_199_254,
      originalTimestamp: 1_767_225_600_000,
      consumerGroup: 'fleet.settler',
      errorClass: 'PermanentError',
      errorCode: 'VEHICLE_RETIRED',
      errorMessage: 'vehicle is retired',
      attempts: 3,
      worker: 'settler',
      deadLetteredAt: new Date('2026-01-01T00:00:05.000Z'),
      originalHeaders: { 'correlation-id': Buffer.from('corr-1'), traceparent: Buffer.from(traceparent) },
      originalHeaderList: [
        ['correlation-id', Buffer.from('corr-1')],
        ['traceparent', Buffer.from(traceparent)],
      ],
    });
  });

  it('accepts string and repeated header values (last wins)', () => {
    const headers: Record<string, string | string[]> = Object.fromEntries(
      Object.entries(build().headers).map(([k, v]) => [k, v.toString()]),
    );
    headers[deadLetterHeaders.attempts] = ['1', '5'];
    expect(parseDeadLetterHeaders(headers).attempts).toBe(5);
  });

  it('names every missing or malformed header', () => {
    const headers: Record<string, string> = Object.fromEntries(
      Object.entries(build().headers).map(([k, v]) => [k, v.toString()]),
    );
    delete headers[deadLetterHeaders.worker];
    headers[deadLetterHeaders.originalOffset] = '-1';
    headers[deadLetterHeaders.deadLetteredAt] = 'yesterday';
    let thrown: unknown;
    try {
      parseDeadLetterHeaders(headers);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DeadLetterHeadersError);
    expect((thrown as DeadLetterHeadersError).retriable).toBe(false);
    expect((thrown as DeadLetterHeadersError).problems).toEqual([
      'fleet.dlq.dead-lettered-at is not an ISO date: "yesterday"',
      'fleet.dlq.original-offset is not a non-negative integer: "-1"',
      'fleet.dlq.worker is missing',
    ]);
  });
});
