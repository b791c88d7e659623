import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadStackEndpoints } from '../../workers/runtime/config/stackEndpoints.ts';
import type { DeadLetterBlock } from '../../workers/runtime/resilience/deadLetterCaps.ts';
import { RedisDeadLetterBlocks } from '../../workers/runtime/resilience/sharedDeadLetterBlocks.ts';
import { ops } from '../testing/opsTestKit.ts';

describe('ops dlq blocks (real Redis)', () => {
  it("lists the blocks a worker's replicas keep for their partitions' next owners, and says when Redis is unreachable", async () => {
    const worker = `ops-blocks-${randomUUID().slice(0, 8)}`;
    const store = new RedisDeadLetterBlocks({ worker, redisUrl: loadStackEndpoints().redisUrl });
    await store.start();
    const since = Date.now();
    const timed: DeadLetterBlock = {
      scope: 'partition',
      topic: 'fleet.rental.events.v1',
      partition: 3,
      cap: 'consecutive',
      reason: '11 dead letters in a row would exceed the limit of 10',
      since,
      resumesAt: since + 300_000,
    };
    const operatorOnly: DeadLetterBlock = {
      ...timed,
      partition: 7,
      cap: 'ratio',
      since: since + 1,
      resumesAt: null,
    };
    try {
      await store.save(timed);
      await store.save(operatorOnly);
      const json = await ops('dlq', 'blocks', '--worker', worker, '--json');
      expect(json.code).toBe(0);
      const listed = json.out.map((line) => JSON.parse(line));
      expect(listed).toEqual([
        { ...timed, worker, ttlMs: expect.any(Number) },
        { ...operatorOnly, worker, ttlMs: expect.any(Number) },
      ]);
      expect(listed[0].ttlMs).toBeLessThanOrEqual(300_000);

      const table = await ops('dlq', 'blocks', '--worker', worker);
      expect(table.code).toBe(0);
      expect(table.out[0]).toMatch(/^WORKER\s+TOPIC\s+PARTITION\s+CAP\s+SINCE\s+RESUMES\s+REASON$/);
      expect(table.out[2]).toContain('operator');
      expect(table.out.at(-1)).toBe('2 blocked partition(s)');

      await store.remove(timed);
      await store.remove(operatorOnly);
      expect((await ops('dlq', 'blocks', '--worker', worker)).out).toEqual(['0 blocked partition(s)']);

      // Every worker's, when no --worker is given.
      expect((await ops('dlq', 'blocks')).code).toBe(0);
      const unreachable = await runWithRedis('redis://127.0.0.1:1', () => ops('dlq', 'blocks'));
      expect(unreachable.code).toBe(1);
      expect(unreachable.err.join('\n')).toMatch(
        /could not read the DLQ-cap blocks from Redis at redis:\/\/127\.0\.0\.1:1/,
      );
    } finally {
      await store.stop();
    }
  });
});

/** Runs `call` with REDIS_URL pointing elsewhere (ops reads its configuration from process.env). */
async function runWithRedis<T>(url: string, call: () => Promise<T>): Promise<T> {
  const before = process.env.REDIS_URL;
  process.env.REDIS_URL = url;
  try {
    return await call();
  } finally {
    if (before === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = before;
  }
}
