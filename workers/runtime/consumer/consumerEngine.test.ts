/**
 * Races of the consumer engine that a real broker cannot produce on demand (a revoke landing while
 * the DLQ caps answer, a probe timer outliving its assignment, a commit that never answers), run
 * against a fake client. The broker-level behaviour is in the *.int.test.ts files.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TopicPartition } from '@confluentinc/kafka-javascript';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DependencyUnavailableError, PermanentError, RetriableError } from '../errors/processingErrors.ts';
import type { MessageHandler } from './consumedMessage.ts';
import type { ConsumerEngine, ConsumerEngineDeps, DeadLetterGate } from './consumerEngine.ts';
import type { ConsumerOptions } from './consumerOptions.ts';
import { silentObserver } from './engineObserver.ts';
import { recordingLogger, testEngine, until } from './engineTestKit.ts';

vi.mock('./rdkafkaConsumer.ts', () => ({
  createRdKafkaConsumer: (config: Record<string, unknown>) => {
    const client = new FakeConsumer(config);
    clients.push(client);
    return client;
  },
}));

const ASSIGN = -175;
const REVOKE = -174;
const topic = 'T';

interface FakeRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer;
  value: Buffer;
  timestamp: number;
}

type RebalanceCallback = (error: { code: number; message: string }, assignment: TopicPartition[]) => void;

/** The node-rdkafka-style client surface the engine uses, over in-memory partition logs. */
class FakeConsumer extends EventEmitter {
  readonly assigned = new Set<number>();
  readonly paused = new Set<number>();
  readonly commits: { partition: number; offset: number }[] = [];
  connected = false;
  disconnected = false;
  consumeCalls = 0;
  hangCommits = false;
  private readonly config: Record<string, unknown>;
  private readonly logs = new Map<number, FakeRecord[]>();
  private readonly positions = new Map<number, number>();
  private readonly pendingCommits: Array<() => void> = [];

  constructor(config: Record<string, unknown>) {
    super();
    this.config = config;
  }

  /** Appends records with these keys to a partition's log. */
  produce(partition: number, entries: { key: string; value: string }[]): void {
    const log = this.logs.get(partition) ?? [];
    this.logs.set(partition, log);
    for (const { key, value } of entries)
      log.push({
        topic,
        partition,
        offset: log.length,
        key: Buffer.from(key),
        value: Buffer.from(value),
        timestamp: Date.now(),
      });
  }

  /** Has the group assign or revoke a partition; a reassigned partition restarts at its last commit. */
  rebalance(code: number, partition: number): void {
    if (code === ASSIGN) this.positions.set(partition, this.committedOffset(partition));
    (this.config.rebalance_cb as RebalanceCallback)({ code, message: 'rebalance' }, [{ topic, partition }]);
  }

  releaseCommits(): void {
    this.hangCommits = false;
    for (const answer of this.pendingCommits.splice(0)) answer();
  }

  committedOffset(partition: number): number {
    return this.commits.filter((c) => c.partition === partition).at(-1)?.offset ?? 0;
  }

