import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngressService } from './ingressService.ts';
import {
  type CapturedLog,
  findCommand,
  IngressTestEnvironment,
  type ReadCommand,
  readCommands,
  seededVehicleIds,
} from './testing/ingressTestKit.ts';

// The HTTP contract of BRIEF §4 for reservations, against PostgreSQL, Redis, Kafka and the registry.
const world = new IngressTestEnvironment();
let service: IngressService;
let app: FastifyInstance;
let log: CapturedLog;
let alice: string;
let bob: string;
let admin: string;

const day = 86_400_000;
/** A period `offsetDays` from now, `lengthDays` long, as RFC 3339 strings. */
function period(offsetDays: number, lengthDays = 1): { startsAt: string; endsAt: string } {
  const start = Date.now() + offsetDays * day;
  return {
    startsAt: new Date(start).toISOString(),
    endsAt: new Date(start + lengthDays * day).toISOString(),
  };
}

function post(
  token: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/v1/reservations',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function get(token: string, url: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
}

async function requestRows(customerId: string) {
  const result = await world.owner.query<{
    reservation_id: string;
    status: string;
    idempotency_key: string | null;
  }>(
    'SELECT reservation_id, status, idempotency_key FROM fleet.reservation_requests WHERE customer_id = $1',
    [customerId],
  );
  return result.rows;
}

/** Asserts an RFC 9457 body and the headers every error carries; returns the body. */
function expectProblem(response: LightMyRequestResponse, status: number, type: string) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  const body = response.json();
  expect(body).toMatchObject({ type: `https://fleetstream.dev/problems/${type}`, status });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.instance).toMatch(/^\//);
  expect(response.body).not.toMatch(/\bat .+\.ts:\d+|stack/i);
  return body;
}

beforeAll(async () => {
  await world.setUp('ingress-reservations');
  ({ service, log } = await world.start());
  app = service.ingress.app;
  alice = await world.token(`alice-${randomUUID()}`);
  bob = await world.token(`bob-${randomUUID()}`);
  admin = await world.token('ops-admin', 'admin');
});

afterAll(async () => {
  await world.close();
});

describe('POST /v1/reservations', () => {
  it('answers 202 with the reservation id and Location after the broker acknowledged; the command decodes from Kafka', async () => {
    const subject = `carol-${randomUUID()}`;
    const token = await world.token(subject);
    const vehicleId = seededVehicleIds[0] as string;
    const requestId = `req-${randomUUID()}`;
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const { startsAt, endsAt } = period(3, 2);
    const response = await post(
      token,
      { vehicleId, startsAt, endsAt },
      { 'x-request-id': requestId, traceparent: `00-${traceId}-1122334455667788-01` },
    );
    expect(response.statusCode).toBe(202);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['reservationId', 'status']);
    expect(body.status).toBe('pending');
    expect(body.reservationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.location).toBe(`/v1/reservations/${body.reservationId}`);
    expect(response.headers['x-request-id']).toBe(requestId);
    expect(response.headers['x-powered-by']).toBeUndefined();
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['ratelimit-policy']).toBe('"customer";q=60;w=60, "ip";q=300;w=60');
    expect(response.headers.ratelimit).toMatch(/^"customer";r=59;t=1, "ip";r=\d+;t=\d+$/);

    expect(await requestRows(subject)).toEqual([
      { reservation_id: body.reservationId, status: 'pending', idempotency_key: null },
    ]);
    const record = (await readCommands(world.topic, 1, world.registry))[0] as ReadCommand;
    expect(record.key).toBe(vehicleId);
    expect(record.headers['correlation-id']).toBe(requestId);
    expect(record.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(record.value).toMatchObject({
      correlationId: requestId,
      payload: {
        'dev.fleetstream.reservation.ReservationRequested': {
          reservationId: body.reservationId,
          customerId: subject,
          vehicleId,
          startsAt: Date.parse(startsAt),
          endsAt: Date.parse(endsAt),
          idempotencyKey: null,
        },
      },
    });
    expect((record.value as { commandId: string }).commandId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5/);
  });
});

