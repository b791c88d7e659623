import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFreshDatabase, type FreshDatabase } from '../../db/testing/freshDatabase.ts';
import type { IngressService } from './ingressService.ts';
import { encodeReservationCursor } from './routes/cursors.ts';
import { IngressTestEnvironment, seededVehicleIds, waitFor } from './testing/ingressTestKit.ts';
import { metricSample } from './testing/metricSample.ts';

// Authentication, function-level authorization, the catalog listing, errors and the ops routes.
const world = new IngressTestEnvironment();
let service: IngressService;
let app: FastifyInstance;
let customer: string;
let admin: string;
let unmigrated: FreshDatabase | undefined;

beforeAll(async () => {
  await world.setUp('ingress-api');
  ({ service } = await world.start());
  app = service.ingress.app;
  customer = await world.token(`cust-${randomUUID()}`);
  admin = await world.token('admin-1', 'admin');
});

afterAll(async () => {
  await world.close();
  await unmigrated?.drop();
});

function get(
  url: string,
  token?: string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'GET',
    url,
    headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
  });
}

function problem(response: LightMyRequestResponse, status: number, type: string) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json();
  expect(body).toMatchObject({ type: `https://fleetstream.dev/problems/${type}`, status });
  return body;
}

const encoder = new TextEncoder();
const now = () => Math.floor(Date.now() / 1000);
const devSettings = () => world.config().jwt;

/** A token signed like a dev token with some claims or the key changed. */
async function forged(changes: {
  secret?: string;
  issuer?: string;
  audience?: string;
  exp?: number;
  role?: unknown;
  sub?: string | null;
}) {
  const settings = devSettings();
  const jwt = new SignJWT(
    changes.role === undefined ? { role: 'customer' } : { role: changes.role as string },
  )
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(changes.issuer ?? settings.issuer)
    .setAudience(changes.audience ?? settings.audience)
    .setIssuedAt(now() - 60)
    .setExpirationTime(changes.exp ?? now() + 600);
  if (changes.sub !== null) jwt.setSubject(changes.sub ?? 'forger');
  return jwt.sign(encoder.encode(changes.secret ?? (settings.secret as string)));
}

