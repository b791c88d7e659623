import { describe, expect, it } from 'vitest';
import { LaneScheduler, type OrderingMode } from './laneScheduler.ts';

interface Item {
  laneRef: unknown;
  partitionId: string;
  orderingKey: string;
  seq: number;
}

function harness(mode: OrderingMode, maxConcurrency: number) {
  const running: Item[] = [];
  let peak = 0;
  const scheduler = new LaneScheduler<Item>(mode, maxConcurrency, (item) => {
    running.push(item);
    peak = Math.max(peak, scheduler.inFlight);
  });
  return { scheduler, running, peak: () => peak };
}

function items(partitionId: string, keys: string[]): Item[] {
  return keys.map((orderingKey, seq) => ({ partitionId, orderingKey, seq, laneRef: undefined }));
}

describe('LaneScheduler', () => {
  it('runs different keys side by side and one item per key at a time', () => {
    const { scheduler, running } = harness('key', 10);
    for (const item of items('t:0', ['a', 'a', 'b', 'c', 'b'])) scheduler.enqueue(item);
    scheduler.pump();
    expect(running.map((i) => i.seq)).toEqual([0, 2, 3]);
    scheduler.complete(running[0]!);
    scheduler.pump();
    expect(running.map((i) => i.seq)).toEqual([0, 2, 3, 1]);
  });

  it('never runs more than maxConcurrency items', () => {
    const { scheduler, running, peak } = harness('key', 3);
    for (let i = 0; i < 50; i++)
      scheduler.enqueue({ partitionId: 't:0', orderingKey: `k${i}`, seq: i, laneRef: undefined });
    scheduler.pump();
    expect(running).toHaveLength(3);
    while (running.length < 50) {
      scheduler.complete(running[running.length - 1]!);
      scheduler.pump();
    }
    expect(peak()).toBe(3);
  });

  it('keeps per-key order under random completion order', () => {
    const { scheduler, running } = harness('key', 8);
    const keys = Array.from({ length: 2000 }, (_, i) => `k${i % 37}`);
    for (const item of items('t:1', keys)) scheduler.enqueue(item);
    scheduler.pump();
    const seen = new Map<string, number[]>();
    const active = [...running];
    while (active.length > 0) {
      const index = Math.floor(Math.random() * active.length);
      const [item] = active.splice(index, 1);
      const list = seen.get(item!.orderingKey) ?? [];
      list.push(item!.seq);
      seen.set(item!.orderingKey, list);
      const before = running.length;
      scheduler.complete(item!);
      scheduler.pump();
      active.push(...running.slice(before));
    }
    expect([...seen.values()].reduce((n, l) => n + l.length, 0)).toBe(2000);
    for (const list of seen.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
    expect(scheduler.laneCount).toBe(0);
  });

  it('runs a partition serially in partition mode', () => {
    const { scheduler, running } = harness('partition', 10);
    for (const item of items('t:0', ['a', 'b', 'c'])) scheduler.enqueue(item);
    for (const item of items('t:1', ['a'])) scheduler.enqueue(item);
    scheduler.pump();
    expect(running.map((i) => `${i.partitionId}/${i.seq}`)).toEqual(['t:0/0', 't:1/0']);
  });

  it('runs everything up to the limit in unordered mode', () => {
    const { scheduler, running } = harness('unordered', 10);
    for (const item of items('t:0', ['a', 'a', 'a'])) scheduler.enqueue(item);
    scheduler.pump();
    expect(running).toHaveLength(3);
  });

  it('parks a held partition in order and resumes it on release', () => {
    const { scheduler, running } = harness('key', 10);
    scheduler.hold('t:0');
    for (const item of items('t:0', ['a', 'a'])) scheduler.enqueue(item);
    for (const item of items('t:1', ['a'])) scheduler.enqueue(item);
    scheduler.pump();
    expect(running.map((i) => i.partitionId)).toEqual(['t:1']);
    scheduler.release('t:0');
    scheduler.pump();
    expect(running.map((i) => `${i.partitionId}/${i.seq}`)).toEqual(['t:1/0', 't:0/0']);
  });

  it('puts a requeued item back at the front of its lane', () => {
    const { scheduler, running } = harness('key', 10);
    for (const item of items('t:0', ['a', 'a'])) scheduler.enqueue(item);
    scheduler.pump();
    scheduler.hold('t:0');
    scheduler.requeueFront(running[0]!);
    scheduler.release('t:0');
    scheduler.pump();
    expect(running.map((i) => i.seq)).toEqual([0, 0]);
  });

  it('drops queued items of a revoked partition but not running ones', () => {
    const { scheduler, running } = harness('key', 10);
    for (const item of items('t:0', ['a', 'a', 'b'])) scheduler.enqueue(item);
    scheduler.pump();
    const dropped = scheduler.dropPartition('t:0');
    expect(dropped.map((i) => i.seq)).toEqual([1]);
    expect(scheduler.inFlight).toBe(2);
    scheduler.complete(running[0]!);
    scheduler.complete(running[1]!);
    scheduler.pump();
    expect(running).toHaveLength(2);
    expect(scheduler.inFlight).toBe(0);
  });
});
