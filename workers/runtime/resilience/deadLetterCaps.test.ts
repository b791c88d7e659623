import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/configError.ts';
import { EnvReader } from '../config/envReader.ts';
import {
  type DeadLetterBlock,
  DeadLetterCaps,
  type DeadLetterCapsOptions,
  type DeadLetterResumption,
  readDeadLetterCapsConfig,
} from './deadLetterCaps.ts';
import type { DeadLetterRateGate, RateCapMode, RateDecision } from './sharedDeadLetterRate.ts';
import { fakeClock, metricValue, recordingLogger } from './testSupport.ts';

/** An in-memory rate cap: `budget` takes, then refusals; the mode is set by the test. */
class FakeRateGate implements DeadLetterRateGate {
  takes = 0;
  budget: number;
  currentMode: RateCapMode = 'shared';
  private readonly listeners = new Set<(mode: RateCapMode, reason: string) => void>();
  constructor(budget: number) {
    this.budget = budget;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async tryTake(): Promise<RateDecision> {
    this.takes += 1;
    // Yield like a Redis round trip would, so concurrent admits interleave.
    await new Promise((resolve) => setImmediate(resolve));
    const admitted = this.budget > 0;
    if (admitted) this.budget -= 1;
    return { admitted, mode: this.currentMode };
  }
  mode(): RateCapMode {
    return this.currentMode;
  }
  onModeChange(listener: (mode: RateCapMode, reason: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  switchMode(mode: RateCapMode): void {
    this.currentMode = mode;
    for (const listener of this.listeners) listener(mode, 'test');
  }
}

const topic = 'fleet.reservation.commands.v1';
const started: DeadLetterCaps[] = [];
afterEach(async () => {
  for (const caps of started.splice(0)) await caps.stop();
});

async function capsWith(options: Partial<DeadLetterCapsOptions>, rateBudget = 1_000) {
  const clock = fakeClock();
  const registry = new Registry();
  const rateGate = new FakeRateGate(rateBudget);
  const { logger, lines } = recordingLogger();
  const caps = new DeadLetterCaps(
    { worker: 'settler', maxRatio: 1, maxConsecutive: 1_000, coolDownMs: 60_000, ...options },
    { registry, logger, now: clock.now, rateGate },
  );
  started.push(caps);
  await caps.start();
  const blocked: DeadLetterBlock[] = [];
  const resumed: DeadLetterResumption[] = [];
  caps.onBlocked((block) => blocked.push(block));
  caps.onResumed((resumedTopic, resumedPartition, resumption) => {
    // The positional arguments are what the engine's DeadLetterGate listener reads.
    expect([resumedTopic, resumedPartition]).toEqual([resumption.topic, resumption.partition]);
    resumed.push(resumption);
  });
  return { caps, clock, registry, rateGate, lines, blocked, resumed };
}

async function successes(caps: DeadLetterCaps, count: number, partition = 0): Promise<void> {
  for (let i = 0; i < count; i += 1) caps.recordSuccess(topic, partition);
}

describe('DeadLetterCaps ratio cap', () => {
  it('does not judge the ratio before minMessages, then trips at the message that reaches it', async () => {
    const { caps } = await capsWith({ maxRatio: 0.1, ratioWindowMessages: 20, minMessages: 10 });
    for (let i = 1; i <= 9; i += 1) {
      expect(await caps.admitDeadLetter(topic, 0), `dead letter ${i}`).toEqual({ admitted: true });
    }
    const tenth = await caps.admitDeadLetter(topic, 0);
    expect(tenth).toMatchObject({ admitted: false, cap: 'ratio' });
    expect(caps.isBlocked(topic, 0)).toBe(true);
  });

  it('admits up to exactly maxRatio over the sliding window and trips on the first dead letter above it', async () => {
    const { caps, blocked } = await capsWith({ maxRatio: 0.1, ratioWindowMessages: 20, minMessages: 10 });
    await successes(caps, 18);
    expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true }); // 1 of 19
    expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true }); // 2 of 20 = 0.1
    const third = await caps.admitDeadLetter(topic, 0); // 3 of 20 once the oldest success slides out
    expect(third).toMatchObject({ admitted: false, cap: 'ratio' });
    expect(blocked).toHaveLength(1);
    expect(blocked[0]).toMatchObject({ scope: 'partition', topic, partition: 0, cap: 'ratio' });
  });

