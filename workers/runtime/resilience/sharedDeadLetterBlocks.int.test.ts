import { randomUUID } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStackEndpoints } from '../config/stackEndpoints.ts';
import type { DeadLetterBlock } from './deadLetterCaps.ts';
import { RedisDeadLetterBlocks } from './sharedDeadLetterBlocks.ts';

const redisUrl = loadStackEndpoints().redisUrl;
const inspector = new Redis(redisUrl);
afterAll(() => inspector.disconnect());

function block(topic: string, partition: number, resumesAt: number | null, now: number): DeadLetterBlock {
  return { scope: 'partition', topic, partition, cap: 'ratio', reason: 'too many', since: now, resumesAt };
}

describe('RedisDeadLetterBlocks (real Redis)', () => {
  it('keeps a block until its cool-down ends (the key TTL), an operator-only one for a day, and forgets on remove', async () => {
    const now = Date.now();
    const worker = `blocks-${randomUUID().slice(0, 8)}`;
    const store = new RedisDeadLetterBlocks({ worker, redisUrl, now: () => now });
    await store.start();
    try {
      await store.save(block('t', 0, now + 60_000, now));
      await store.save(block('t', 1, null, now));
      // Lifted already: nothing to hand on.
      await store.save(block('t', 2, now - 1, now));
      const ttl0 = await inspector.pttl(`fleet:dlq-block:${worker}:t:0`);
      const ttl1 = await inspector.pttl(`fleet:dlq-block:${worker}:t:1`);
      expect(ttl0).toBeGreaterThan(55_000);
      expect(ttl0).toBeLessThanOrEqual(60_000);
      expect(ttl1).toBeGreaterThan(23 * 3_600_000);
      expect(await inspector.exists(`fleet:dlq-block:${worker}:t:2`)).toBe(0);

      const loaded = await store.load([
        { topic: 't', partition: 0 },
        { topic: 't', partition: 1 },
        { topic: 't', partition: 2 },
        { topic: 'other', partition: 0 },
      ]);
      expect([...loaded.keys()].sort()).toEqual(['t:0', 't:1']);
      expect(loaded.get('t:0')).toEqual(block('t', 0, now + 60_000, now));

      // Only the lifted block is forgotten: a remove naming another trip (an older one) leaves it.
      await store.remove({ ...block('t', 0, now + 60_000, now), since: now - 5 });
      expect((await store.load([{ topic: 't', partition: 0 }])).size).toBe(1);
      await store.remove(block('t', 0, now + 60_000, now));
      await store.remove(block('t', 1, null, now));
      expect((await store.load([{ topic: 't', partition: 0 }])).size).toBe(0);
      // A late save of an older trip does not replace a newer block of the partition.
      await store.save({ ...block('t', 4, now + 60_000, now), reason: 'newer' });
      await store.save({ ...block('t', 4, now + 30_000, now - 10), reason: 'older' });
      expect((await store.load([{ topic: 't', partition: 4 }])).get('t:4')?.reason).toBe('newer');
      await store.remove(block('t', 4, now + 60_000, now));
      // Another worker's blocks are its own.
      const otherWorker = new RedisDeadLetterBlocks({ worker: `${worker}-b`, redisUrl, now: () => now });
      await otherWorker.start();
      await store.save(block('t', 3, now + 60_000, now));
      expect((await otherWorker.load([{ topic: 't', partition: 3 }])).size).toBe(0);
      await store.remove(block('t', 3, now + 60_000, now));
      await otherWorker.stop();
    } finally {
      await store.stop();
    }
  });

  it('answers an unreachable Redis with nothing inherited, promptly and without throwing', async () => {
    const store = new RedisDeadLetterBlocks({
      worker: 'unreachable',
      redisUrl: 'redis://127.0.0.1:1',
      timeoutMs: 200,
    });
    await store.start();
    try {
      const lifted = block('t', 0, Date.now() + 60_000, Date.now());
      await store.save(lifted);
      expect((await store.load([{ topic: 't', partition: 0 }])).size).toBe(0);
      await store.remove(lifted);
      // Owed, not lost: the newest write per partition waits for a retry.
      expect(store.pendingWrites).toBe(1);
    } finally {
      await store.stop();
    }
  });

  it('retries a write Redis did not take: a resume during a blip does not leave the lifted block behind', async () => {
    const now = Date.now();
    const worker = `blocks-retry-${randomUUID().slice(0, 8)}`;
    const key = `fleet:dlq-block:${worker}:t:0`;
    const proxy = await redisProxy();
    const store = new RedisDeadLetterBlocks({ worker, redisUrl: proxy.url, timeoutMs: 300 });
    await store.start();
    const tripped = block('t', 0, null, now);
    try {
      await store.save(tripped);
      expect(await inspector.exists(key)).toBe(1);
      // The link to Redis drops just as the operator resumes the partition: the delete fails.
      proxy.cut();
      await store.remove(tripped);
      expect(store.pendingWrites).toBe(1);
      expect(await inspector.exists(key)).toBe(1);
      // Redis is back: the owed delete lands, and nothing is left for the next owner to inherit.
      proxy.restore();
      await waitUntil(async () => (await inspector.exists(key)) === 0 && store.pendingWrites === 0, 15_000);
    } finally {
      await store.stop();
      await proxy.close();
    }
  });
});

/** A TCP proxy to the stack's Redis whose link can be cut (connections refused) and restored. */
async function redisProxy(): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  let up = true;
  const server = createServer((client) => {
    if (!up) return client.destroy();
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: () => {
      up = false;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      up = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
