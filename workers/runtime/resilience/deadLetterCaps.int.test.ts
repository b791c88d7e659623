import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadStackEndpoints } from '../config/stackEndpoints.ts';
import { DeadLetterCaps, type DeadLetterVerdict } from './deadLetterCaps.ts';
import { SharedDeadLetterRate } from './sharedDeadLetterRate.ts';
import { metricValue, recordingLogger, type SlowRedisProxy, startSlowRedisProxy } from './testSupport.ts';

const { redisUrl } = loadStackEndpoints();
const topic = 'fleet.reservation.commands.v1';
/** A port nothing listens on: connections are refused at once. */
const unreachableRedisUrl = 'redis://127.0.0.1:1';

let redis: Redis;
const toStop: { stop(): Promise<void> }[] = [];
const limiterIds: string[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
});
afterEach(async () => {
  for (const item of toStop.splice(0)) await item.stop();
  for (const id of limiterIds.splice(0)) {
    const keys = await redis.keys(`b_${id}_*`);
    if (keys.length > 0) await redis.del(...keys);
  }
});
afterAll(async () => {
  await redis.quit();
});

/** A fresh limiter id prefix per test, so runs never share a budget. */
function testPrefix(): string {
  return `fleet-test:${randomUUID()}:`;
}

function replica(worker: string, prefix: string, options: { maxPerMinute: number; redisUrl?: string }) {
  const registry = new Registry();
  const { logger, lines } = recordingLogger();
  const caps = new DeadLetterCaps(
    {
      worker,
      maxPerMinute: options.maxPerMinute,
      // Local caps out of the way: this test is about the shared rate.
      maxRatio: 1,
      minMessages: 1,
      maxConsecutive: 1_000,
      limiterIdPrefix: prefix,
      redisStartTimeoutMs: 5_000,
    },
    { registry, logger, redisUrl: options.redisUrl ?? redisUrl },
  );
  toStop.push(caps);
  limiterIds.push(`${prefix}${worker}`);
  return { caps, registry, lines };
}