  it('forgets dead letters that slid out of the window', async () => {
    const { caps } = await capsWith({ maxRatio: 0.1, ratioWindowMessages: 20, minMessages: 10 });
    await successes(caps, 18);
    await caps.admitDeadLetter(topic, 0);
    await caps.admitDeadLetter(topic, 0);
    await successes(caps, 20);
    expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true });
    expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true });
    expect(await caps.admitDeadLetter(topic, 0)).toMatchObject({ admitted: false, cap: 'ratio' });
  });

  it('with ratioWindowMs, forgets outcomes older than the window', async () => {
    const { caps, clock } = await capsWith({
      maxRatio: 0.1,
      ratioWindowMessages: 100,
      ratioWindowMs: 1_000,
      minMessages: 5,
    });
    await successes(caps, 10);
    clock.advance(2_000);
    await successes(caps, 4);
    // 1 of 5 recent messages: 0.2 > 0.1 (counting the expired ones it would be 1 of 15).
    expect(await caps.admitDeadLetter(topic, 0)).toMatchObject({ admitted: false, cap: 'ratio' });
  });

  it('keeps partitions apart', async () => {
    const { caps } = await capsWith({ maxRatio: 0.5, ratioWindowMessages: 10, minMessages: 2 });
    await successes(caps, 1, 1);
    expect(await caps.admitDeadLetter(topic, 1)).toEqual({ admitted: true });
    expect(await caps.admitDeadLetter(topic, 1)).toMatchObject({ admitted: false, cap: 'ratio' });
    expect(caps.isBlocked(topic, 1)).toBe(true);
    expect(caps.isBlocked(topic, 2)).toBe(false);
    await successes(caps, 1, 2);
    expect(await caps.admitDeadLetter(topic, 2)).toEqual({ admitted: true });
  });
});

describe('DeadLetterCaps consecutive cap', () => {
  it('trips after maxConsecutive dead letters in a row; a success resets the run', async () => {
    const { caps, rateGate } = await capsWith({ maxConsecutive: 3 });
    for (let i = 0; i < 3; i += 1) expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true });
    caps.recordSuccess(topic, 0);
    for (let i = 0; i < 3; i += 1) expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true });
    const fourth = await caps.admitDeadLetter(topic, 0);
    expect(fourth).toMatchObject({ admitted: false, cap: 'consecutive' });
    if (!fourth.admitted) expect(fourth.reason).toContain('4 dead letters in a row');
    // The shared budget is not spent on a dead letter a local cap refuses.
    expect(rateGate.takes).toBe(6);
  });

  it('counts a dead letter whose rate take is in flight, so two concurrent admits cannot both slip under the cap', async () => {
    const { caps } = await capsWith({ maxConsecutive: 1 });
    const verdicts = await Promise.all([caps.admitDeadLetter(topic, 0), caps.admitDeadLetter(topic, 0)]);
    expect(verdicts.filter((v) => v.admitted)).toHaveLength(1);
  });

  it('a dead letter the rate cap refuses is not counted by the partition caps', async () => {
    const { caps } = await capsWith({ maxConsecutive: 1, coolDownMs: 0 }, 0);
    expect(await caps.admitDeadLetter(topic, 0)).toMatchObject({ admitted: false, cap: 'rate' });
    caps.resume();
    // Had the refused one been recorded, this would be the second in a row.
    expect(await caps.admitDeadLetter(topic, 0)).toMatchObject({ admitted: false, cap: 'rate' });
    expect(caps.blocks().map((block) => block.cap)).toEqual(['rate']);
  });

  it('reports a failed DLQ write (metrics, reason) without charging a cap, until written or released', async () => {
    const { caps, registry } = await capsWith({ maxConsecutive: 1 });
    expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true });
    const failure = { code: 'ERR_MSG_SIZE_TOO_LARGE', retriable: false, message: 'too large' };
    caps.deadLetterWriteFailed(topic, 0, 7, failure);
    caps.deadLetterWriteFailed(topic, 0, 7, failure);
    caps.deadLetterWriteFailed(topic, 1, 3, { ...failure, code: 'ERR__TRANSPORT', retriable: true });

    expect(caps.blocks()).toEqual([]);
    const gauge = () => metricValue(registry, 'fleet_dlq_write_failing_partitions', { worker: 'settler' });
    expect(await gauge()).toBe(2);
    expect(
      await metricValue(registry, 'fleet_dlq_write_failures_total', { code: 'ERR_MSG_SIZE_TOO_LARGE' }),
    ).toBe(2);
    expect(caps.degradedReason()).toBe(
      `dlq_write: ${topic}[0] offset 7: the DLQ write failed 2× (ERR_MSG_SIZE_TOO_LARGE; refused until an operator acts); ` +
        `${topic}[1] offset 3: the DLQ write failed 1× (ERR__TRANSPORT; retried)`,
    );
    caps.deadLetterWritten(topic, 0, 7);
    caps.releasePartition(topic, 1);
    expect(await gauge()).toBe(0);
    expect(caps.degradedReason()).toBeUndefined();
  });

  it('answers a blocked partition with the cap that blocked it', async () => {
    const { caps } = await capsWith({ maxConsecutive: 1 });
    await caps.admitDeadLetter(topic, 0);
    await caps.admitDeadLetter(topic, 0);
    const again = await caps.admitDeadLetter(topic, 0);
    expect(again).toMatchObject({ admitted: false, cap: 'consecutive' });
    if (!again.admitted) expect(again.reason).toMatch(/^blocked: /);
  });
});

