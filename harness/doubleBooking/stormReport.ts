import type { DifferingDecision, Disagreement, Overlap } from './bookingChecks.ts';
import type { StormTimeline } from './stormTimeline.ts';

/** How big a storm to run. */
export interface StormOptions {
  requests: number;
  concurrency: number;
  hotVehicles: number;
  customers: number;
  settlers: number;
  /** SIGKILL one settler replica this many times while the load runs (the supervisor restarts it). */
  kills: number;
  /** Probability that an accepted reservation is cancelled by its owner right away (still pending). */
  cancelRatio: number;
  /** Probability that an accepted reservation is read back later and, if confirmed, cancelled. */
  confirmedCancelRatio: number;
  windowDays: number;
  partitions: number;
  /** Where the JSON report goes (undefined: not written). */
  reportFile?: string;
  log?: (line: string) => void;
}

/** The counts that show the checks looked at something: a pass over nothing shows here. */
export interface StormEvidence {
  /** Events read from the topic before the replay, all copies. */
  eventsRead: number;
  uniqueEventIds: number;
  /** Copies of an event id already read: work a kill (or rebalance) made a settler redo. */
  redeliveries: number;
  /** Events the replay into a fresh group emitted (read after it started). */
  replayEventsRead: number;
  replayUniqueEventIds: number;
  cancellationDecisions: { cancelled: number; rejected: number };
  /** Accepted cancellations sent after the reservation was read back as confirmed. */
  cancellationsAfterConfirmation: number;
  /** Reasons of the rejected reservation requests, as stored. */
  rejectionReasons: Record<string, number>;
  /** Per kill, the records the victim had received and not committed (null: its metrics did not answer). */
  uncommittedAtKills: (number | null)[];
  /** Requests the ingress withdrew after a failed produce (answered 503; no stored event id). */
  withdrawnRequests: number;
  /** How many rows or events each check compared. */
  compared: {
    overlapsInDatabase: number;
    overlapsThroughApi: number;
    terminal: number;
    apiWithDatabase: number;
    eventsWithDatabase: { decisions: number; events: number };
    cancellations: number;
    replay: { decisions: number; events: number };
  };
}

/** What a storm found. `ok` is true only when every check passed and `failures` is empty. */
export interface StormReport {
  ok: boolean;
  /** Each failed check, and each missing proof that the checks were not vacuous, in words. */
  failures: string[];
  options: Omit<StormOptions, 'log'>;
  startedAt: string;
  durationSeconds: number;
  /** Reservation requests sent (more than asked when the load kept going until the last kill). */
  sent: number;
  accepted: number;
  refused: Record<string, number>;
  /** Cancellations answered 202 that sent a command. */
  cancellationsAccepted: number;
  kills: number;
  settleSeconds: number;
  decisions: Record<string, number>;
  evidence: StormEvidence;
  /** Answers and decisions sampled every second from the start of the load, and the kills. */
  timeline: StormTimeline;
  /** The PNG of the timeline, beside the JSON report (when one is written). */
  chartFile?: string;
  checks: {
    /** Answers 5xx other than 503 (the ingress must never answer 500). */
    serverErrors: number;
    /** 202 answers to a reservation without a reservation id (nothing could check them). */
    acceptedWithoutId: number;
    overlapsInDatabase: Overlap[];
    overlapsThroughApi: Overlap[];
    notTerminal: string[];
    apiDisagreesWithDatabase: string[];
    /** Final status per reservation implied by every event read, against the database. */
    eventsDisagreeWithDatabase: Disagreement[];
    /** Decision event ids (requests and cancellations) not on the topic. */
    eventsMissingFromTopic: string[];
    eventsDifferFromDatabase: DifferingDecision[];
    /** Event ids on the topic without a decision row. */
    eventsWithoutRow: string[];
    cancellationsWithoutDecision: string[];
    cancellationsDecidedMoreThanOnce: string[];
    cancellationDecisionsWithoutRequest: string[];
    replayChangedDatabase: boolean;
    /** Decision event ids the replay did not emit again. */
    replayNotReemitted: string[];
    replayDiffers: DifferingDecision[];
    /** Event ids the replay emitted that no decision row names. */
    replayNewEventIds: number;
  };
}

