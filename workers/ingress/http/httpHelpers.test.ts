import { describe, expect, it } from 'vitest';
import { DatabaseOperationError } from '../../../db/pgErrors.ts';
import { RetriableError } from '../../runtime/errors/processingErrors.ts';
import { EnqueueError } from '../reservations/reservationCommands.ts';
import {
  decodeReservationCursor,
  decodeVehicleCursor,
  encodeReservationCursor,
  encodeVehicleCursor,
} from '../routes/cursors.ts';
import { parsePageQuery } from '../routes/pageQuery.ts';
import { HttpProblem, instanceOf } from './problemDetails.ts';
import { problemFor } from './problemMapping.ts';
import { isValidRequestId, requestIdFrom, validTraceparent } from './requestIdentity.ts';
import { RouteTable } from './routeTable.ts';

describe('request identity headers (untrusted input)', () => {
  it('keeps a plain X-Request-Id and replaces anything else with a UUID', () => {
    expect(requestIdFrom({ 'x-request-id': 'abc-123_x.y:z' })).toBe('abc-123_x.y:z');
    for (const bad of ['', 'has space', 'a'.repeat(129), 'new\nline', '"quoted"', '-leading-dash']) {
      expect(isValidRequestId(bad), bad).toBe(false);
      expect(requestIdFrom({ 'x-request-id': bad })).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('accepts only well-formed version-00 traceparent values', () => {
    const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(validTraceparent({ traceparent: valid })).toBe(valid);
    for (const bad of [
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      `${valid}-extra`,
      'garbage',
    ]) {
      expect(validTraceparent({ traceparent: bad }), bad).toBeUndefined();
    }
  });
});

describe('problem mapping', () => {
  it('turns typed errors into the right problem, and unknown errors into a fixed 500', () => {
    expect(problemFor(new EnqueueError('broker', 'down', 10)).status).toBe(503);
    expect(problemFor(new EnqueueError('broker', 'down', 10)).headers['retry-after']).toBe('10');
    expect(problemFor(new EnqueueError('encode', 'bug', 10)).status).toBe(500);
    expect(
      problemFor(new DatabaseOperationError('x', Object.assign(new Error('gone'), { code: 'ECONNREFUSED' })))
        .status,
    ).toBe(503);
    expect(
      problemFor(new DatabaseOperationError('x', Object.assign(new Error('no'), { code: '42P01' }))).status,
    ).toBe(500);
    const busy = problemFor(new RetriableError('waited 2000 ms', { code: 'BATCH_QUEUE_TIMEOUT' }));
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('2');
    expect(
      problemFor(Object.assign(new Error('big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }))
        .status,
    ).toBe(413);
    expect(
      problemFor(
        Object.assign(new Error('type'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }),
      ).status,
    ).toBe(415);
    const internal = problemFor(new TypeError('cannot read x of undefined'));
    expect(internal.status).toBe(500);
    expect(JSON.stringify(internal.toBody('/v1/x'))).not.toContain('undefined');
  });

  it('renders RFC 9457 members, extensions and the instance path without the query', () => {
    const problem = new HttpProblem({
      status: 409,
      type: 'https://fleetstream.dev/problems/x',
      title: 'X',
      detail: 'd',
      extensions: { limit: 5 },
    });
    expect(problem.toBody(instanceOf('/v1/reservations?a=1'))).toEqual({
      type: 'https://fleetstream.dev/problems/x',
      title: 'X',
      status: 409,
      detail: 'd',
      instance: '/v1/reservations',
      limit: 5,
    });
  });
});

describe('route table', () => {
  it('lists the methods of a path template for 405 answers', () => {
    const table = new RouteTable();
    table.add('GET', '/v1/reservations/:reservationId');
    table.add('DELETE', '/v1/reservations/:reservationId');
    table.add('POST', '/v1/reservations');
    expect(table.allowedMethods('/v1/reservations/abc')).toEqual(['DELETE', 'GET']);
    expect(table.allowedMethods('/v1/reservations')).toEqual(['POST']);
    expect(table.allowedMethods('/v1/reservations/abc/more')).toEqual([]);
  });
});

describe('listing queries and cursors', () => {
  it('bounds limit to 1..100 and refuses unknown parameters', () => {
    expect(parsePageQuery({}, 20)).toEqual({ limit: 20, cursor: undefined });
    expect(parsePageQuery({ limit: '100', cursor: 'abc' }, 20)).toEqual({ limit: 100, cursor: 'abc' });
    for (const query of [
      { limit: '0' },
      { limit: '101' },
      { limit: '1.5' },
      { limit: ['1', '2'] },
      { offset: '10' },
    ]) {
      expect(() => parsePageQuery(query, 20)).toThrow(HttpProblem);
    }
  });

  it('round-trips opaque cursors and refuses forged ones', () => {
    const id = '0b0f7c3e-4a2d-5e6f-8a9b-0c1d2e3f4a5b';
    expect(decodeVehicleCursor(encodeVehicleCursor(id))).toBe(id);
    const position = { createdAt: '2030-01-01T10:00:00.123456Z', reservationId: id };
    expect(decodeReservationCursor(encodeReservationCursor(position))).toEqual(position);
    for (const forged of [
      Buffer.from(`v1:' OR 1=1 --`).toString('base64url'),
      'not base64!',
      encodeVehicleCursor(id).slice(0, 10),
    ]) {
      expect(() => decodeVehicleCursor(forged)).toThrow(HttpProblem);
    }
    expect(() => decodeReservationCursor(encodeVehicleCursor(id))).toThrow(HttpProblem);
  });
});