  setDefaultConsumeTimeout(): void {}
  setDefaultIsTimeoutOnlyForFirstMessage(): void {}
  subscribe(): void {}
  rebalanceProtocol(): string {
    return 'COOPERATIVE';
  }
  assignmentLost(): boolean {
    return false;
  }
  isConnected(): boolean {
    return this.connected;
  }
  connect(_options: unknown, callback: (error?: Error) => void): void {
    setTimeout(() => {
      this.connected = true;
      callback();
    }, connectDelayMs);
  }
  disconnect(callback: () => void): void {
    this.connected = false;
    this.disconnected = true;
    setTimeout(callback, 1);
  }
  incrementalAssign(assignment: TopicPartition[]): void {
    for (const tp of assignment) this.assigned.add(tp.partition);
  }
  incrementalUnassign(assignment: TopicPartition[]): void {
    for (const tp of assignment) this.assigned.delete(tp.partition);
  }
  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(tp.partition);
  }
  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      this.paused.delete(tp.partition);
      this.events.push(`resume ${tp.partition}`);
    }
  }
  /** Pause/resume calls and the ListOffsets requests, in order. */
  readonly events: string[] = [];
  /** A broker that never answers ListOffsets (each request would hold a thread-pool thread). */
  hangListOffsets = false;
  queryWatermarkOffsets(
    _topic: string,
    partition: number,
    _timeoutMs: number,
    callback: (error: Error | null, offsets: { lowOffset: number; highOffset: number }) => void,
  ): void {
    this.events.push(`list-offsets ${partition}`);
    if (this.hangListOffsets) return;
    setTimeout(() => callback(null, { lowOffset: 0, highOffset: this.logs.get(partition)?.length ?? 0 }), 1);
  }
  /** Topics the fake cluster's metadata knows (default: the test topic). */
  knownTopics = [topic];
  getMetadata(
    options: { topic: string },
    callback: (
      error: Error | null,
      metadata: { topics: { name: string; partitions: { id: number }[] }[] },
    ) => void,
  ): void {
    const partitions = this.knownTopics.includes(options.topic) ? [{ id: 0 }] : [];
    setTimeout(() => callback(null, { topics: [{ name: options.topic, partitions }] }), 1);
  }
  getWatermarkOffsets(_topic: string, partition: number): { lowOffset: number; highOffset: number } {
    return { lowOffset: 0, highOffset: this.logs.get(partition)?.length ?? 0 };
  }
  commitCb(offsets: { partition: number; offset: number }[], callback: (error: Error | null) => void): this {
    const answer = () => {
      this.commits.push(...offsets.map(({ partition, offset }) => ({ partition, offset })));
      callback(null);
    };
    if (this.hangCommits) this.pendingCommits.push(answer);
    else setTimeout(answer, 1);
    return this;
  }
  consume(max: number, callback: (error: Error | null, batch: FakeRecord[]) => void): void {
    this.consumeCalls++;
    setTimeout(() => {
      const batch: FakeRecord[] = [];
      for (const partition of this.assigned) {
        if (this.paused.has(partition)) continue;
        const log = this.logs.get(partition) ?? [];
        let position = this.positions.get(partition) ?? 0;
        while (position < log.length && batch.length < max) batch.push(log[position++]!);
        this.positions.set(partition, position);
      }
      callback(null, batch);
    }, 2);
  }
}

const clients: FakeConsumer[] = [];
let connectDelayMs = 0;
const engines: ConsumerEngine<Buffer | null>[] = [];

afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.stop();
  clients.splice(0);
  connectDelayMs = 0;
});

function engineOnFake(
  handler: MessageHandler<Buffer | null>,
  options: Partial<ConsumerOptions> = {},
  deps: Partial<ConsumerEngineDeps> = {},
): ConsumerEngine<Buffer | null> {
  const engine = testEngine({ name: 'fake', groupId: 'g', topic, handler }, options, deps);
  engines.push(engine);
  return engine;
}

function client(): FakeConsumer {
  return clients.at(-1)!;
}

function gateAnswering(answer: () => Promise<{ admitted: true } | { admitted: false; reason: string }>) {
  const gate = { calls: 0 };
  const dlqGate: DeadLetterGate = {
    admitDeadLetter: () => {
      gate.calls++;
      return answer();
    },
    recordSuccess: () => {},
    onResumed: () => {},
    degradedReason: () => undefined,
    releasePartition: () => {},
    deadLetterWriteFailed: () => {},
    deadLetterWritten: () => {},
    isBlocked: () => false,
  };
  return { gate, dlqGate };
}

const records = (key: string, values: string[]) => values.map((value) => ({ key, value }));