describe('DeadLetterCaps shared rate cap (real Redis)', () => {
  it('two replicas of one worker share maxPerMinute: 40 admits → exactly 20 admitted', async () => {
    const prefix = testPrefix();
    const a = replica('settler', prefix, { maxPerMinute: 20 });
    const b = replica('settler', prefix, { maxPerMinute: 20 });
    await Promise.all([a.caps.start(), b.caps.start()]);
    expect(a.caps.rateCapMode()).toBe('shared');
    expect(b.caps.rateCapMode()).toBe('shared');

    const admits: Promise<DeadLetterVerdict>[] = [];
    for (let i = 0; i < 40; i += 1) {
      const { caps } = i % 2 === 0 ? a : b;
      admits.push(caps.admitDeadLetter(topic, i % 6));
    }
    const verdicts = await Promise.all(admits);

    expect(verdicts.filter((v) => v.admitted)).toHaveLength(20);
    expect(verdicts.filter((v) => !v.admitted).every((v) => !v.admitted && v.cap === 'rate')).toBe(true);
    // Both replicas wrote some, and each one that hit the cap is degraded worker-wide.
    const tripped = [a, b].filter(({ caps }) => caps.blocks().some((block) => block.scope === 'worker'));
    expect(tripped.length).toBeGreaterThanOrEqual(1);
    for (const { caps, registry } of tripped) {
      expect(caps.isBlocked(topic, 0)).toBe(true);
      expect(await metricValue(registry, 'fleet_dlq_cap_reached', { worker: 'settler' })).toBe(1);
    }
    expect(a.caps.rateCapMode()).toBe('shared');
    expect(b.caps.rateCapMode()).toBe('shared');

    // BRIEF §6: every key the limiter keeps in Redis has a TTL.
    const keys = await redis.keys(`b_${prefix}settler_*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(await redis.pttl(key), key).toBeGreaterThan(0);
  });

  it('Redis unreachable: start does not hang, admits never throw, the local fallback budget answers', async () => {
    const prefix = testPrefix();
    const registry = new Registry();
    const { logger, lines } = recordingLogger();
    const caps = new DeadLetterCaps(
      {
        worker: 'settler',
        maxPerMinute: 20,
        fallbackMaxPerMinute: 3,
        maxRatio: 1,
        minMessages: 1,
        maxConsecutive: 1_000,
        limiterIdPrefix: prefix,
        redisStartTimeoutMs: 300,
        redisTimeoutMs: 200,
      },
      { registry, logger, redisUrl: unreachableRedisUrl },
    );
    toStop.push(caps);
    await caps.start();

    expect(caps.rateCapMode()).toBe('local-fallback');
    expect(await metricValue(registry, 'fleet_dlq_rate_cap_fallback', { worker: 'settler' })).toBe(1);
    expect(
      lines.some((l) => l.level === 'warn' && l.msg.includes('falls back to a per-process budget')),
    ).toBe(true);

    const verdicts: DeadLetterVerdict[] = [];
    for (let i = 0; i < 5; i += 1) verdicts.push(await caps.admitDeadLetter(topic, i));
    expect(verdicts.map((v) => v.admitted)).toEqual([true, true, true, false, false]);
    const refused = verdicts[3];
    expect(refused).toMatchObject({ admitted: false, cap: 'rate' });
    if (refused && !refused.admitted) expect(refused.reason).toContain('Redis unreachable');
    expect(caps.degradedReason()).toContain('rate cap');
  });
});

describe('DeadLetterCaps with a slow Redis (real Redis behind a delaying proxy)', () => {
  let proxy: SlowRedisProxy;
  beforeEach(async () => {
    proxy = await startSlowRedisProxy(redisUrl);
  });
  afterEach(async () => {
    // Stopped before the proxy closes under their connections.
    for (const item of toStop.splice(0)) await item.stop();
    await proxy.close();
  });

  function slowReplica(worker: string) {
    const registry = new Registry();
    const prefix = testPrefix();
    const caps = new DeadLetterCaps(
      {
        worker,
        maxPerMinute: 1_000,
        maxRatio: 1,
        minMessages: 1,
        maxConsecutive: 1_000,
        limiterIdPrefix: prefix,
        redisTimeoutMs: 200,
        redisStartTimeoutMs: 5_000,
        probeMinDelayMs: 50,
      },
      { registry, redisUrl: proxy.url },
    );
    toStop.push(caps);
    limiterIds.push(`${prefix}${worker}`);
    return { caps, registry };
  }

  it('one slow answer: the fallback gauge returns to 0 once Redis answers again, with no dead letter since', async () => {
    const { caps, registry } = slowReplica('slow-gauge');
    await caps.start();
    expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true });
    const fallback = () => metricValue(registry, 'fleet_dlq_rate_cap_fallback', { worker: 'slow-gauge' });

    proxy.setDelay(400); // one answer slower than the 200 ms Redis timeout
    expect(await caps.admitDeadLetter(topic, 1)).toEqual({ admitted: true });
    expect(await fallback()).toBe(1);
    proxy.setDelay(0);

    const deadline = Date.now() + 5_000;
    while ((await fallback()) !== 0 && Date.now() < deadline) await sleep(50);
    expect(await fallback()).toBe(0);
    expect(caps.rateCapMode()).toBe('shared');
  });

  it('an unresponsive Redis never queues concurrent admits behind one another', async () => {
    const { caps } = slowReplica('slow-concurrent');
    await caps.start();
    proxy.setDelay(600);
    const admitted = await Promise.all(Array.from({ length: 20 }, (_, i) => caps.admitDeadLetter(topic, i)));
    expect(admitted.every((verdict) => verdict.admitted)).toBe(true);
    // All twenty takes were in flight together behind the slow Redis, each bounded by the Redis
    // timeout. Serialized, each waited for the one before (a timeout each): only the few sent
    // before the first delayed answer came back would show here.
    expect(proxy.commandsBeforeFirstAnswer()).toBeGreaterThanOrEqual(20);
    expect(caps.rateCapMode()).toBe('local-fallback');
  });
});

describe('SharedDeadLetterRate (real Redis)', () => {
  it('counts a take that lands on a reservoir refresh in the new window', async () => {
    const prefix = testPrefix();
    const gate = new SharedDeadLetterRate({
      worker: 'pricer',
      maxPerWindow: 3,
      fallbackMaxPerWindow: 1,
      redisUrl,
      limiterIdPrefix: prefix,
    });
    toStop.push(gate);
    limiterIds.push(gate.id);
    await gate.start();
    const decisions = [];
    for (let i = 0; i < 4; i += 1) decisions.push(await gate.tryTake());
    expect(decisions.map((d) => d.admitted)).toEqual([true, true, true, false]);

    // Make the refresh due now instead of sleeping a window: the next take triggers it.
    await redis.hset(`b_${gate.id}_settings`, 'lastReservoirRefresh', '0');
    expect(await gate.tryTake()).toEqual({ admitted: true, mode: 'shared' });
    // The take was counted in the fresh window, not erased by the refresh.
    expect(await redis.hget(`b_${gate.id}_settings`, 'reservoir')).toBe('2');
  });

  it('applies a changed limit to the shared settings on start', async () => {
    const prefix = testPrefix();
    const options = { worker: 'pricer', fallbackMaxPerWindow: 1, redisUrl, limiterIdPrefix: prefix };
    const before = new SharedDeadLetterRate({ ...options, maxPerWindow: 20 });
    toStop.push(before);
    limiterIds.push(before.id);
    await before.start();
    await before.stop();
    const after = new SharedDeadLetterRate({ ...options, maxPerWindow: 5 });
    toStop.push(after);
    await after.start();
    expect(await redis.hget(`b_${after.id}_settings`, 'reservoirRefreshAmount')).toBe('5');
  });

  it('stop() is idempotent and closes its connections', async () => {
    const sockets = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;
    const before = sockets();
    const gate = new SharedDeadLetterRate({
      worker: 'pricer',
      maxPerWindow: 3,
      fallbackMaxPerWindow: 1,
      redisUrl,
      limiterIdPrefix: testPrefix(),
    });
    limiterIds.push(gate.id);
    await gate.start();
    expect(sockets()).toBe(before + 2); // commands and pub/sub
    await gate.stop();
    await gate.stop();
    expect(sockets()).toBe(before);
    await expect(gate.tryTake()).rejects.toThrow(/not started/);
  });
});