describe('POST /v1/reservations input handling', () => {
  it('refuses mass assignment of status, customerId and reservationId (400 naming each field), writing nothing', async () => {
    const subject = `mallory-${randomUUID()}`;
    const token = await world.token(subject);
    const response = await post(token, {
      vehicleId: seededVehicleIds[1],
      ...period(2),
      status: 'confirmed',
      customerId: 'someone-else',
      reservationId: randomUUID(),
    });
    const body = expectProblem(response, 400, 'validation');
    expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'customerId',
      'reservationId',
      'status',
    ]);
    expect(body.errors[0]).toMatchObject({ in: 'body', pointer: `#/${body.errors[0].field}` });
    expect(await requestRows(subject)).toEqual([]);
    expect(await requestRows('someone-else')).toEqual([]);
  });

  it('names every malformed field in one 400: missing, wrong type, not a UUID, no offset, impossible date', async () => {
    const missing = expectProblem(await post(alice, {}), 400, 'validation');
    expect(
      missing.errors.map((e: { field: string; detail: string }) => `${e.field}: ${e.detail}`).sort(),
    ).toEqual(['endsAt: is required', 'startsAt: is required', 'vehicleId: is required']);
    const malformed = expectProblem(
      await post(alice, {
        vehicleId: 'car-1',
        startsAt: '2030-01-01T10:00:00',
        endsAt: '2030-02-30T10:00:00Z',
      }),
      400,
      'validation',
    );
    expect(malformed.errors.map((e: { field: string }) => e.field)).toEqual([
      'vehicleId',
      'startsAt',
      'endsAt',
    ]);
    const wrongType = expectProblem(await post(alice, { vehicleId: 7, ...period(2) }), 400, 'validation');
    expect(wrongType.errors).toEqual([
      { field: 'vehicleId', in: 'body', pointer: '#/vehicleId', detail: 'must be a string' },
    ]);
    expectProblem(await post(alice, [1, 2]), 400, 'validation');
    expectProblem(await post(alice, '{"vehicleId": '), 400, 'validation');
  });

  it('answers 422 naming the field for periods that break a rule (order, past, length, advance)', async () => {
    const vehicleId = seededVehicleIds[2];
    const cases: [Record<string, string>, string][] = [
      [{ startsAt: period(5).endsAt, endsAt: period(5).startsAt }, 'endsAt'],
      [period(-2), 'startsAt'],
      [period(2, 31), 'endsAt'],
      [period(400), 'startsAt'],
    ];
    for (const [dates, field] of cases) {
      const body = expectProblem(
        await post(alice, { vehicleId, ...dates }),
        422,
        'invalid-reservation-period',
      );
      expect(body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
  });

  it('accepts offsets other than Z and stores the same instant', async () => {
    const subject = `dave-${randomUUID()}`;
    const token = await world.token(subject);
    const start = new Date(Date.now() + 10 * day);
    start.setUTCHours(8, 0, 0, 0);
    const local = `${start.toISOString().slice(0, 10)}T10:00:00.000+02:00`;
    const end = new Date(start.getTime() + day).toISOString();
    const response = await post(token, { vehicleId: seededVehicleIds[3], startsAt: local, endsAt: end });
    expect(response.statusCode).toBe(202);
    const view = (await get(token, response.headers.location as string)).json();
    expect(view.startsAt).toBe(start.toISOString());
  });

  it('answers 413 for a body over the limit, 415 for another media type or none', async () => {
    const huge = JSON.stringify({ vehicleId: seededVehicleIds[0], ...period(2), pad: 'x'.repeat(5000) });
    expectProblem(await post(alice, huge), 413, 'payload-too-large');
    expectProblem(
      await post(alice, 'vehicleId=1', { 'content-type': 'text/plain' }),
      415,
      'unsupported-media-type',
    );
    expectProblem(
      await post(alice, 'vehicleId=1', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'unsupported-media-type',
    );
    const none = await app.inject({
      method: 'POST',
      url: '/v1/reservations',
      headers: { authorization: `Bearer ${alice}` },
    });
    expectProblem(none, 415, 'unsupported-media-type');
    // JSON between systems is UTF-8 (RFC 8259): a body announced in another charset would be misread.
    for (const charset of ['utf-16', 'iso-8859-1']) {
      const body = JSON.stringify({ vehicleId: seededVehicleIds[0], ...period(2) });
      const response = await post(alice, body, { 'content-type': `application/json; charset=${charset}` });
      expectProblem(response, 415, 'unsupported-media-type');
    }
    expect(
      (
        await post(alice, JSON.stringify({ vehicleId: seededVehicleIds[0], ...period(2) }), {
          'content-type': 'application/json; charset="UTF-8"',
        })
      ).statusCode,
    ).toBe(202);
  });

  it('names the body when it is JSON but not an object, and a repeated Idempotency-Key header', async () => {
    const list = expectProblem(await post(alice, '[1,2]'), 400, 'validation');
    expect(list.errors).toEqual([expect.objectContaining({ field: 'body' })]);
    // Over a real connection: light-my-request has no headersDistinct, Node's parser does.
    const payload = JSON.stringify({ vehicleId: seededVehicleIds[0], ...period(2) });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    let raw = '';
    socket.on('data', (chunk: Buffer) => {
      raw += chunk.toString('utf8');
    });
    await once(socket, 'connect');
    socket.write(
      `POST /v1/reservations HTTP/1.1\r\nHost: ingress\r\nAuthorization: Bearer ${alice}\r\n` +
        'Content-Type: application/json\r\nIdempotency-Key: k1\r\nIdempotency-Key: k2\r\n' +
        `Connection: close\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    );
    await once(socket, 'close');
    const [head = '', text = ''] = raw.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(JSON.parse(text).errors).toEqual([
      expect.objectContaining({ field: 'Idempotency-Key', detail: 'must be sent once' }),
    ]);
  });

  it('refuses a body that repeats a member (400 naming it, escaped spellings too), writing nothing; proto keys stay refused', async () => {
    const subject = `dup-${randomUUID()}`;
    const token = await world.token(subject);
    const { startsAt, endsAt } = period(2);
    // JSON.parse keeps the last vehicleId, other parsers the first: the request means two things.
    const repeated = `{"vehicleId":"${seededVehicleIds[0]}","startsAt":"${startsAt}","endsAt":"${endsAt}","vehicleId":"${seededVehicleIds[1]}"}`;
    const body = expectProblem(await post(token, repeated), 400, 'validation');
    expect(body.errors).toEqual([
      expect.objectContaining({ field: 'vehicleId', in: 'body', pointer: '#/vehicleId' }),
    ]);
    // The same name spelt with an escape is the same member once decoded.
    const escaped = `{"vehicleId":"${seededVehicleIds[0]}","startsAt":"${startsAt}","endsAt":"${endsAt}","\\u0073tartsAt":"${startsAt}"}`;
    expect(expectProblem(await post(token, escaped), 400, 'validation').errors).toEqual([
      expect.objectContaining({ field: 'startsAt' }),
    ]);
    expect(await requestRows(subject)).toEqual([]);
    // Fastify's own checks still run first: prototype poisoning and malformed JSON.
    const poisoned = `{"vehicleId":"${seededVehicleIds[0]}","startsAt":"${startsAt}","endsAt":"${endsAt}","__proto__":{"status":"confirmed"}}`;
    expectProblem(await post(token, poisoned), 400, 'validation');
    expect(expectProblem(await post(token, '{"vehicleId":'), 400, 'validation').errors).toEqual([
      expect.objectContaining({ field: 'body', detail: 'must be valid JSON' }),
    ]);
    expect(await requestRows(subject)).toEqual([]);
    // One of each is still accepted.
    const single = `{"vehicleId":"${seededVehicleIds[0]}","startsAt":"${startsAt}","endsAt":"${endsAt}"}`;
    expect((await post(token, single)).statusCode).toBe(202);
  });

  it('refuses a vehicle the catalog does not have (422 unknown-vehicle) without writing a row', async () => {
    const subject = `erin-${randomUUID()}`;
    const token = await world.token(subject);
    const body = expectProblem(
      await post(token, { vehicleId: randomUUID(), ...period(2) }),
      422,
      'unknown-vehicle',
    );
    expect(body.errors[0].field).toBe('vehicleId');
    expect(await requestRows(subject)).toEqual([]);
  });
});

describe('Idempotency-Key', () => {
  it('returns the same reservation for the same key and body, and 422 for the same key with another body', async () => {
    const subject = `frank-${randomUUID()}`;
    const token = await world.token(subject);
    const body = { vehicleId: seededVehicleIds[4], ...period(6) };
    const key = { 'idempotency-key': `key-${randomUUID()}` };
    const first = await post(token, body, key);
    const second = await post(token, body, key);
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual(first.json());
    expect(second.headers.location).toBe(first.headers.location);
    const conflict = expectProblem(
      await post(token, { ...body, vehicleId: seededVehicleIds[5] }, key),
      422,
      'idempotency-key-reused',
    );
    expect(conflict.errors[0]).toMatchObject({ field: 'Idempotency-Key', in: 'header' });
    expect(await requestRows(subject)).toHaveLength(1);
    // The same key is scoped to its customer: another customer's identical key is independent.
    const other = await post(bob, body, key);
    expect(other.statusCode).toBe(202);
    expect(other.json().reservationId).not.toBe(first.json().reservationId);
  });

  it('answers a retry with its first reservation even when the period has started since', async () => {
    const subject = `hana-${randomUUID()}`;
    const token = await world.token(subject);
    const start = Date.now() + 10_000;
    const body = {
      vehicleId: seededVehicleIds[8],
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + 3_600_000).toISOString(),
    };
    const key = { 'idempotency-key': `key-${randomUUID()}` };
    const first = await post(token, body, key);
    expect(first.statusCode).toBe(202);
    // The same database, two minutes later: the period now starts in the past.
    const { service: later } = await world.start({}, { now: () => Date.now() + 120_000 });
    const postLater = (headers: Record<string, string>) =>
      later.ingress.app.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        payload: body,
      });
    const retry = await postLater(key);
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toEqual(first.json());
    // A new request for the same period is refused, as the rule says.
    expectProblem(
      await postLater({ 'idempotency-key': `key-${randomUUID()}` }),
      422,
      'invalid-reservation-period',
    );
    expect(await requestRows(subject)).toHaveLength(1);
  });

  it('lets concurrent duplicates create one reservation', async () => {
    const subject = `grace-${randomUUID()}`;
    const token = await world.token(subject);
    const body = { vehicleId: seededVehicleIds[6], ...period(8) };
    const key = { 'idempotency-key': `"${randomUUID()}"` };
    const responses = await Promise.all(Array.from({ length: 8 }, () => post(token, body, key)));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(8).fill(202));
    expect(new Set(responses.map((r) => r.json().reservationId)).size).toBe(1);
    expect(await requestRows(subject)).toHaveLength(1);
  });

  it('refuses a key that is too long or not visible ASCII', async () => {
    const body = { vehicleId: seededVehicleIds[7], ...period(9) };
    const long = expectProblem(
      await post(alice, body, { 'idempotency-key': 'k'.repeat(201) }),
      400,
      'validation',
    );
    expect(long.errors[0]).toMatchObject({ field: 'Idempotency-Key', in: 'header' });
    expectProblem(await post(alice, body, { 'idempotency-key': 'has space' }), 400, 'validation');
    expect((await post(alice, body, { 'idempotency-key': 'k'.repeat(200) })).statusCode).toBe(202);
  });
});

describe('per-customer quota (OWASP API6)', () => {
  it('refuses the 6th open reservation with 409 reservation-quota-exceeded; ended and rejected ones do not count', async () => {
    const subject = `hoarder-${randomUUID()}`;
    const token = await world.token(subject);
    // A finished and a rejected reservation of this customer must not use up the quota.
    await world.owner.query(
      `INSERT INTO fleet.reservation_requests (reservation_id, customer_id, vehicle_id, requested_period, request_hash)
       VALUES ($1, $3, $4, tstzrange(now() - interval '3 days', now() - interval '2 days'), $5),
              ($2, $3, $4, tstzrange(now() + interval '3 days', now() + interval '4 days'), $5)`,
      [randomUUID(), randomUUID(), subject, seededVehicleIds[8], Buffer.alloc(32)],
    );
    await world.owner.query(
      `UPDATE fleet.reservation_requests SET status = 'rejected', decision_reason = 'overlap', decided_at = now()
       WHERE customer_id = $1 AND lower(requested_period) > now()`,
      [subject],
    );
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        post(token, { vehicleId: seededVehicleIds[10 + i], ...period(2 + i) }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([202, 202, 202, 202, 202, 409, 409, 409]);
    const refused = responses.find((r) => r.statusCode === 409) as LightMyRequestResponse;
    const body = expectProblem(refused, 409, 'reservation-quota-exceeded');
    expect(body.limit).toBe(5);
    const open = await world.owner.query(
      `SELECT count(*)::int AS n FROM fleet.reservation_requests
       WHERE customer_id = $1 AND status IN ('pending', 'confirmed') AND upper(requested_period) > now()`,
      [subject],
    );
    expect(open.rows[0].n).toBe(5);
  });
});

describe('GET /v1/reservations/{id} and object-level authorization (OWASP API1)', () => {
  let reservationId: string;
  let vehicleId: string;

  beforeAll(async () => {
    vehicleId = seededVehicleIds[20] as string;
    const response = await post(alice, { vehicleId, ...period(12) });
    expect(response.statusCode).toBe(202);
    reservationId = response.json().reservationId;
  });

  it('shows the owner exactly the contract fields', async () => {
    const response = await get(alice, `/v1/reservations/${reservationId}`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['endsAt', 'reservationId', 'startsAt', 'status', 'vehicleId']);
    expect(body).toMatchObject({ reservationId, vehicleId, status: 'pending' });
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('answers another customer 404 exactly like a reservation that does not exist, leaking nothing', async () => {
    const foreign = expectProblem(await get(bob, `/v1/reservations/${reservationId}`), 404, 'not-found');
    const missing = expectProblem(await get(bob, `/v1/reservations/${randomUUID()}`), 404, 'not-found');
    const strip = (b: Record<string, unknown>) => ({ ...b, instance: undefined, requestId: undefined });
    expect(strip(foreign)).toEqual(strip(missing));
    expect(JSON.stringify(foreign)).not.toContain(vehicleId);
    expectProblem(await get(bob, '/v1/reservations/not-a-uuid'), 404, 'not-found');
    // However long: an overlong id is an unknown one, not a malformed URL.
    expectProblem(await get(bob, `/v1/reservations/${'a'.repeat(400)}`), 404, 'not-found');
  });

  it('shows any reservation to an admin, and the reason of a rejection', async () => {
    expect((await get(admin, `/v1/reservations/${reservationId}`)).statusCode).toBe(200);
    const rejected = await post(alice, { vehicleId: seededVehicleIds[21], ...period(13) });
    const rejectedId = rejected.json().reservationId;
    await world.owner.query(
      `UPDATE fleet.reservation_requests SET status = 'rejected', decision_reason = 'overlap', decided_at = now()
       WHERE reservation_id = $1`,
      [rejectedId],
    );
    const body = (await get(alice, `/v1/reservations/${rejectedId}`)).json();
    expect(body).toMatchObject({ status: 'rejected', reason: 'overlap' });
  });

  it("refuses another customer's DELETE with 404 and enqueues nothing; the owner's DELETE enqueues a cancellation on the vehicle key", async () => {
    const del = (token: string, id: string) =>
      app.inject({
        method: 'DELETE',
        url: `/v1/reservations/${id}`,
        headers: { authorization: `Bearer ${token}` },
      });
    expectProblem(await del(bob, reservationId), 404, 'not-found');
    const response = await del(alice, reservationId);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ reservationId, status: 'pending', cancellationRequested: true });
    expect(response.headers.location).toBe(`/v1/reservations/${reservationId}`);
    const cancellation = await readCancellation(reservationId);
    expect(cancellation.key).toBe(vehicleId);
    expect(cancellation.headers['correlation-id']).toBe(response.headers['x-request-id']);
  });

  it('lets an admin cancel on behalf of the owner, and refuses to cancel a rejected reservation (409)', async () => {
    const placed = await post(alice, { vehicleId: seededVehicleIds[22], ...period(14) });
    const id = placed.json().reservationId;
    const byAdmin = await app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${id}`,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(byAdmin.statusCode).toBe(202);
    const command = await readCancellation(id);
    expect((command.value as CancellationValue).payload[cancellationBranch]?.customerId).toBe(
      (
        await world.owner.query(
          'SELECT customer_id FROM fleet.reservation_requests WHERE reservation_id = $1',
          [id],
        )
      ).rows[0].customer_id,
    );
    await world.owner.query(
      `UPDATE fleet.reservation_requests SET status = 'rejected', decision_reason = 'overlap', decided_at = now()
       WHERE reservation_id = $1`,
      [id],
    );
    const refused = await app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${id}`,
      headers: { authorization: `Bearer ${alice}` },
    });
    expectProblem(refused, 409, 'reservation-not-cancellable');
  });
});

type CancellationValue = {
  payload: Record<string, { reservationId: string; customerId: string } | undefined>;
};
const cancellationBranch = 'dev.fleetstream.reservation.ReservationCancellationRequested';

/** The cancellation command of `reservationId` on the commands topic. */
function readCancellation(reservationId: string): Promise<ReadCommand> {
  return findCommand(
    world.topic,
    world.registry,
    (record) =>
      (record.value as CancellationValue).payload[cancellationBranch]?.reservationId === reservationId,
  );
}

describe('logs', () => {
  it('never log the bearer token, and carry the correlation id on request lines', () => {
    const text = JSON.stringify(log.lines);
    expect(text).not.toContain(alice);
    const completed = log.withMessage('request completed');
    expect(completed.length).toBeGreaterThan(0);
    expect(completed.every((line) => typeof line.correlation_id === 'string')).toBe(true);
  });
});
