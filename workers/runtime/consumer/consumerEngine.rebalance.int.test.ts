import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bootstrap,
  committedOffsets,
  createTopics,
  deleteTopics,
  produceRecords,
  uniqueName,
} from '../testing/kafkaTestKit.ts';
import type { MessageHandler } from './consumedMessage.ts';
import type { ConsumerOptions } from './consumerOptions.ts';
import { type EngineObserver, silentObserver } from './engineObserver.ts';
import { testEngine, until } from './engineTestKit.ts';

const topics: string[] = [];
afterAll(async () => {
  await deleteTopics(topics);
});

function engine(
  name: string,
  groupId: string,
  topic: string,
  handler: MessageHandler<Buffer | null>,
  options: Partial<ConsumerOptions> = {},
  observer: EngineObserver = silentObserver,
) {
  return testEngine({ name, groupId, topic, handler }, options, { bootstrapServers: bootstrap, observer });
}

describe('ConsumerEngine rebalances (real broker, KIP-848)', () => {
  it('a second instance joins mid-stream and leaves: nothing lost, per-key order holds, no key runs twice at once', async () => {
    const topic = uniqueName('engine-rebalance');
    topics.push(topic);
    const total = 12_000;
    await createTopics([{ topic, partitions: 6 }]);
    await produceRecords(
      topic,
      Array.from({ length: total }, (_, i) => ({
        key: `k${i % 200}`,
        value: `k${i % 200}:${Math.floor(i / 200)}`,
      })),
    );
    const groupId = uniqueName('rebalance-group');
    const order: { engine: string; key: string; seq: number }[] = [];
    const running = new Set<string>();
    let concurrentSameKey = 0;
    const handler =
      (name: string): MessageHandler<Buffer | null> =>
      async (message) => {
        if (running.has(message.keyText)) concurrentSameKey++;
        running.add(message.keyText);
        await sleep(2 + Math.random() * 4);
        const [key, seq] = String(message.value).split(':');
        order.push({ engine: name, key: key!, seq: Number(seq) });
        running.delete(message.keyText);
      };
    // Slow enough (about 8 handlers × 4 ms) that the stream is still flowing while B joins and leaves.
    const a = engine('a', groupId, topic, handler('a'), { maxConcurrency: 8 });
    const b = engine('b', groupId, topic, handler('b'), { maxConcurrency: 8 });
    await a.start();
    await until(() => order.length >= 1000, 30_000, 'A to handle 1000');
    await b.start();
    await until(() => order.filter((o) => o.engine === 'b').length >= 500, 60_000, 'B to take over a share');
    await b.drain(10_000);
    await b.stop();
    const distinct = () => new Set(order.map((o) => `${o.key}:${o.seq}`)).size;
    await until(() => distinct() >= total, 60_000, 'every message handled');
    await a.drain(10_000);
    await a.stop();

    expect(distinct()).toBe(total);
    expect(concurrentSameKey).toBe(0);
    expect(new Set(order.map((o) => o.engine))).toEqual(new Set(['a', 'b']));
    // Per key, first occurrences come in sequence order; a repeat can only replay what was already seen.
    const byKey = new Map<string, number[]>();
    for (const o of order) byKey.set(o.key, [...(byKey.get(o.key) ?? []), o.seq]);
    for (const [key, seqs] of byKey) {
      const firsts = seqs.filter((s, i) => seqs.indexOf(s) === i);
      expect(firsts, key).toEqual(Array.from({ length: total / 200 }, (_, i) => i));
    }
    const committed = await committedOffsets(groupId, topic);
    expect([...committed.values()].reduce((n, o) => n + o, 0)).toBe(total);
  });

  it("a revoke waits for the partition's in-flight work, commits it, and only then does the next owner run the key", async () => {
    // The property the first test's concurrentSameKey check needs handlers long enough to test:
    // a message in flight at the revoke finishes (within CONSUMER_REVOKE_TIMEOUT_MS) before its
    // partition is handed over, so the next owner neither overlaps its key nor redoes it.
    const topic = uniqueName('engine-revoke-waits');
    topics.push(topic);
    await createTopics([{ topic, partitions: 2 }]);
    await produceRecords(
      topic,
      [0, 1].flatMap((partition) => [
        { key: `k${partition}`, value: 'slow', partition },
        ...Array.from({ length: 5 }, () => ({ key: `k${partition}`, value: 'fast', partition })),
      ]),
    );
    const groupId = uniqueName('revoke-waits-group');
    const runs: { engine: string; key: string; offset: number; start: number; end: number }[] = [];
    const handler =
      (name: string): MessageHandler<Buffer | null> =>
      async (message) => {
        const start = performance.now();
        if (String(message.value) === 'slow') await sleep(1500);
        runs.push({
          engine: name,
          key: message.keyText,
          offset: message.offset,
          start,
          end: performance.now(),
        });
      };
    const a = engine('a', groupId, topic, handler('a'));
    const b = engine('b', groupId, topic, handler('b'));
    await a.start();
    await until(() => a.inFlight >= 2, 30_000, 'both slow messages in flight in A');
    await b.start();
    await until(() => runs.some((r) => r.engine === 'b'), 30_000, 'B to take over a partition');
    await until(() => new Set(runs.map((r) => `${r.key}:${r.offset}`)).size === 12, 30_000, 'every message');
    await b.drain(5000);
    await b.stop();
    await a.drain(5000);
    await a.stop();

    const moved = runs.find((r) => r.engine === 'b')!.key;
    const slowOfMoved = runs.filter((r) => r.key === moved && r.offset === 0);
    // A finished it and committed it on the revoke: B did not run it again.
    expect(slowOfMoved.map((r) => r.engine)).toEqual(['a']);
    const firstInB = Math.min(...runs.filter((r) => r.engine === 'b' && r.key === moved).map((r) => r.start));
    expect(firstInB).toBeGreaterThanOrEqual(slowOfMoved[0]!.end);
  });

  it('work still running in a revoked partition never commits after the revoke; the new owner redoes it', async () => {
    const topic = uniqueName('engine-fence');
    topics.push(topic);
    await createTopics([{ topic, partitions: 2 }]);
    await produceRecords(topic, [
      { key: 'slow-0', value: 'slow', partition: 0 },
      { key: 'slow-1', value: 'slow', partition: 1 },
      ...Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `fast`, partition: i % 2 })),
    ]);
    const groupId = uniqueName('fence-group');
    const handledBy: { engine: string; partition: number; offset: number }[] = [];
    const slowFinished: number[] = [];
    const a = engine(
      'a',
      groupId,
      topic,
      async (message) => {
        if (String(message.value) === 'slow') {
          await sleep(4000);
          slowFinished.push(message.partition);
        }
        handledBy.push({ engine: 'a', partition: message.partition, offset: message.offset });
      },
      { revokeTimeoutMs: 300 },
    );
    const b = engine('b', groupId, topic, async (message) => {
      handledBy.push({ engine: 'b', partition: message.partition, offset: message.offset });
    });
    await a.start();
    await until(() => a.inFlight >= 2, 30_000, 'both slow messages in flight in A');
    await b.start();
    await until(
      () => handledBy.some((h) => h.engine === 'b' && h.offset === 0),
      30_000,
      'B to take over a partition',
    );
    const moved = handledBy.find((h) => h.engine === 'b' && h.offset === 0)!.partition;
    await until(
      () => slowFinished.includes(moved),
      30_000,
      "A's late completion of the revoked slow message",
    );
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      samples.push((await committedOffsets(groupId, topic)).get(moved) ?? -1);
      await sleep(100);
    }
    await b.drain(5000);
    await b.stop();
    await a.drain(5000);
    await a.stop();

    // The slow message of the moved partition was handled by B too: A's revoked completion did not count.
    expect(
      handledBy
        .filter((h) => h.partition === moved && h.offset === 0)
        .map((h) => h.engine)
        .sort(),
    ).toEqual(['a', 'b']);
    // Offsets never moved back, as they would if A had committed its stale watermark after the revoke.
    for (let i = 1; i < samples.length; i++) expect(samples[i]).toBeGreaterThanOrEqual(samples[i - 1]!);
    expect(samples.at(-1)).toBe(21);
  });
  it('partitions assigned while draining (another member left) are held and paused, so the drain converges', async () => {
    const topic = uniqueName('engine-drain-assign');
    topics.push(topic);
    await createTopics([{ topic, partitions: 2 }]);
    const groupId = uniqueName('drain-assign-group');
    let releaseA!: () => void;
    const blockA = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    let draining = false;
    const startedInADuringDrain: string[] = [];
    let handledByB = 0;
    const a = engine('a', groupId, topic, async (message) => {
      if (draining) startedInADuringDrain.push(`${message.partition}/${message.offset}`);
      await blockA;
    });
    const b = engine('b', groupId, topic, async () => void handledByB++);
    await b.start();
    await until(() => b.snapshot().length === 2, 30_000, 'B to own both partitions');
    await a.start();
    await until(() => a.snapshot().length === 1 && b.snapshot().length === 1, 30_000, 'a partition each');
    const moved = b.snapshot()[0]!.partition;
    await produceRecords(
      topic,
      [0, 1].map((partition) => ({ key: 'first', value: 'first', partition })),
    );
    await until(() => a.inFlight === 1 && handledByB === 1, 30_000, "A's handler blocked and B's done");
    draining = true;
    const drained = a.drain(60_000);
    await b.drain(5000);
    await b.stop();
    await until(
      () => a.snapshot().some((p) => p.partition === moved),
      30_000,
      "A to be assigned B's partition while draining",
    );
    const assignedWhileDraining = a.snapshot().find((p) => p.partition === moved)!;
    await produceRecords(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: `late-${i}`, value: 'late', partition: moved })),
    );
    releaseA();
    const converged = await drained;
    await a.stop();

    expect(assignedWhileDraining.pausedFor).toContain('draining');
    expect(converged).toBe(true);
    expect(startedInADuringDrain).toEqual([]);
    // Nothing ran there during the drain, so the partition stands where B committed it.
    expect((await committedOffsets(groupId, topic)).get(moved)).toBe(1);
  });
});

