import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStorm } from './runStorm.ts';

describe('double-booking storm (small run: real ingress, two settlers, a SIGKILL, a replay)', () => {
  it('never confirms two overlapping reservations and decides every accepted request exactly once', async () => {
    const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storm-report-'));
    const reportFile = path.join(reportDir, 'storm.json');
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
      reportFile,
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

    // The report on disk, with its timeline and the picture of it.
    const written = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as typeof report;
    expect(written.ok).toBe(true);
    expect(written.timeline.kills).toHaveLength(1);
    const decided = written.timeline.points.map((p) => p.decided);
    expect(decided.length).toBeGreaterThan(0);
    expect(decided).toEqual([...decided].sort((a, b) => a - b)); // decisions never go away
    expect(Math.max(...decided)).toBeLessThanOrEqual(
      Object.values(report.decisions).reduce((a, b) => a + b, 0),
    );
    expect(report.chartFile).toBe(path.join(reportDir, 'storm.png'));
    expect(fs.readFileSync(report.chartFile!).subarray(1, 4).toString('latin1')).toBe('PNG');
    fs.rmSync(reportDir, { recursive: true, force: true });
  }, 600_000);
});
