import { describe, expect, it } from 'vitest';
import { runStorm } from './runStorm.ts';

describe('double-booking storm (small run: real ingress, two settlers, a SIGKILL, a replay)', () => {
  it('never confirms two overlapping reservations and decides every accepted request exactly once', async () => {
    const report = await runStorm({
      requests: 400,
      concurrency: 16,
      hotVehicles: 4,
      customers: 100,
      settlers: 2,
      kills: 1,
      cancelRatio: 0.1,
      windowDays: 7,
      partitions: 4,
      log: () => undefined,
    });
    const c = report.checks;
    expect(report.accepted).toBeGreaterThan(300);
    expect(report.kills).toBe(1);
    expect(report.decisions.confirmed).toBeGreaterThan(0);
    expect(report.decisions.rejected).toBeGreaterThan(0);
    expect(c.serverErrors).toBe(0);
    expect(c.overlapsInDatabase).toEqual([]);
    expect(c.overlapsThroughApi).toEqual([]);
    expect(c.notTerminal).toEqual([]);
    expect(c.apiDisagreesWithDatabase).toEqual([]);
    expect(c.eventsDisagreeWithDatabase).toEqual([]);
    expect(c.replayChangedDatabase).toBe(false);
    expect(c.replayDisagreements).toEqual([]);
    expect(c.replayNewEventIds).toBe(0);
    expect(report.ok).toBe(true);
  }, 600_000);
});