function unsecured(): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const settings = devSettings();
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({
    sub: 'admin-1',
    role: 'admin',
    iss: settings.issuer,
    aud: settings.audience,
    exp: now() + 600,
  })}.`;
}

describe('authentication (OWASP API2)', () => {
  it('answers 401 with a Bearer challenge and problem+json for a missing or non-bearer Authorization', async () => {
    const missing = await get('/v1/vehicles');
    problem(missing, 401, 'unauthorized');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="fleetstream"');
    expect(missing.headers['ratelimit-policy']).toBe('"ip";q=300;w=60');
    problem(
      await get('/v1/vehicles', undefined, { authorization: 'Basic YWxpY2U6c2VjcmV0' }),
      401,
      'unauthorized',
    );
  });

  it.each([
    ['alg none', async () => unsecured()],
    ['a wrong key', async () => forged({ secret: 'another-secret-that-is-long-enough-32b' })],
    ['an expired token', async () => forged({ exp: now() - 120 })],
    ['a wrong audience', async () => forged({ audience: 'someone-else' })],
    ['a wrong issuer', async () => forged({ issuer: 'evil-issuer' })],
    ['no subject', async () => forged({ sub: null })],
    ['an unknown role', async () => forged({ role: 'superuser' })],
    [
      'another algorithm (RS256)',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        const settings = devSettings();
        return new SignJWT({ role: 'admin' })
          .setProtectedHeader({ alg: 'RS256' })
          .setSubject('admin-1')
          .setIssuer(settings.issuer)
          .setAudience(settings.audience)
          .setExpirationTime(now() + 600)
          .sign(privateKey);
      },
    ],
    ['garbage', async () => 'not.a.jwt'],
  ])('refuses %s with 401 invalid_token', async (_name, make) => {
    const response = await get('/v1/vehicles', await make());
    problem(response, 401, 'unauthorized');
    expect(response.headers['www-authenticate']).toMatch(
      /^Bearer realm="fleetstream", error="invalid_token"/,
    );
  });

  it('says the token expired when it did, and accepts a token within the clock tolerance', async () => {
    const expired = await get('/v1/vehicles', await forged({ exp: now() - 120 }));
    expect(expired.headers['www-authenticate']).toContain('error_description="the token expired"');
    expect((await get('/v1/vehicles', await forged({ exp: now() - 5 }))).statusCode).toBe(200);
  });
});

describe('function-level authorization (OWASP API5)', () => {
  it('refuses the admin route to a customer with 403, and serves it to an admin', async () => {
    const subject = `listed-${randomUUID()}`;
    const token = await world.token(subject);
    const day = 86_400_000;
    for (let i = 0; i < 3; i++) {
      const start = Date.now() + (i + 2) * day;
      const placed = await app.inject({
        method: 'POST',
        url: '/v1/reservations',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: {
          vehicleId: seededVehicleIds[i],
          startsAt: new Date(start).toISOString(),
          endsAt: new Date(start + day).toISOString(),
        },
      });
      expect(placed.statusCode).toBe(202);
    }
    const url = `/v1/admin/customers/${encodeURIComponent(subject)}/reservations`;
    problem(await get(url, token), 403, 'forbidden');
    problem(await get(url, customer), 403, 'forbidden');
    const first = await get(`${url}?limit=2`, admin);
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1.customerId).toBe(subject);
    expect(page1.reservations).toHaveLength(2);
    expect(typeof page1.nextCursor).toBe('string');
    const page2 = (await get(`${url}?limit=2&cursor=${page1.nextCursor}`, admin)).json();
    expect(page2.reservations).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    const ids = [...page1.reservations, ...page2.reservations].map(
      (r: { reservationId: string }) => r.reservationId,
    );
    expect(new Set(ids).size).toBe(3);
    problem(await get(`${url}?cursor=bogus`, admin), 400, 'validation');
    // A forged cursor of the right shape but no real instant: refused as a cursor, never a 500.
    for (const createdAt of ['2030-13-45T10:00:00.000000Z', '0000-01-01T00:00:00.000000Z']) {
      const forged = encodeReservationCursor({ createdAt, reservationId: ids[0]! });
      problem(await get(`${url}?cursor=${forged}`, admin), 400, 'validation');
    }
  });
});

describe('GET /v1/vehicles', () => {
  it('pages through the whole catalog with opaque cursors', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await get(`/v1/vehicles?limit=20${cursor ? `&cursor=${cursor}` : ''}`, customer);
      expect(response.statusCode).toBe(200);
      const body = response.json();
      seen.push(...body.vehicles.map((v: { vehicleId: string }) => v.vehicleId));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(seen.sort()).toEqual([...seededVehicleIds].sort());
    const first = (await get('/v1/vehicles', customer)).json();
    expect(first.vehicles).toHaveLength(20);
    expect(first.vehicles[0]).toMatchObject({
      vehicleId: expect.any(String),
      displayName: expect.any(String),
    });
  });

  it('bounds the page size (1..100) and refuses unknown or repeated parameters with 400 naming them', async () => {
    expect((await get('/v1/vehicles?limit=100', customer)).statusCode).toBe(200);
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'limit=1&limit=2', 'limit=-1']) {
      const body = problem(await get(`/v1/vehicles?${query}`, customer), 400, 'validation');
      expect(body.errors[0]).toMatchObject({ field: 'limit', in: 'query' });
    }
    const unknown = problem(await get('/v1/vehicles?page=2', customer), 400, 'validation');
    expect(unknown.errors[0]).toMatchObject({ field: 'page', in: 'query' });
    problem(await get('/v1/vehicles?cursor=!!', customer), 400, 'validation');
  });
});

describe('errors and security headers (OWASP API8)', () => {
  it('answers unknown routes 404 and known paths with another method 405 with Allow, as problem+json', async () => {
    const missing = problem(await get('/v1/nothing-here', customer), 404, 'not-found');
    expect(missing.instance).toBe('/v1/nothing-here');
    const wrong = await app.inject({
      method: 'PUT',
      url: '/v1/vehicles',
      headers: { authorization: `Bearer ${customer}` },
    });
    problem(wrong, 405, 'method-not-allowed');
    expect(wrong.headers.allow).toBe('GET, HEAD');
    const patch = await app.inject({ method: 'PATCH', url: `/v1/reservations/${randomUUID()}` });
    expect(patch.headers.allow).toBe('DELETE, GET, HEAD');
    // Unmatched requests are rate limited per address too.
    expect(patch.headers.ratelimit).toMatch(/^"ip";r=\d+;t=\d+$/);
  });

  it('answers a malformed URL with problem+json, the security headers, its request id and the rate-limit fields', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/v1/reservations/%zz',
      headers: { 'x-request-id': 'malformed-url-1' },
    });
    problem(response, 400, 'validation');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-request-id']).toBe('malformed-url-1');
    // Charged to the address like any unmatched request (a malformed URL is not a free probe).
    expect(response.headers['ratelimit-policy']).toMatch(/^"ip";q=\d+;w=\d+$/);
    const remaining = Number(/r=(\d+)/.exec(String(response.headers.ratelimit))?.[1]);
    const again = await app.inject({ method: 'GET', url: '/v1/reservations/%zz' });
    expect(Number(/r=(\d+)/.exec(String(again.headers.ratelimit))?.[1])).toBe(remaining - 1);
    // And counted like any other response.
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(
      metricSample(text, 'http_requests_total', { route: 'unmatched', method: 'GET', status: '400' }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('answers headers over the size limit (refused by the HTTP parser, before any hook) with problem+json too', async () => {
    const { port } = app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (chunk: Buffer) => {
      raw += chunk.toString();
    });
    await once(socket, 'connect');
    socket.write(`GET /v1/vehicles HTTP/1.1\r\nHost: ingress\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    await once(socket, 'close');
    const [head = '', body = ''] = raw.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(head).toMatch(/^content-type: application\/problem\+json/m);
    expect(head).toMatch(/^x-content-type-options: nosniff$/m);
    expect(head).toMatch(/^cache-control: no-store$/m);
    // Like every response: a request id (header and body) and the IP policy's RateLimit fields.
    const requestId = /^x-request-id: (\S+)$/m.exec(head)?.[1];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(head).toMatch(/^ratelimit-policy: "ip";q=\d+;w=\d+$/m);
    expect(head).toMatch(/^ratelimit: "ip";r=\d+;t=\d+$/m);
    expect(JSON.parse(body)).toMatchObject({
      type: 'https://fleetstream.dev/problems/validation',
      status: 431,
      requestId,
    });
  });

  it('answers a request that arrives while the ingress shuts down with 503, Retry-After and the RateLimit fields', async () => {
    const { service: closingService } = await world.start();
    const closingApp = closingService.ingress.app;
    const closingPort = (closingApp.server.address() as AddressInfo).port;
    // A request whose headers are not complete yet when the shutdown begins: it reaches the hooks
    // once they are, after preClose marked the instance as closing.
    const socket = connect(closingPort, '127.0.0.1');
    let raw = '';
    socket.on('data', (chunk: Buffer) => {
      raw += chunk.toString('utf8');
    });
    await once(socket, 'connect');
    socket.write(`GET /v1/vehicles HTTP/1.1\r\nHost: ingress\r\nAuthorization: Bearer ${customer}\r\n`);
    const closed = closingApp.close();
    // The listener closes after preClose ran: from then on the instance refuses.
    await waitFor(() => !closingApp.server.listening, 5_000);
    socket.write('\r\n');
    await once(socket, 'close');
    await closed;
    const [head = '', text = ''] = raw.split('\r\n\r\n');
    const response = {
      statusCode: Number(head.split(' ')[1]),
      headers: Object.fromEntries(
        head
          .split('\r\n')
          .slice(1)
          .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 2)]),
      ),
      json: () => JSON.parse(text),
    } as unknown as LightMyRequestResponse;
    const body = problem(response, 503, 'service-unavailable');
    expect(body.detail).toBe('this instance is shutting down; retry');
    expect(response.headers['retry-after']).toBe('1');
    // Refused before the token is read: the IP policy's fields, read without charging.
    expect(response.headers['ratelimit-policy']).toMatch(/^"ip";q=\d+;w=\d+$/);
    expect(response.headers.ratelimit).toMatch(/^"ip";r=\d+;t=\d+$/);
  });

  it('sets restrictive headers on every response and no x-powered-by', async () => {
    for (const response of [await get('/v1/vehicles', customer), await get('/healthz'), await get('/v1/x')]) {
      expect(response.headers).toMatchObject({
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        'referrer-policy': 'no-referrer',
      });
      expect(response.headers['x-powered-by']).toBeUndefined();
      expect(response.headers['ratelimit-policy']).toBeDefined();
      expect(response.headers.ratelimit).toBeDefined();
    }
  });

  it('never shows a stack trace or internal text on a 500 (database without the schema)', async () => {
    unmigrated = await createFreshDatabase('fleetstream_ingress_broken');
    const { service: broken, log } = await world.start({ DATABASE_URL: unmigrated.urls.app });
    const response = await broken.ingress.app.inject({
      method: 'GET',
      url: '/v1/vehicles',
      headers: { authorization: `Bearer ${customer}`, 'x-request-id': 'trace-me-500' },
    });
    const body = problem(response, 500, 'internal');
    expect(body.detail).toBe('the request could not be processed; it has been logged');
    expect(body.requestId).toBe('trace-me-500');
    expect(Object.keys(body).sort()).toEqual(['detail', 'instance', 'requestId', 'status', 'title', 'type']);
    expect(response.body).not.toMatch(/fleet\.vehicles|relation|SELECT|at .*\.ts|node_modules/);
    const logged = log.withMessage('request failed');
    expect(logged).toHaveLength(1);
    expect(logged[0]?.correlation_id).toBe('trace-me-500');
    expect(JSON.stringify(logged[0]?.err)).toContain('fleet.vehicles');
  });
});

