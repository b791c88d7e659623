import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngressService } from './ingressService.ts';
import { closedPort, IngressTestEnvironment } from './testing/ingressTestKit.ts';
import { metricSample } from './testing/metricSample.ts';

// Distributed rate limiting (GCRA in one Redis script) and its per-instance fallback.
const world = new IngressTestEnvironment();
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');

beforeAll(async () => {
  await world.setUp('ingress-rate-limit');
});

afterAll(async () => {
  await world.close();
  const keys = await redis.keys(`${world.rateLimitPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

function listVehicles(
  service: IngressService,
  token: string | undefined,
  ip = '127.0.0.1',
): Promise<LightMyRequestResponse> {
  return service.ingress.app.inject({
    method: 'GET',
    url: '/v1/vehicles?limit=1',
    remoteAddress: ip,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

/** A customer policy of `quota` per hour: no refill during a test, so counts are exact. */
const hourly = (quota: number, ipQuota = 10_000) => ({
  RATE_LIMIT_CUSTOMER_QUOTA: String(quota),
  RATE_LIMIT_CUSTOMER_WINDOW_S: '3600',
  RATE_LIMIT_IP_QUOTA: String(ipQuota),
  RATE_LIMIT_IP_WINDOW_S: '3600',
});

describe('shared limits in Redis', () => {
  it('admits exactly the quota across two instances sharing Redis, and refuses the rest with 429 + Retry-After', async () => {
    const { service: one } = await world.start(hourly(7), { waitForProducer: false });
    const { service: two } = await world.start(hourly(7), { waitForProducer: false });
    const token = await world.token(`twin-${randomUUID()}`);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => listVehicles(i % 2 === 0 ? one : two, token, `10.0.0.${i + 1}`)),
    );
    const admitted = responses.filter((r) => r.statusCode === 200);
    const refused = responses.filter((r) => r.statusCode === 429);
    expect(admitted).toHaveLength(7);
    expect(refused).toHaveLength(13);
    for (const response of refused) {
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({
        type: 'https://fleetstream.dev/problems/rate-limited',
        status: 429,
      });
      // One request every 3600/7 s: the next is admitted within about 515 s.
      const retryAfter = Number(response.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(515);
      expect(response.headers['ratelimit-policy']).toBe('"customer";q=7;w=3600, "ip";q=10000;w=3600');
      expect(response.headers.ratelimit).toMatch(/^"customer";r=0;t=\d+, "ip";r=\d+;t=\d+$/);
    }
    const remaining = admitted
      .map((r) => Number(/"customer";r=(\d+)/.exec(r.headers.ratelimit as string)?.[1]))
      .sort();
    expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const metrics = (await one.ingress.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricSample(metrics, 'fleet_ingress_rate_limited_total', { policy: 'customer' })).toBeGreaterThan(
      0,
    );
  });

  it('limits per address before and without authentication, so guessing tokens costs quota', async () => {
    const { service } = await world.start(
      { RATE_LIMIT_IP_QUOTA: '4', RATE_LIMIT_IP_WINDOW_S: '3600' },
      { waitForProducer: false },
    );
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await listVehicles(service, undefined, '192.0.2.10')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    // Another address is counted on its own; an IPv6 /64 is one address.
    expect((await listVehicles(service, undefined, '192.0.2.11')).statusCode).toBe(401);
    const v6 = [];
    for (let i = 1; i <= 5; i++)
      v6.push((await listVehicles(service, undefined, `2001:db8:1:2::${i}`)).statusCode);
    expect(v6).toEqual([401, 401, 401, 401, 429]);
  });

  it('behind a trusted proxy, charges the address that proxy saw, whatever the client wrote before it', async () => {
    const { service } = await world.start(
      { RATE_LIMIT_IP_QUOTA: '3', RATE_LIMIT_IP_WINDOW_S: '3600', INGRESS_TRUST_PROXY: '192.0.2.1' },
      { waitForProducer: false },
    );
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await service.ingress.app.inject({
        method: 'GET',
        url: '/v1/vehicles?limit=1',
        remoteAddress: '192.0.2.1',
        // The client forged the first entry; the proxy appended the address it saw.
        headers: { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.7` },
      });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('does not charge refused requests, and gives every key a TTL', async () => {
    // Its own key prefix: keys the other tests left may expire between the scan and PTTL (an
    // IP key of a 10,000-per-hour policy lives 0.36 s after one request).
    const prefix = `${world.rateLimitPrefix}own-${randomUUID().slice(0, 8)}:`;
    const { service } = await world.start(
      { ...hourly(2, 50), RATE_LIMIT_KEY_PREFIX: prefix },
      { waitForProducer: false },
    );
    const token = await world.token(`ttl-${randomUUID()}`);
    const ip = '198.51.100.7';
    const responses: LightMyRequestResponse[] = [];
    for (let i = 0; i < 5; i++) responses.push(await listVehicles(service, token, ip));
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 429, 429, 429]);
    const ipRemaining = responses.map((r) => Number(/"ip";r=(\d+)/.exec(r.headers.ratelimit as string)?.[1]));
    // Admitted requests consume both policies; refused ones consume neither.
    expect(ipRemaining).toEqual([49, 48, 48, 48, 48]);
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3_600_000);
      // Identities are hashed: no customer id or address in clear in Redis.
      expect(key.slice(prefix.length)).not.toContain('ttl-');
      expect(key.slice(prefix.length)).not.toContain(ip);
    }
  });
});