/** Every reason a report is not a pass: failed checks first, then missing proof of coverage. */
export function stormFailures(report: Omit<StormReport, 'ok' | 'failures' | 'timeline'>): string[] {
  const c = report.checks;
  const failures: string[] = [];
  const mustBeZero: [number, string][] = [
    [c.serverErrors, 'answers 5xx other than 503'],
    [c.acceptedWithoutId, 'reservations accepted without a reservation id'],
    [c.overlapsInDatabase.length, 'overlapping confirmed reservations in the database'],
    [c.overlapsThroughApi.length, 'overlapping confirmed reservations through the API'],
    [c.notTerminal.length, 'accepted reservations not in a terminal status'],
    [c.apiDisagreesWithDatabase.length, 'reservations whose API status disagrees with the database'],
    [c.eventsDisagreeWithDatabase.length, 'reservations whose events disagree with the database'],
    [c.eventsMissingFromTopic.length, 'decisions whose event is not on the topic'],
    [c.eventsDifferFromDatabase.length, 'events that state their decision differently from the database'],
    [c.eventsWithoutRow.length, 'events without a decision row'],
    [c.cancellationsWithoutDecision.length, 'accepted cancellations without a decision'],
    [c.cancellationsDecidedMoreThanOnce.length, 'cancellations decided more than once'],
    [c.cancellationDecisionsWithoutRequest.length, 'cancellation decisions nobody asked for'],
    [c.replayChangedDatabase ? 1 : 0, 'replay changed the database'],
    [c.replayNotReemitted.length, 'decisions the replay did not emit again'],
    [c.replayDiffers.length, 'decisions the replay emitted differently'],
    [c.replayNewEventIds, 'event ids the replay minted'],
  ];
  for (const [count, what] of mustBeZero) if (count > 0) failures.push(`${count} ${what}`);
  return [...failures, ...missingCoverage(report)];
}

/** What a run must have exercised for its passing checks to mean anything. */
function missingCoverage(report: Omit<StormReport, 'ok' | 'failures' | 'timeline'>): string[] {
  const e = report.evidence;
  const missing: string[] = [];
  if (report.accepted === 0) missing.push('no reservation was accepted');
  if (report.kills !== report.options.kills) {
    missing.push(`${report.kills} of ${report.options.kills} SIGKILLs landed during the load`);
  }
  if (!(report.decisions.confirmed! > 0)) missing.push('no reservation was confirmed');
  if (!(e.rejectionReasons.overlap! > 0)) missing.push('no reservation was rejected for an overlap');
  const cancelsAsked = report.options.cancelRatio > 0 || report.options.confirmedCancelRatio > 0;
  if (cancelsAsked && e.cancellationDecisions.cancelled === 0) missing.push('no cancellation was accepted');
  const killedBusy = e.redeliveries > 0 || e.uncommittedAtKills.some((n) => n !== null && n > 0);
  if (report.options.kills > 0 && !killedBusy) {
    missing.push('no kill landed with work in flight (no redelivery, no uncommitted record at a kill)');
  }
  return missing;
}

/** The printed summary: each check with the number of rows or events it compared. */
export function stormSummary(report: StormReport): string[] {
  const c = report.checks;
  const e = report.evidence;
  const n = e.compared;
  return [
    `double-booking storm: ${report.ok ? 'PASSED' : 'FAILED'} in ${report.durationSeconds.toFixed(1)} s`,
    `  sent ${report.sent}, accepted ${report.accepted} (refused: ${JSON.stringify(report.refused)}); ` +
      `cancellations accepted ${report.cancellationsAccepted} (${e.cancellationsAfterConfirmation} after a confirmation), ` +
      `decided ${JSON.stringify(e.cancellationDecisions)}`,
    `  decisions ${JSON.stringify(report.decisions)}, rejection reasons ${JSON.stringify(e.rejectionReasons)}, ` +
      `settled in ${report.settleSeconds.toFixed(1)} s after the load`,
    `  ${report.kills}/${report.options.kills} settler SIGKILLs, uncommitted records at each: ` +
      `${JSON.stringify(e.uncommittedAtKills)}; redeliveries ${e.redeliveries}`,
    `  overlapping confirmed: database ${c.overlapsInDatabase.length} of ${n.overlapsInDatabase}, ` +
      `API ${c.overlapsThroughApi.length} of ${n.overlapsThroughApi}`,
    `  not terminal: ${c.notTerminal.length} of ${n.terminal}; API vs database: ${c.apiDisagreesWithDatabase.length} of ${n.apiWithDatabase}`,
    `  events vs database: ${e.eventsRead} events (${e.uniqueEventIds} ids) against ${n.eventsWithDatabase.decisions} decisions: ` +
      `missing ${c.eventsMissingFromTopic.length}, differing ${c.eventsDifferFromDatabase.length}, ` +
      `without a row ${c.eventsWithoutRow.length}, status disagreements ${c.eventsDisagreeWithDatabase.length}`,
    `  cancellations: ${n.cancellations} accepted; without a decision ${c.cancellationsWithoutDecision.length}, ` +
      `decided twice ${c.cancellationsDecidedMoreThanOnce.length}, decided unasked ${c.cancellationDecisionsWithoutRequest.length}`,
    `  replay into a fresh group: database changed ${c.replayChangedDatabase}; emitted ${e.replayEventsRead} events ` +
      `(${e.replayUniqueEventIds} ids) against ${n.replay.decisions} decisions: not re-emitted ${c.replayNotReemitted.length}, ` +
      `differing ${c.replayDiffers.length}, new event ids ${c.replayNewEventIds}`,
    ...report.failures.map((f) => `  FAILED: ${f}`),
  ];
}
