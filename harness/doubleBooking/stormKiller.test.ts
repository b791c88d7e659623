import { describe, expect, it } from 'vitest';
import { type KillTarget, runKiller, sumOfGauge } from './stormKiller.ts';

/** A fake fleet whose processes are "between restarts" (signal answers false) for `downForMs`. */
function fakeTarget(downForMs: number): KillTarget & { signals: string[] } {
  const signals: string[] = [];
  const upAt = Date.now() + downForMs;
  return {
    signals,
    signal(name) {
      signals.push(name);
      // The old loop retried at once, without an await: fail loudly instead of hanging the test.
      if (signals.length > 1000) throw new Error('the killer spins while its victim restarts');
      return Date.now() >= upAt;
    },
    waitUntilReady: async () => undefined,
    uncommitted: async () => 7,
  };
}

describe('runKiller', () => {
  it('waits, without spinning, while the victim is between restarts, then kills it', async () => {
    const target = fakeTarget(300);
    const kills = await runKiller(target, {
      kills: 1,
      settlers: 2,
      requests: 10,
      answered: () => 10,
      stopped: () => false,
    });
    expect(kills).toEqual([{ victim: 'settler-1', answered: 10, uncommitted: 7 }]);
    // It tried again while the victim restarted; a spin would have hit the fake's 1000-try guard.
    expect(target.signals.length).toBeGreaterThan(1);
  });

  it('performs every kill it was asked for, round-robin, paced by the answers', async () => {
    let answered = 0;
    const feeding = setInterval(() => {
      answered += 10;
    }, 5);
    const kills = await runKiller(fakeTarget(0), {
      kills: 3,
      settlers: 2,
      requests: 100,
      answered: () => answered,
      stopped: () => false,
    }).finally(() => clearInterval(feeding));
    expect(kills.map((k) => k.victim)).toEqual(['settler-1', 'settler-2', 'settler-1']);
    // Kill k of 3 comes once k/4 of the requests were answered.
    expect(kills.map((k) => k.answered >= 25)).toEqual([true, true, true]);
    expect(kills[2]!.answered).toBeGreaterThanOrEqual(75);
  });

  it('stops waiting when the load ended some other way', async () => {
    const kills = await runKiller(fakeTarget(0), {
      kills: 2,
      settlers: 2,
      requests: 100,
      answered: () => 0,
      stopped: () => true,
    });
    expect(kills).toEqual([]);
  });
});

describe('sumOfGauge', () => {
  it('sums every series of one gauge and nothing else', () => {
    const text = [
      '# HELP fleet_consumer_uncommitted_messages Records received…',
      '# TYPE fleet_consumer_uncommitted_messages gauge',
      'fleet_consumer_uncommitted_messages{topic="t",partition="0"} 12',
      'fleet_consumer_uncommitted_messages{topic="t",partition="1"} 3',
      'fleet_consumer_uncommitted_messages_other 100',
    ].join('\n');
    expect(sumOfGauge(text, 'fleet_consumer_uncommitted_messages')).toBe(15);
    expect(sumOfGauge('', 'fleet_consumer_uncommitted_messages')).toBe(0);
  });
});