describe('DeadLetterCaps degraded state and resumption', () => {
  it('reports degraded (reason, gauges, ERROR log) while a cap is tripped', async () => {
    const { caps, registry, lines } = await capsWith({ maxConsecutive: 1 });
    expect(caps.degradedReason()).toBeUndefined();
    expect(await metricValue(registry, 'fleet_dlq_cap_reached', { worker: 'settler' })).toBe(0);
    expect(await metricValue(registry, 'fleet_worker_degraded', { reason: 'dlq_cap' })).toBe(0);

    await caps.admitDeadLetter(topic, 3);
    await caps.admitDeadLetter(topic, 3);

    expect(caps.degradedReason()).toMatch(/^dlq_cap: consecutive cap: fleet\.reservation\.commands\.v1\[3\]/);
    expect(await metricValue(registry, 'fleet_dlq_cap_reached', { worker: 'settler' })).toBe(1);
    expect(await metricValue(registry, 'fleet_worker_degraded', { reason: 'dlq_cap' })).toBe(1);
    expect(await metricValue(registry, 'fleet_dlq_blocked_partitions', { worker: 'settler' })).toBe(1);
    expect(
      await metricValue(registry, 'fleet_dlq_cap_trips_total', { worker: 'settler', cap: 'consecutive' }),
    ).toBe(1);
    const errors = lines.filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields).toMatchObject({ worker: 'settler', cap: 'consecutive', topic, partition: 3 });
  });

  it('resumes automatically after coolDownMs with the partition counters reset', async () => {
    const { caps, clock, registry, resumed } = await capsWith({ maxConsecutive: 2, coolDownMs: 30_000 });
    await caps.admitDeadLetter(topic, 0);
    await caps.admitDeadLetter(topic, 0);
    expect(await caps.admitDeadLetter(topic, 0)).toMatchObject({ admitted: false, cap: 'consecutive' });

    clock.advance(29_999);
    expect(caps.expireCoolDowns()).toBe(0);
    expect(caps.isBlocked(topic, 0)).toBe(true);

    clock.advance(1);
    expect(caps.expireCoolDowns()).toBe(1);
    expect(resumed).toEqual([
      { scope: 'partition', topic, partition: 0, cap: 'consecutive', by: 'cool-down' },
    ]);
    expect(caps.isBlocked(topic, 0)).toBe(false);
    expect(caps.degradedReason()).toBeUndefined();
    expect(await metricValue(registry, 'fleet_dlq_cap_reached', { worker: 'settler' })).toBe(0);
    // The run was reset: two more are admitted before the cap trips again.
    expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true });
    expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true });
    expect(await caps.admitDeadLetter(topic, 0)).toMatchObject({ admitted: false });
  });

  it('with coolDownMs 0 only an operator resumes', async () => {
    const { caps, clock } = await capsWith({ maxConsecutive: 1, coolDownMs: 0 });
    await caps.admitDeadLetter(topic, 0);
    await caps.admitDeadLetter(topic, 0);
    clock.advance(365 * 24 * 3_600_000);
    expect(caps.isBlocked(topic, 0)).toBe(true);
    expect(caps.blocks()[0]?.resumesAt).toBeNull();
    expect(caps.degradedReason()).toContain('until an operator resumes');
  });

  it('resume(topic, partition) lifts that partition only; resume() lifts everything', async () => {
    const { caps, resumed } = await capsWith({ maxConsecutive: 1 });
    for (const partition of [0, 1]) {
      await caps.admitDeadLetter(topic, partition);
      await caps.admitDeadLetter(topic, partition);
    }
    expect(caps.resume(topic, 1)).toHaveLength(1);
    expect(caps.isBlocked(topic, 1)).toBe(false);
    expect(caps.isBlocked(topic, 0)).toBe(true);
    expect(resumed).toEqual([
      { scope: 'partition', topic, partition: 1, cap: 'consecutive', by: 'operator' },
    ]);
    expect(await caps.admitDeadLetter(topic, 1)).toEqual({ admitted: true });

    expect(caps.resume()).toHaveLength(1);
    expect(caps.isBlocked(topic, 0)).toBe(false);
    expect(caps.resume()).toHaveLength(0);
  });
});

