import { randomUUID } from 'node:crypto';
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

      await store.remove({ topic: 't', partition: 0 });
      await store.remove({ topic: 't', partition: 1 });
      expect((await store.load([{ topic: 't', partition: 0 }])).size).toBe(0);
      // Another worker's blocks are its own.
      const otherWorker = new RedisDeadLetterBlocks({ worker: `${worker}-b`, redisUrl, now: () => now });
      await otherWorker.start();
      await store.save(block('t', 3, now + 60_000, now));
      expect((await otherWorker.load([{ topic: 't', partition: 3 }])).size).toBe(0);
      await store.remove({ topic: 't', partition: 3 });
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
      await store.save(block('t', 0, Date.now() + 60_000, Date.now()));
      expect((await store.load([{ topic: 't', partition: 0 }])).size).toBe(0);
      await store.remove({ topic: 't', partition: 0 });
    } finally {
      await store.stop();
    }
  });
});