describe('ConsumerEngine backpressure (real broker)', () => {
  it('pauses and resumes partitions under a slow handler, keeps buffers bounded, and triggers no rebalance', async () => {
    const topic = uniqueName('engine-backpressure');
    topics.push(topic);
    await createTopics([{ topic, partitions: 4 }]);
    await produceRecords(
      topic,
      // More than 12 s of work at 8 × 5 ms: the backlog outlasts the window.
      Array.from({ length: 40_000 }, (_, i) => ({ key: `k${i % 1000}`, value: Buffer.alloc(200, i % 256) })),
    );
    const events = { paused: 0, resumed: 0, assign: 0, revoke: 0 };
    const observer: EngineObserver = {
      ...silentObserver,
      paused: () => void events.paused++,
      resumed: () => void events.resumed++,
      rebalanced: (type) => void (type === 'assign' ? events.assign++ : events.revoke++),
    };
    let handled = 0;
    const e = engine(
      'bp',
      uniqueName('bp-group'),
      topic,
      async () => {
        await sleep(5);
        handled++;
      },
      {
        maxConcurrency: 8,
        partitionMaxMessages: 200,
        processMaxMessages: 500,
        fetchBatch: 100,
        maxPollIntervalMs: 8000,
      },
      observer,
    );
    await e.start();
    let maxPartition = 0;
    let maxProcess = 0;
    let pausedInLastSecond = false;
    const deadline = Date.now() + 12_000; // longer than max.poll.interval.ms: polling must go on while paused
    while (Date.now() < deadline) {
      const snapshot = e.snapshot();
      if (deadline - Date.now() < 1000 && snapshot.some((p) => p.pausedFor.includes('backpressure'))) {
        pausedInLastSecond = true;
      }
      maxPartition = Math.max(maxPartition, ...snapshot.map((p) => p.unfinished), 0);
      maxProcess = Math.max(
        maxProcess,
        snapshot.reduce((n, p) => n + p.unfinished, 0),
      );
      await sleep(10);
    }
    const rebalancesWhileRunning = { ...events };
    await e.drain(5000);
    await e.stop();

    // Still under backpressure at the end: the window (longer than max.poll.interval.ms) was busy throughout.
    expect(pausedInLastSecond).toBe(true);
    expect(handled).toBeGreaterThan(0);
    expect(events.paused).toBeGreaterThan(0);
    expect(events.resumed).toBeGreaterThan(0);
    expect(maxPartition).toBeLessThanOrEqual(200 + 100);
    expect(maxProcess).toBeLessThanOrEqual(500 + 100);
    expect(rebalancesWhileRunning.assign).toBe(1);
    expect(rebalancesWhileRunning.revoke).toBe(0);
  });
  it('a blocked head while other keys finish: the partition pauses at CONSUMER_PARTITION_MAX_UNCOMMITTED and holds no more', async () => {
    const topic = uniqueName('engine-uncommitted');
    topics.push(topic);
    await createTopics([{ topic, partitions: 1 }]);
    const total = 5000;
    await produceRecords(topic, [
      { key: 'stuck', value: 'stuck', partition: 0 },
      ...Array.from({ length: total }, (_, i) => ({ key: `k${i % 100}`, value: 'ok', partition: 0 })),
    ]);
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let handled = 0;
    const groupId = uniqueName('uncommitted-group');
    const bound = 1000;
    const fetchBatch = 100;
    const e = engine(
      'bounded',
      groupId,
      topic,
      async (message) => {
        if (String(message.value) === 'stuck') await blocked;
        handled++;
      },
      { partitionMaxMessages: 400, partitionMaxUncommitted: bound, fetchBatch },
    );
    await e.start();
    const partition = () => e.snapshot()[0];
    await until(
      () =>
        partition()?.pausedFor.includes('backpressure') === true && (partition()?.uncommitted ?? 0) >= bound,
      30_000,
      'the partition to pause with the head blocked',
    );
    const samples: { uncommitted: number; unfinished: number; paused: boolean }[] = [];
    for (let i = 0; i < 20; i++) {
      const p = partition()!;
      samples.push({
        uncommitted: p.uncommitted ?? Number.POSITIVE_INFINITY,
        unfinished: p.unfinished,
        paused: p.pausedFor.includes('backpressure'),
      });
      await sleep(50);
    }
    const committedWhileBlocked = (await committedOffsets(groupId, topic)).get(0) ?? -1;
    release();
    await until(() => handled === total + 1, 30_000, 'every message handled once the head finished');
    await e.drain(5000);
    await e.stop();

    // Few unfinished (the head), so only the uncommitted bound can explain the pause.
    expect(Math.max(...samples.map((s) => s.unfinished))).toBeLessThan(400);
    expect(samples.every((s) => s.paused)).toBe(true);
    expect(Math.max(...samples.map((s) => s.uncommitted))).toBeLessThanOrEqual(bound + fetchBatch);
    expect(committedWhileBlocked).toBeLessThanOrEqual(0);
    expect((await committedOffsets(groupId, topic)).get(0)).toBe(total + 1);
  });
});

describe('ConsumerEngine lifecycle (real broker)', () => {
  it('stop() right after start() resolves once the client is closed: no poll loop outlives it', async () => {
    const topic = uniqueName('engine-stop-early');
    topics.push(topic);
    await createTopics([{ topic, partitions: 1 }]);
    await produceRecords(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: 'v' })),
    );
    const groupId = uniqueName('stop-early-group');
    let handledByEarly = 0;
    const early = engine('early', groupId, topic, async () => void handledByEarly++);
    const started = early.start();
    await early.stop();
    await started;
    const afterStop = early.liveness();
    // Were the first engine polling, it would be a member of the group and take its share.
    let handledByLate = 0;
    const late = engine('late', groupId, topic, async () => void handledByLate++);
    await late.start();
    await until(() => handledByLate === 10, 30_000, 'the second engine to handle everything');
    await late.drain(5000);
    await late.stop();

    expect(afterStop).toEqual({ ok: false, reason: 'stopped' });
    expect(handledByEarly).toBe(0);
  });
});