describe('ops routes', () => {
  it('serves /healthz and /readyz without a token; readiness lists its checks', async () => {
    expect((await get('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await get('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { database: { ok: true }, rateLimiter: { ok: true, mode: 'shared' }, producer: { ok: true } },
    });
  });

  it('says which check fails on /readyz but keeps the cause (addresses, errors) in the log', async () => {
    const { service: cutOff, log } = await world.start({
      DATABASE_URL: 'postgres://fleetstream_app@127.0.0.1:1/fleetstream',
    });
    const ready = await cutOff.ingress.app.inject({ method: 'GET', url: '/readyz' });
    const body = problem(ready, 503, 'not-ready');
    expect(body.checks.database).toEqual({
      ok: false,
      reason: 'the database did not answer the readiness probe',
    });
    expect(ready.body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|connect/);
    expect(JSON.stringify(log.withMessage('readiness: the database probe failed'))).toMatch(/ECONNREFUSED/);
  });

  it('does not consume rate-limit quota on probes', async () => {
    const a = (await get('/readyz')).headers.ratelimit as string;
    const b = (await get('/readyz')).headers.ratelimit as string;
    expect(a).toMatch(/^"ip";r=\d+;t=\d+$/);
    expect(b.split(';')[1]).toBe(a.split(';')[1]);
  });

  it('exposes RED metrics by route template only, with a bucket at the SLO', async () => {
    const durationSeries = { route: '/v1/reservations/:reservationId', method: 'GET' };
    const countBefore =
      metricSample((await get('/metrics')).body, 'http_request_duration_seconds_count', durationSeries) ?? 0;
    const id = randomUUID();
    await get(`/v1/reservations/${id}`, customer);
    const response = await get('/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body;
    expect(
      metricSample(text, 'http_requests_total', {
        route: '/v1/reservations/:reservationId',
        method: 'GET',
        status: '404',
      }),
    ).toBe(1);
    // The SLO threshold (0.25 s) is a bucket edge of the route's series, which timed this request.
    expect(
      metricSample(text, 'http_request_duration_seconds_bucket', { ...durationSeries, le: '0.25' }),
    ).toBeTypeOf('number');
    expect(metricSample(text, 'http_request_duration_seconds_count', durationSeries)).toBe(countBefore + 1);
    expect(
      metricSample(text, 'http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }),
    ).toBeGreaterThan(0);
    expect(metricSample(text, 'fleet_ingress_rate_limit_fallback', {})).toBe(0);
    expect(text).toContain('# TYPE fleet_ingress_enqueue_failures_total counter');
    expect(metricSample(text, 'fleet_breaker_state', { breaker: 'kafka-produce' })).toBe(0);
    expect(text).not.toContain(id);
    expect(text).not.toContain('nothing-here');
  });
});