describe('DeadLetterCaps rate cap', () => {
  it('blocks every partition of the worker when the shared rate budget is spent', async () => {
    const { caps, blocked, resumed } = await capsWith({}, 2);
    expect(await caps.admitDeadLetter(topic, 0)).toEqual({ admitted: true });
    expect(await caps.admitDeadLetter(topic, 1)).toEqual({ admitted: true });
    const third = await caps.admitDeadLetter(topic, 2);
    expect(third).toMatchObject({ admitted: false, cap: 'rate' });
    expect(blocked).toEqual([expect.objectContaining({ scope: 'worker', cap: 'rate' })]);
    expect(caps.isBlocked(topic, 0)).toBe(true);
    expect(caps.isBlocked('fleet.rental.events.v1', 7)).toBe(true);

    // A topic-scoped resume does not lift the worker-wide block; a full resume does.
    expect(caps.resume(topic)).toHaveLength(0);
    expect(caps.isBlocked(topic, 0)).toBe(true);
    expect(caps.resume()).toHaveLength(1);
    expect(resumed).toEqual([{ scope: 'worker', cap: 'rate', by: 'operator' }]);
  });

  it('says when the refusal came from the per-process fallback, and exports the fallback gauge', async () => {
    const { caps, registry, rateGate } = await capsWith({ maxPerMinute: 20, fallbackMaxPerMinute: 5 }, 0);
    rateGate.switchMode('local-fallback');
    expect(caps.rateCapMode()).toBe('local-fallback');
    expect(await metricValue(registry, 'fleet_dlq_rate_cap_fallback', { worker: 'settler' })).toBe(1);
    const verdict = await caps.admitDeadLetter(topic, 0);
    expect(verdict).toMatchObject({ admitted: false, cap: 'rate' });
    if (!verdict.admitted) expect(verdict.reason).toContain('fallback budget of 5');
  });
});

