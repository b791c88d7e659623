import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStorm } from './runStorm.ts';

describe('double-booking storm (small run: real ingress, two settlers, two SIGKILLs, a replay)', () => {
  it('never confirms two overlapping reservations and decides every accepted request exactly once', async () => {
    const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storm-report-'));
    const reportFile = path.join(reportDir, 'storm.json');
    const report = await runStorm({
      requests: 400,
      concurrency: 16,
      hotVehicles: 4,
      customers: 100,
      settlers: 2,
      kills: 2,
      cancelRatio: 0.1,
      confirmedCancelRatio: 0.5,
      windowDays: 7,
      partitions: 4,
      reportFile,
      log: () => undefined,
    });
    const c = report.checks;
    const e = report.evidence;
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThan(300);
    expect(report.kills).toBe(2);
    expect(report.decisions.confirmed).toBeGreaterThan(0);
    expect(e.rejectionReasons.overlap).toBeGreaterThan(0);
    expect(c.serverErrors).toBe(0);
    expect(c.acceptedWithoutId).toBe(0);
    expect(c.overlapsInDatabase).toEqual([]);
    expect(c.overlapsThroughApi).toEqual([]);
    expect(c.notTerminal).toEqual([]);
    expect(c.apiDisagreesWithDatabase).toEqual([]);
    expect(c.eventsDisagreeWithDatabase).toEqual([]);
    // One to one: every decision (requests and cancellations) has its event, every event its row.
    expect(c.eventsMissingFromTopic).toEqual([]);
    expect(c.eventsDifferFromDatabase).toEqual([]);
    expect(c.eventsWithoutRow).toEqual([]);
    expect(e.compared.eventsWithDatabase.decisions).toBeGreaterThanOrEqual(report.accepted);
    expect(e.uniqueEventIds).toBe(e.compared.eventsWithDatabase.decisions);
    // Cancellations: pending ones and confirmed ones, each decided exactly once.
    expect(report.cancellationsAccepted).toBeGreaterThan(0);
    expect(e.compared.cancellations).toBe(report.cancellationsAccepted);
    expect(e.cancellationDecisions.cancelled + e.cancellationDecisions.rejected).toBe(
      report.cancellationsAccepted,
    );
    expect(e.cancellationsAfterConfirmation).toBeGreaterThan(0);
    expect(e.cancellationDecisions.cancelled).toBeGreaterThanOrEqual(e.cancellationsAfterConfirmation);
    expect(c.cancellationsWithoutDecision).toEqual([]);
    expect(c.cancellationsDecidedMoreThanOnce).toEqual([]);
    expect(c.cancellationDecisionsWithoutRequest).toEqual([]);
    // The replay emitted every decision again, under the same ids, and changed nothing.
    expect(c.replayChangedDatabase).toBe(false);
    expect(e.compared.replay.decisions).toBe(e.compared.eventsWithDatabase.decisions);
    expect(e.replayUniqueEventIds).toBe(e.compared.replay.decisions);
    expect(c.replayNotReemitted).toEqual([]);
    expect(c.replayDiffers).toEqual([]);
    expect(c.replayNewEventIds).toBe(0);
    // A kill landed with work in flight: a redelivery, or uncommitted records at a kill.
    expect(e.uncommittedAtKills).toHaveLength(2);
    expect(e.redeliveries > 0 || e.uncommittedAtKills.some((n) => (n ?? 0) > 0)).toBe(true);
    expect(report.ok).toBe(true);

    // The report on disk, with its timeline and the picture of it.
    const written = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as typeof report;
    expect(written.ok).toBe(true);
    expect(written.timeline.kills).toHaveLength(2);
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