describe('ConsumerEngine races (fake client)', () => {
  it('wakes the fetcher with a ListOffsets to the partition right after every resume', async () => {
    // librdkafka fetches a resumed partition only when its broker thread next wakes (~0.5 s).
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handled: number[] = [];
    const engine = engineOnFake(
      async (message) => {
        await gate;
        handled.push(message.offset);
      },
      { partitionMaxMessages: 4, partitionMaxUncommitted: 40, maxConcurrency: 8 },
    );
    await engine.start();
    client().produce(0, records('k', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']));
    client().rebalance(ASSIGN, 0);
    await until(
      () => engine.snapshot()[0]?.pausedFor.includes('backpressure') === true,
      5000,
      'backpressure',
    );
    // (The assignment itself resumes the partition once; that one needs no wake.)
    const before = client().events.length;
    release();
    await until(() => handled.length === 8, 5000, 'every record');
    const after = client().events.slice(before);
    const resumes = after.filter((e) => e === 'resume 0').length;
    expect(resumes).toBeGreaterThanOrEqual(1);
    expect(after).toEqual(Array.from({ length: resumes }, () => ['resume 0', 'list-offsets 0']).flat());
  });

  it('keeps at most two fetcher wakes in flight when the broker does not answer them', async () => {
    const handled: number[] = [];
    const engine = engineOnFake(
      async (message) => {
        await sleep(5);
        handled.push(message.offset);
      },
      { partitionMaxMessages: 2, partitionMaxUncommitted: 40, maxConcurrency: 4, fetchBatch: 2 },
    );
    await engine.start();
    client().hangListOffsets = true;
    client().produce(
      0,
      records(
        'k',
        Array.from({ length: 16 }, (_, i) => `v${i}`),
      ),
    );
    client().rebalance(ASSIGN, 0);
    await until(() => handled.length === 16, 5000, 'every record');
    const after = client().events;
    // Several backpressure cycles, each ending in a resume; the unanswered wakes stop at two.
    expect(after.filter((e) => e === 'resume 0').length).toBeGreaterThan(3);
    expect(after.filter((e) => e === 'list-offsets 0')).toHaveLength(2);
  });

  it('a revoke while the DLQ caps answer leaves no hold behind: the partition runs again when reassigned', async () => {
    let capped = true;
    const { gate, dlqGate } = gateAnswering(async () => {
      await sleep(50);
      return capped ? { admitted: false, reason: 'rate cap' } : { admitted: true };
    });
    const handled: number[] = [];
    const deadLettered: number[] = [];
    const engine = engineOnFake(
      async (message) => {
        if (String(message.value) === 'poison') throw new PermanentError('never valid');
        handled.push(message.offset);
      },
      {},
      { dlqGate, deadLetters: { publish: async (input) => void deadLettered.push(input.offset) } },
    );
    await engine.start();
    client().produce(0, records('p', ['poison']));
    client().rebalance(ASSIGN, 0);
    await until(() => gate.calls === 1, 5000, 'the poison message to ask the DLQ caps');
    client().rebalance(REVOKE, 0);
    await until(() => engine.snapshot().length === 0 && engine.inFlight === 0, 5000, 'the revoke');
    capped = false;
    client().produce(0, records('k', ['a', 'b', 'c']));
    client().rebalance(ASSIGN, 0);
    await until(() => handled.length === 3, 5000, 'the reassigned partition to run');
    await until(() => engine.snapshot()[0]?.committable === 4, 5000, 'the watermark to pass everything');

    expect(deadLettered).toEqual([0]);
    expect(handled).toEqual([1, 2, 3]);
    expect(engine.snapshot()[0]!.pausedFor).toEqual([]);
  });

  it('a revoke releases a message paused on its failing DLQ write: the next assignment handles it again, unpaused, and writes it once', async () => {
    const { gate, dlqGate } = gateAnswering(async () => ({ admitted: true }));
    const released: number[] = [];
    dlqGate.releasePartition = (_topic, partition) => void released.push(partition);
    let dlqDown = true;
    let publishCalls = 0;
    const deadLettered: number[] = [];
    const handled: string[] = [];
    const engine = engineOnFake(
      async (message) => {
        handled.push(String(message.value));
        if (String(message.value) === 'poison') throw new PermanentError('never valid');
      },
      { retryMinMs: 20, retryMaxMs: 100 },
      {
        dlqGate,
        deadLetters: {
          publish: async (input) => {
            publishCalls++;
            if (dlqDown)
              throw Object.assign(new Error('DLQ down'), { code: 'ERR__TRANSPORT', retriable: true });
            deadLettered.push(input.offset);
          },
        },
      },
    );
    await engine.start();
    client().produce(0, records('p', ['poison']));
    client().rebalance(ASSIGN, 0);
    await until(() => publishCalls >= 3, 5000, 'the DLQ write to fail and be retried');
    expect(handled).toEqual(['poison']); // only the write was retried
    expect(gate.calls).toBe(1);
    expect(engine.snapshot()[0]!.pausedFor).toContain('dlq_cap');
    client().rebalance(REVOKE, 0);
    await until(() => engine.snapshot().length === 0 && engine.inFlight === 0, 5000, 'the revoke');
    expect(released).toEqual([0]);
    dlqDown = false;
    client().produce(0, records('k', ['a']));
    client().rebalance(ASSIGN, 0);
    await until(() => engine.snapshot()[0]?.committable === 2, 5000, 'the watermark to pass everything');

    expect(handled).toEqual(['poison', 'poison', 'a']);
    expect(gate.calls).toBe(2);
    expect(deadLettered).toEqual([0]);
    expect(engine.snapshot()[0]!.pausedFor).toEqual([]);
  });

  it("a probe timer of a revoked assignment does not release the hold of the partition's next one", async () => {
    const retryMinMs = 400;
    const { gate, dlqGate } = gateAnswering(async () => ({ admitted: false, reason: 'rate cap' }));
    let dependencyDown = true;
    const engine = engineOnFake(
      async (message) => {
        const value = String(message.value);
        if (value === 'needs-registry' && dependencyDown) {
          dependencyDown = false;
          throw new DependencyUnavailableError('schema-registry');
        }
        if (value === 'poison') throw new PermanentError('never valid');
      },
      { retryMinMs, ordering: 'partition' },
      { dlqGate },
    );
    await engine.start();
    client().produce(0, [
      { key: 'a', value: 'needs-registry' },
      { key: 'b', value: 'poison' },
    ]);
    client().rebalance(ASSIGN, 0);
    // The registry is down: the partition is held and a probe will release it in 200-400 ms.
    await until(
      () => engine.snapshot()[0]?.pausedFor.includes('breaker') === true,
      5000,
      'the dependency pause',
    );
    const probeDueBy = Date.now() + retryMinMs;
    client().rebalance(REVOKE, 0);
    await until(() => engine.snapshot().length === 0, 5000, 'the revoke');
    client().rebalance(ASSIGN, 0);
    // Next assignment: the registry is back; the poison message meets the DLQ cap, which holds the partition.
    await until(
      () => engine.snapshot()[0]?.pausedFor.includes('dlq_cap') === true,
      5000,
      'the DLQ cap pause',
    );
    const askedBeforeProbe = gate.calls;
    await sleep(Math.max(0, probeDueBy - Date.now()) + 200);

    // Released by the old probe, the poison message would have run and asked the caps again.
    expect(askedBeforeProbe).toBe(1);
    expect(gate.calls).toBe(1);
    expect(engine.snapshot()[0]!.pausedFor).toEqual(['dlq_cap']);
  });

  it('a revoke whose commit never answers still completes', async () => {
    const handled: number[] = [];
    const engine = engineOnFake(async (message) => void handled.push(message.offset), {
      revokeTimeoutMs: 100,
    });
    await engine.start();
    client().produce(0, records('k', ['a', 'b']));
    client().rebalance(ASSIGN, 0);
    await until(() => handled.length === 2, 5000, 'both messages handled');
    client().hangCommits = true;
    const answeredCommits = client().commits.length;
    client().rebalance(REVOKE, 0);
    await until(
      () => !client().assigned.has(0) && engine.snapshot().length === 0,
      10_000,
      'the partition to be unassigned',
    );
    // Unassigned with its commit still unanswered: the revoke did not wait for it.
    expect(client().commits).toHaveLength(answeredCommits);
    expect(client().assigned.has(0)).toBe(false);
    expect(engine.snapshot()).toEqual([]);
    client().releaseCommits();
  });

  it('a stop during the wait for inherited DLQ blocks assigns nothing to the closed client and logs no error', async () => {
    const errors: string[] = [];
    let answerInherit!: () => void;
    const { dlqGate } = gateAnswering(async () => ({ admitted: true }));
    dlqGate.inheritBlocks = () =>
      new Promise((resolve) => {
        answerInherit = () => resolve([]);
      });
    const engine = engineOnFake(async () => {}, {}, { dlqGate, logger: recordingLogger(errors) });
    await engine.start();
    client().rebalance(ASSIGN, 0);
    await until(() => answerInherit !== undefined, 5000, 'the assignment waiting for the block store');
    const stopped = engine.stop();
    await until(() => client().disconnected, 5000, 'the client closed by stop()');
    answerInherit();
    await stopped;
    expect(errors).toEqual([]);
    expect(client().assigned.size).toBe(0);
  });

  it('a drain and a stop whose commits never answer still complete (bounded like the revoke)', async () => {
    const handled: number[] = [];
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_fields: object, message: string) => void warnings.push(message),
    };
    const engine = engineOnFake(
      async (message) => void handled.push(message.offset),
      { revokeTimeoutMs: 100 },
      { logger },
    );
    await engine.start();
    client().produce(0, records('k', ['a', 'b']));
    client().rebalance(ASSIGN, 0);
    await until(() => handled.length === 2, 5000, 'both messages handled');
    client().hangCommits = true;
    expect(await engine.drain(200)).toBe(true);
    await engine.stop();
    expect(client().disconnected).toBe(true);
    // The drain's commit timed out; the stop did not queue a second one behind it for another wait.
    expect(warnings).toContain('commit on drain did not complete');
    expect(warnings).not.toContain('final commit did not complete');
    client().releaseCommits();
  });

  it('stop() during start() resolves after the client is closed, and no poll loop starts', async () => {
    connectDelayMs = 50;
    const engine = engineOnFake(async () => {});
    const started = engine.start();
    await engine.stop();
    const closedByStop = client().disconnected;
    await started;

    expect(closedByStop).toBe(true);
    expect(client().consumeCalls).toBe(0);
    expect(engine.liveness()).toEqual({ ok: false, reason: 'stopped' });
  });

  it('an observer throwing after a success neither dead-letters nor reruns the message', async () => {
    const handled: number[] = [];
    const deadLettered: number[] = [];
    const errors: string[] = [];
    let observerBroken = true;
    const engine = engineOnFake(
      async (message) => void handled.push(message.offset),
      {},
      {
        deadLetters: { publish: async (input) => void deadLettered.push(input.offset) },
        logger: recordingLogger(errors),
        observer: {
          ...silentObserver,
          processed: () => {
            if (!observerBroken) return;
            observerBroken = false;
            throw new Error('observer bug');
          },
        },
      },
    );
    await engine.start();
    client().produce(0, records('k', ['a', 'b', 'c']));
    client().rebalance(ASSIGN, 0);
    await until(() => engine.snapshot()[0]?.committable === 3, 5000, 'the watermark to pass everything');

    expect(handled).toEqual([0, 1, 2]);
    expect(deadLettered).toEqual([]);
    expect(engine.snapshot()[0]!.unfinished).toBe(0);
    expect(errors).toEqual(['bookkeeping failed after the message was finished']);
  });

  it('an observer throwing after a dead letter was published does not publish it again', async () => {
    const deadLettered: number[] = [];
    let broken = true;
    const errors: string[] = [];
    const engine = engineOnFake(
      async () => {
        throw new PermanentError('never valid');
      },
      { retryMaxMs: 50 },
      {
        deadLetters: { publish: async (input) => void deadLettered.push(input.offset) },
        logger: recordingLogger(errors),
        observer: {
          ...silentObserver,
          deadLettered: () => {
            if (!broken) return;
            broken = false;
            throw new Error('observer bug');
          },
        },
      },
    );
    await engine.start();
    client().produce(0, records('p', ['poison', 'after']));
    client().rebalance(ASSIGN, 0);
    await until(() => engine.snapshot()[0]?.committable === 2, 5000, 'the watermark past both');
    await sleep(100); // a second publish, if any, would come after the retry wait
    expect(deadLettered).toEqual([0, 1]);
    expect(errors).toEqual(['bookkeeping failed after the message was finished']);
  });

  it('a drain converges as soon as a message waiting to run again is given up', async () => {
    const { dlqGate } = gateAnswering(async () => {
      throw new Error('caps broken');
    });
    const engine = engineOnFake(
      async () => {
        throw new PermanentError('never valid');
      },
      { retryMaxMs: 200 },
      { dlqGate, deadLetters: { publish: async () => {} } },
    );
    await engine.start();
    client().produce(0, records('p', ['poison']));
    client().rebalance(ASSIGN, 0);
    await until(() => engine.inFlight === 1, 5000, 'the message in flight');
    await sleep(20);
    // Its retry wait (200 ms) ends long before this drain's timeout: the drain must see the slot free.
    expect(await engine.drain(10_000)).toBe(true);
    expect(engine.inFlight).toBe(0);
  });

  it("a revoke wakes a message waiting to run again, so its key's next message runs at once when reassigned", async () => {
    let first = true;
    const { dlqGate } = gateAnswering(async () => {
      await sleep(50);
      throw new Error('caps broken');
    });
    const handled: number[] = [];
    const engine = engineOnFake(
      async (message) => {
        if (first) {
          first = false;
          throw new PermanentError('never valid');
        }
        handled.push(message.offset);
      },
      // Far longer than the wait below: only a wake-up on revoke lets the key run again in time.
      { retryMaxMs: 60_000 },
      { dlqGate, deadLetters: { publish: async () => {} } },
    );
    await engine.start();
    client().produce(0, records('p', ['poison', 'next']));
    client().rebalance(ASSIGN, 0);
    await sleep(20);
    client().rebalance(REVOKE, 0);
    await until(() => engine.snapshot().length === 0, 5000, 'the revoke');
    client().rebalance(ASSIGN, 0);
    await until(() => handled.length >= 2, 10_000, 'both messages handled by the next assignment');
    expect(handled).toEqual([0, 1]);
  });

  it('a revoke cuts short a retry backoff: the rebalance does not wait it out, and the retry never runs', async () => {
    let calls = 0;
    const engine = engineOnFake(
      async () => {
        calls++;
        throw new RetriableError('downstream hiccup');
      },
      // A backoff and a revoke timeout far longer than the wait below: only a wake-up lets the revoke finish.
      { retryMinMs: 60_000, retryMaxMs: 60_000, revokeTimeoutMs: 60_000, maxAttempts: 5 },
    );
    await engine.start();
    client().produce(0, records('k', ['flaky']));
    client().rebalance(ASSIGN, 0);
    await until(() => calls === 1, 5000, 'the first attempt');
    client().rebalance(REVOKE, 0);
    await until(() => engine.snapshot().length === 0, 5000, 'the revoke');
    expect(calls).toBe(1);
    await engine.stop();
  });
});
