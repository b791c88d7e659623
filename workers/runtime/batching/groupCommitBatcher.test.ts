import { describe, expect, it, vi } from 'vitest';
import { type BatchItemResult, type BatchingOptions, GroupCommitBatcher } from './groupCommitBatcher.ts';

interface Item {
  id: string;
  keys: string[];
}

/** A runner whose batches finish only when the test says so. */
function controllableRunner() {
  const batches: {
    items: Item[];
    finish: (results?: BatchItemResult<string>[]) => void;
    fail: (e: unknown) => void;
  }[] = [];
  const run = (items: Item[]) =>
    new Promise<BatchItemResult<string>[]>((resolve, reject) => {
      batches.push({
        items,
        finish: (results) => resolve(results ?? items.map((i) => ({ ok: true, settlement: `done:${i.id}` }))),
        fail: reject,
      });
    });
  return { batches, run };
}

function batcher(
  options: Partial<BatchingOptions>,
  run: (items: Item[]) => Promise<BatchItemResult<string>[]>,
) {
  return new GroupCommitBatcher<Item, string>(
    { maxBatchSize: 10, lingerMs: 0, maxBatchesInFlight: 1, ...options },
    run,
    (item) => item.keys,
  );
}

const item = (id: string, ...keys: string[]): Item => ({ id, keys: keys.length > 0 ? keys : [id] });
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommitBatcher', () => {
  it('refuses, as retriable, an item that waited longer than maxQueueWaitMs; one already running is not touched', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { batches, run } = controllableRunner();
      const b = batcher({ maxBatchesInFlight: 1, maxQueueWaitMs: 100 }, run);
      const running = b.submit(item('running'));
      await nextTurn();
      const waiting = b.submit(item('waiting'));
      const outcome = waiting.then(
        () => 'resolved',
        (e: { retriable?: boolean; code?: string }) => `${e.code}:${e.retriable}`,
      );
      await nextTurn();
      vi.advanceTimersByTime(150);
      expect(await outcome).toBe('BATCH_QUEUE_TIMEOUT:true');
      batches[0]!.finish();
      expect(await running).toBe('done:running');
      await nextTurn();
      // The expired item never reached the runner.
      expect(batches.map((x) => x.items.map((i) => i.id))).toEqual([['running']]);
      await b.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('settles what arrives in one turn as one batch, and splits at the batch size', async () => {
    const { batches, run } = controllableRunner();
    const b = batcher({ maxBatchSize: 3, maxBatchesInFlight: 4 }, run);
    const settled = ['a', 'b', 'c', 'd', 'e'].map((id) => b.submit(item(id)));
    await nextTurn();
    expect(batches.map((x) => x.items.map((i) => i.id))).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
    for (const batch of batches) batch.finish();
    expect(await Promise.all(settled)).toEqual(['done:a', 'done:b', 'done:c', 'done:d', 'done:e']);
    await b.close();
  });

  it('never lets two items of one key share a batch or run at once, and keeps their order', async () => {
    const { batches, run } = controllableRunner();
    const b = batcher({ maxBatchesInFlight: 4 }, run);
    const settled = [
      b.submit(item('v1-first', 'v1', 'r1')),
      b.submit(item('v2', 'v2', 'r2')),
      b.submit(item('v1-second', 'v1', 'r3')),
      b.submit(item('v1-third', 'v1', 'r4')),
    ];
    await nextTurn();
    expect(batches.map((x) => x.items.map((i) => i.id))).toEqual([['v1-first', 'v2']]);
    batches[0]!.finish();
    await nextTurn();
    expect(batches.map((x) => x.items.map((i) => i.id))).toEqual([['v1-first', 'v2'], ['v1-second']]);
    batches[1]!.finish();
    await nextTurn();
    expect(batches[2]!.items.map((i) => i.id)).toEqual(['v1-third']);
    batches[2]!.finish();
    await Promise.all(settled);
    await b.close();
  });

  it('holds later items while every transaction slot is busy, then sends them as one larger batch', async () => {
    const { batches, run } = controllableRunner();
    const b = batcher({ maxBatchesInFlight: 1 }, run);
    const first = b.submit(item('a'));
    await nextTurn();
    const later = ['b', 'c', 'd'].map((id) => b.submit(item(id)));
    await nextTurn();
    expect(batches).toHaveLength(1);
    expect(b.queued).toBe(3);
    batches[0]!.finish();
    await first;
    expect(batches[1]!.items.map((i) => i.id)).toEqual(['b', 'c', 'd']);
    batches[1]!.finish();
    await Promise.all(later);
    await b.close();
  });

  it('rejects only the item whose result is an error, and every item when the runner throws', async () => {
    const { batches, run } = controllableRunner();
    const b = batcher({ maxBatchesInFlight: 2 }, run);
    const good = b.submit(item('good'));
    const bad = b.submit(item('bad'));
    await nextTurn();
    batches[0]!.finish([
      { ok: true, settlement: 'fine' },
      { ok: false, error: new Error('bad one') },
    ]);
    expect(await good).toBe('fine');
    await expect(bad).rejects.toThrow('bad one');
    const x = b.submit(item('x'));
    const y = b.submit(item('y'));
    await nextTurn();
    batches[1]!.fail(new Error('transaction lost'));
    await expect(x).rejects.toThrow('transaction lost');
    await expect(y).rejects.toThrow('transaction lost');
    await b.close();
  });

  it('flushes a full batch at once instead of waiting for the linger', async () => {
    vi.useFakeTimers();
    try {
      const { batches, run } = controllableRunner();
      const b = batcher({ maxBatchSize: 2, lingerMs: 60_000, maxBatchesInFlight: 2 }, run);
      const lone = b.submit(item('lone'));
      expect(batches).toHaveLength(0);
      const pair = b.submit(item('pair'));
      expect(batches.map((x) => x.items.map((i) => i.id))).toEqual([['lone', 'pair']]);
      const late = b.submit(item('late'));
      expect(batches).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(batches[1]!.items.map((i) => i.id)).toEqual(['late']);
      for (const batch of batches) batch.finish();
      await Promise.all([lone, pair, late]);
      await b.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('close settles what was submitted, waits for it, and refuses new items', async () => {
    const { batches, run } = controllableRunner();
    const b = batcher({ lingerMs: 1000 }, run);
    const pending = b.submit(item('pending'));
    const closed = b.close();
    expect(batches).toHaveLength(1);
    await expect(b.submit(item('late'))).rejects.toThrow(/closed/);
    let closedYet = false;
    void closed.then(() => {
      closedYet = true;
    });
    await nextTurn();
    expect(closedYet).toBe(false);
    batches[0]!.finish();
    await closed;
    expect(await pending).toBe('done:pending');
  });
});