describe('Redis unreachable', () => {
  it('falls back to the per-instance limit: same algorithm, a metric and one log line, no 500', async () => {
    const port = await closedPort();
    const { service, log } = await world.start({
      ...hourly(3, 10_000),
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_START_TIMEOUT_MS: '100',
    });
    const token = await world.token(`offline-${randomUUID()}`);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await listVehicles(service, token);
      statuses.push(response.statusCode);
      expect(response.headers['ratelimit-policy']).toBe('"customer";q=3;w=3600, "ip";q=10000;w=3600');
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect(log.withMessage('rate limiter falls back to per-instance limits')).toHaveLength(1);
    const metrics = (await service.ingress.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricSample(metrics, 'fleet_ingress_rate_limit_fallback')).toBe(1);
    const ready = await service.ingress.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks.rateLimiter).toEqual({ ok: true, mode: 'fallback' });
  });

  it('divides the quota by the expected instance count while falling back', async () => {
    const port = await closedPort();
    const { service } = await world.start(
      {
        ...hourly(5, 10_000),
        REDIS_URL: `redis://127.0.0.1:${port}`,
        REDIS_START_TIMEOUT_MS: '100',
        RATE_LIMIT_FALLBACK_INSTANCES: '2',
      },
      { waitForProducer: false },
    );
    const token = await world.token(`split-${randomUUID()}`);
    const statuses: number[] = [];
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 4; i++) {
      last = await listVehicles(service, token);
      statuses.push(last.statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last?.headers['ratelimit-policy']).toBe('"customer";q=3;w=3600, "ip";q=5000;w=3600');
  });
});

describe('one algorithm in two places', () => {
  it('the Redis script and the in-memory fallback give the same answers to the same burst', async () => {
    const { RedisGcraLimiter } = await import('./rateLimit/redisGcraLimiter.ts');
    const { MemoryGcraLimiter } = await import('./rateLimit/memoryGcraLimiter.ts');
    const shared = new RedisGcraLimiter(redis, world.rateLimitPrefix);
    const local = new MemoryGcraLimiter({ maxKeys: 100 });
    const checks = [
      { policy: 'customer' as const, identity: randomUUID(), quota: 10, windowSeconds: 3600 },
      { policy: 'ip' as const, identity: randomUUID(), quota: 6, windowSeconds: 3600 },
    ];
    const fromRedis = [];
    const fromMemory = [];
    for (let i = 0; i < 9; i++) {
      fromRedis.push(await shared.check(checks, 1));
      fromMemory.push(await local.check(checks, 1));
    }
    const view = (d: { admitted: boolean; outcomes: { remaining: number; retryAfterSeconds: number }[] }) => [
      d.admitted,
      ...d.outcomes.map((o) => o.remaining),
      d.outcomes.map((o) => o.retryAfterSeconds > 0),
    ];
    expect(fromRedis.map(view)).toEqual(fromMemory.map(view));
    expect(fromRedis.filter((d) => d.admitted)).toHaveLength(6);
  });
});
