import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../http/problemDetails.ts';
import type { ReservationRules } from '../ingressConfig.ts';
import { parseIdempotencyKey, parseReservationRequest, requestHash } from './reservationInput.ts';
import { parseRfc3339 } from './rfc3339.ts';

const rules: ReservationRules = {
  maxDurationDays: 30,
  maxAdvanceDays: 365,
  startGraceSeconds: 60,
  quotaPerCustomer: 5,
};
const now = Date.parse('2030-01-10T12:00:00Z');
const vehicleId = '5D6E2A8B-3C4F-5A1B-9C2D-0E1F2A3B4C5D';

function problemOf(run: () => unknown): HttpProblem {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpProblem);
    return error as HttpProblem;
  }
  throw new Error('expected a problem');
}

describe('RFC 3339 date-times', () => {
  it('reads Z and numeric offsets, fractions (truncated to ms) and lower-case separators', () => {
    expect(parseRfc3339('2030-05-01T10:00:00Z')).toBe(Date.UTC(2030, 4, 1, 10));
    expect(parseRfc3339('2030-05-01T12:00:00+02:00')).toBe(Date.UTC(2030, 4, 1, 10));
    expect(parseRfc3339('2030-05-01T05:30:00-04:30')).toBe(Date.UTC(2030, 4, 1, 10));
    expect(parseRfc3339('2030-05-01t10:00:00.123456789z')).toBe(Date.UTC(2030, 4, 1, 10, 0, 0, 123));
    // RFC 3339 sets no limit on the fraction's digits.
    expect(parseRfc3339('2030-05-01T10:00:00.1234567890123Z')).toBe(Date.UTC(2030, 4, 1, 10, 0, 0, 123));
    expect(parseRfc3339('2032-02-29T00:00:00Z')).toBe(Date.UTC(2032, 1, 29));
  });

  it('refuses a missing offset, impossible dates, leap seconds and other spellings', () => {
    for (const text of [
      '2030-05-01T10:00:00',
      '2030-05-01 10:00:00Z',
      '2030-02-29T00:00:00Z',
      '2030-04-31T00:00:00Z',
      '2030-12-31T23:59:60Z',
      '2030-05-01T24:00:00Z',
      '2030-05-01T10:00:00+24:00',
      '2030-05-01',
      '1714557600',
      '0099-05-01T10:00:00Z',
    ]) {
      expect(parseRfc3339(text), text).toBeUndefined();
    }
  });
});

describe('POST /v1/reservations body', () => {
  it('returns the validated request with a lower-case vehicle id', () => {
    expect(
      parseReservationRequest(
        { vehicleId, startsAt: '2030-01-11T10:00:00Z', endsAt: '2030-01-12T10:00:00Z' },
        rules,
        now,
      ),
    ).toEqual({
      vehicleId: vehicleId.toLowerCase(),
      startsAtMs: Date.parse('2030-01-11T10:00:00Z'),
      endsAtMs: Date.parse('2030-01-12T10:00:00Z'),
    });
  });

  it('refuses unknown fields (mass assignment) with 400 naming each', () => {
    const problem = problemOf(() =>
      parseReservationRequest(
        {
          vehicleId,
          startsAt: '2030-01-11T10:00:00Z',
          endsAt: '2030-01-12T10:00:00Z',
          status: 'confirmed',
          customerId: 'x',
        },
        rules,
        now,
      ),
    );
    expect(problem.status).toBe(400);
    expect(problem.errors?.map((e) => e.field)).toEqual(['status', 'customerId']);
  });

  it('applies the period rules with 422 naming the field, allowing the start grace', () => {
    const at = (startsAt: string, endsAt: string) => () =>
      parseReservationRequest({ vehicleId, startsAt, endsAt }, rules, now);
    expect(problemOf(at('2030-01-12T10:00:00Z', '2030-01-12T10:00:00Z')).errors?.[0]?.field).toBe('endsAt');
    expect(problemOf(at('2030-01-11T00:00:00Z', '2030-02-10T00:00:01Z')).errors?.[0]?.field).toBe('endsAt');
    expect(problemOf(at('2030-01-10T11:58:59Z', '2030-01-11T00:00:00Z')).errors?.[0]?.field).toBe('startsAt');
    expect(problemOf(at('2031-01-10T12:00:01Z', '2031-01-11T00:00:00Z')).status).toBe(422);
    expect(at('2030-01-10T11:59:30Z', '2030-01-11T00:00:00Z')()).toMatchObject({
      startsAtMs: Date.parse('2030-01-10T11:59:30Z'),
      endsAtMs: Date.parse('2030-01-11T00:00:00Z'),
    });
    expect(at('2030-01-11T00:00:00Z', '2030-02-10T00:00:00Z')()).toMatchObject({
      startsAtMs: Date.parse('2030-01-11T00:00:00Z'),
      endsAtMs: Date.parse('2030-02-10T00:00:00Z'),
    });
  });

  it('hashes the instants, not their spelling', () => {
    const a = parseReservationRequest(
      { vehicleId, startsAt: '2030-01-11T10:00:00Z', endsAt: '2030-01-12T10:00:00Z' },
      rules,
      now,
    );
    const b = parseReservationRequest(
      {
        vehicleId: vehicleId.toLowerCase(),
        startsAt: '2030-01-11T11:00:00+01:00',
        endsAt: '2030-01-12T10:00:00.000Z',
      },
      rules,
      now,
    );
    expect(requestHash(a).equals(requestHash(b))).toBe(true);
    expect(requestHash({ ...a, endsAtMs: a.endsAtMs + 1 }).equals(requestHash(a))).toBe(false);
  });
});

describe('Idempotency-Key header', () => {
  it('accepts 1-200 visible ASCII characters, unwrapping a structured-field string', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey('abc-123')).toBe('abc-123');
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe(
      '8e03978e-40d5-43e8-bc93-6894a57f9324',
    );
    expect(parseIdempotencyKey('k'.repeat(200))).toHaveLength(200);
    expect(parseIdempotencyKey(['abc-123'])).toBe('abc-123');
  });

  it('refuses a key sent twice as such (Node would join the two values with a comma)', () => {
    const problem = problemOf(() => parseIdempotencyKey(['a', 'b']));
    expect(problem.status).toBe(400);
    expect(problem.errors?.[0]).toMatchObject({
      field: 'Idempotency-Key',
      in: 'header',
      detail: 'must be sent once',
    });
  });

  it('refuses empty, too long, spaced or non-ASCII keys with 400 naming the header', () => {
    for (const key of ['', '""', 'k'.repeat(201), 'a b', 'clé', 'a"b']) {
      const problem = problemOf(() => parseIdempotencyKey(key));
      expect(problem.status).toBe(400);
      expect(problem.errors?.[0]).toMatchObject({ field: 'Idempotency-Key', in: 'header' });
    }
  });
});