describe('DeadLetterCaps lifecycle and metrics registry', () => {
  it('refuses admits before start and after stop; start and stop are idempotent', async () => {
    const caps = new DeadLetterCaps(
      { worker: 'w' },
      { registry: new Registry(), rateGate: new FakeRateGate(1) },
    );
    await expect(caps.admitDeadLetter(topic, 0)).rejects.toThrow(/not started/);
    await caps.start();
    await caps.start();
    await caps.stop();
    await caps.stop();
    await expect(caps.admitDeadLetter(topic, 0)).rejects.toThrow(/stopped/);
  });

  it('reuses metrics already registered under the same names', async () => {
    const registry = new Registry();
    const first = new DeadLetterCaps({ worker: 'a' }, { registry, rateGate: new FakeRateGate(1) });
    const second = new DeadLetterCaps({ worker: 'b' }, { registry, rateGate: new FakeRateGate(1) });
    expect(await metricValue(registry, 'fleet_dlq_cap_reached', { worker: 'a' })).toBe(0);
    expect(await metricValue(registry, 'fleet_dlq_cap_reached', { worker: 'b' })).toBe(0);
    await first.stop();
    await second.stop();
  });

  it('rejects inconsistent limits', () => {
    const deps = { registry: new Registry(), rateGate: new FakeRateGate(1) };
    expect(() => new DeadLetterCaps({ worker: 'w', ratioWindowMessages: 10, minMessages: 11 }, deps)).toThrow(
      /minMessages/,
    );
    expect(() => new DeadLetterCaps({ worker: 'w', maxRatio: 0 }, deps)).toThrow(/maxRatio/);
    expect(() => new DeadLetterCaps({ worker: '' }, deps)).toThrow(/worker/);
    expect(() => new DeadLetterCaps({ worker: 'w' }, { registry: new Registry() })).toThrow(/redisUrl/);
  });
});

describe('readDeadLetterCapsConfig', () => {
  it('has defaults', () => {
    const reader = new EnvReader({});
    const config = readDeadLetterCapsConfig(reader);
    reader.done();
    expect(config).toEqual({
      maxRatio: 0.1,
      ratioWindowMessages: 1000,
      ratioWindowMs: 0,
      minMessages: 100,
      maxConsecutive: 10,
      maxPerMinute: 60,
      fallbackMaxPerMinute: 30,
      coolDownMs: 300_000,
    });
  });

  it('reads every variable under the prefix', () => {
    const reader = new EnvReader({
      SETTLER_DLQ_MAX_RATIO: '0.25',
      SETTLER_DLQ_RATIO_WINDOW: '200',
      SETTLER_DLQ_RATIO_WINDOW_MS: '60000',
      SETTLER_DLQ_MIN_MESSAGES: '50',
      SETTLER_DLQ_MAX_CONSECUTIVE: '5',
      SETTLER_DLQ_MAX_PER_MINUTE: '20',
      SETTLER_DLQ_FALLBACK_MAX_PER_MINUTE: '4',
      SETTLER_DLQ_COOLDOWN_MS: '0',
    });
    const config = readDeadLetterCapsConfig(reader, 'SETTLER_DLQ_');
    reader.done();
    expect(config).toEqual({
      maxRatio: 0.25,
      ratioWindowMessages: 200,
      ratioWindowMs: 60_000,
      minMessages: 50,
      maxConsecutive: 5,
      maxPerMinute: 20,
      fallbackMaxPerMinute: 4,
      coolDownMs: 0,
    });
  });

  it('names every bad variable', () => {
    const reader = new EnvReader({
      DLQ_MAX_RATIO: '1.5',
      DLQ_RATIO_WINDOW: '10',
      DLQ_MIN_MESSAGES: '11',
      DLQ_MAX_PER_MINUTE: 'lots',
    });
    readDeadLetterCapsConfig(reader);
    const error = (() => {
      try {
        reader.done();
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['DLQ_MAX_RATIO', 'DLQ_MIN_MESSAGES', 'DLQ_MAX_PER_MINUTE'])
      expect(message).toContain(name);
    expect(message).not.toContain('DLQ_RATIO_WINDOW=');
  });
});
