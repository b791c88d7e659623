import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { endOffsets } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { reportTime } from '../bench/benchReport.ts';
import { ProcessSupervisor } from '../fleet/processSupervisor.ts';
import { writePng } from '../report/renderPng.ts';
import { timeSeriesSvg } from '../report/timeSeriesChart.ts';
import { repoRoot } from '../stack/stackConfig.ts';
import {
  type ConfirmedBooking,
  compareCancellations,
  compareDecisionsWithEvents,
  compareEventsWithDatabase,
  type EventDecision,
  type FinalStatus,
  findOverlaps,
} from './bookingChecks.ts';
import { freePort, type IsolatedFleet, startIsolatedFleet } from './isolatedFleet.ts';
import {
  databaseFingerprint,
  hotVehicles,
  pendingRequests,
  readStormDatabase,
  type StormDatabase,
  withDatabase,
} from './stormDatabase.ts';
import { groupCaughtUp, type PositionedEvent, readEventsUpTo } from './stormEvents.ts';
import { type KillRecord, type KillTarget, runKiller, sumOfGauge } from './stormKiller.ts';
import { adminToken, runStormLoad, type StormRequest } from './stormLoad.ts';
import { type StormOptions, type StormReport, stormFailures } from './stormReport.ts';
import {
  recordStormTimeline,
  type StormTimeline,
  type StormTimelineRecorder,
  stormChart,
} from './stormTimeline.ts';

export type { StormOptions, StormReport } from './stormReport.ts';

/** Rate limits raised: the storm measures settlement correctness, not the limiter (its own tests cover it). */
const stormLimits: Record<string, string> = {
  RATE_LIMIT_CUSTOMER_QUOTA: '100000',
  RATE_LIMIT_IP_QUOTA: '1000000',
  RESERVATION_QUOTA_PER_CUSTOMER: '1000',
};

/** What the load phase produced: every request and answer, and the kills that landed in it. */
interface LoadOutcome {
  requests: StormRequest[];
  kills: KillRecord[];
}

/** Events read once the replay finished, split at the offsets the topic had when it started. */
interface EventsRead {
  original: PositionedEvent[];
  replayed: PositionedEvent[];
}

/** Runs a double-booking storm on an isolated fleet and checks every invariant of BRIEF §5. */
export async function runStorm(options: StormOptions): Promise<StormReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[storm] ${line}\n`));
  const started = Date.now();
  const fleet = await startIsolatedFleet({
    label: 'storm',
    settlers: options.settlers,
    partitions: options.partitions,
    log,
    logLevel: process.env.STORM_LOG_LEVEL,
    extraEnv: stormLimits,
  });
  const url = fleet.database.urls.readonly;
  let timeline: StormTimelineRecorder | undefined;
  let recorded: StormTimeline | undefined;
  try {
    const vehicles = await hotVehicles(url, options.hotVehicles);
    log(
      `load: ${options.requests} requests, ${options.concurrency} clients, ${vehicles.length} hot vehicles, ${options.settlers} settlers`,
    );
    let answered = 0;
    timeline = await recordStormTimeline({ databaseUrl: url, answered: () => answered });
    const recorder = timeline;
    const load = await loadUnderKills(fleet, options, vehicles, log, recorder, (count) => {
      answered = count;
    });
    const accepted = acceptedReservations(load.requests);
    const settleStarted = Date.now();
    log(`load done: ${accepted.length} accepted; waiting for every decision`);
    await waitForDecisions(fleet, accepted.length, log);
    const settleSeconds = (Date.now() - settleStarted) / 1000;
    recorded = await recorder.stop();

    const database = await readStormDatabase(url);
    const api = await readThroughApi(fleet, accepted);
    const before = await databaseFingerprint(url);
    const replayFrom = await endOffsets(fleet.eventsTopic);
    await replayIntoFreshGroup(fleet, log);
    const after = await databaseFingerprint(url);
    const events = await readEventsSplitAt(fleet, replayFrom);
    log(`checks: ${database.statuses.size} requests in the database, ${events.original.length} events`);
    const report = buildReport({ options, started, settleSeconds, load, database, api, events, recorded });
    report.checks.replayChangedDatabase = before !== after;
    report.failures = stormFailures(report);
    report.ok = report.failures.length === 0;
    if (options.reportFile) writeReport(options.reportFile, report, recorded);
    return report;
  } finally {
    // After a failure the sampler may still run: stop it (its own error, if any, is secondary).
    if (timeline && !recorded)
      await timeline.stop().catch((e: Error) => log(`timeline sampler: ${e.message}`));
    await fleet.teardown();
  }
}

/** Runs the load and the killer together; the load keeps going until every kill landed. */
async function loadUnderKills(
  fleet: IsolatedFleet,
  options: StormOptions,
  vehicles: string[],
  log: (line: string) => void,
  timeline: StormTimelineRecorder,
  onAnswered: (count: number) => void,
): Promise<LoadOutcome> {
  let answered = 0;
  let killerDone = options.kills === 0;
  let loadEnded = false;
  const killer = runKiller(killTarget(fleet, log), {
    kills: options.kills,
    settlers: options.settlers,
    requests: options.requests,
    answered: () => answered,
    stopped: () => loadEnded,
    onKill: (kill) => {
      timeline.markKill(kill.victim);
      log(
        `SIGKILL ${kill.victim} after ${kill.answered} answers, ${kill.uncommitted ?? 'unknown'} records uncommitted`,
      );
    },
  }).finally(() => {
    killerDone = true;
  });
  // The killer's failure is rethrown by the await below; until then this keeps it from being unhandled.
  killer.catch(() => undefined);
  try {
    const requests = await runStormLoad({
      ingressUrl: fleet.ingressUrl,
      requests: options.requests,
      concurrency: options.concurrency,
      vehicles,
      customers: options.customers,
      cancelRatio: options.cancelRatio,
      confirmedCancelRatio: options.confirmedCancelRatio,
      windowDays: options.windowDays,
      env: fleet.env,
      keepLoading: () => !killerDone,
      onProgress: (sent) => log(`sent ${sent}/${options.requests}`),
      onAnswered: (count) => {
        answered = count;
        onAnswered(count);
      },
    });
    return { requests, kills: await killer };
  } finally {
    loadEnded = true;
  }
}

/** The fleet's settlers as the killer sees them; each victim's uncommitted records come from its metrics. */
function killTarget(fleet: IsolatedFleet, log: (line: string) => void): KillTarget {
  return {
    signal: (name, signal) => fleet.supervisor.signal(name, signal),
    waitUntilReady: (name, timeoutMs) => fleet.supervisor.waitUntilReady(name, timeoutMs),
    uncommitted: async (name) => {
      const url = fleet.settlerMetricsUrls.get(name)!;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return sumOfGauge(await response.text(), 'fleet_consumer_uncommitted_messages');
      } catch (error) {
        // Unknown is recorded as null in the report; the kill goes ahead regardless.
        log(`metrics of ${name} before its kill: ${(error as Error).message}`);
        return null;
      }
    },
  };
}

/** Reservations answered 202 with an id: the ones every check follows. */
function acceptedReservations(requests: readonly StormRequest[]): StormRequest[] {
  return requests.filter((r) => r.kind === 'reserve' && r.status === 202 && r.reservationId);
}

/** Reads the whole events topic once the replay finished; what came after `replayFrom` is the replay's. */
async function readEventsSplitAt(
  fleet: IsolatedFleet,
  replayFrom: ReadonlyMap<number, number>,
): Promise<EventsRead> {
  const all = await readEventsUpTo(
    fleet.eventsTopic,
    await endOffsets(fleet.eventsTopic),
    `${fleet.groupPrefix}reader`,
  );
  const isReplayed = (e: PositionedEvent) => e.offset >= (replayFrom.get(e.partition) ?? 0);
  return { original: all.filter((e) => !isReplayed(e)), replayed: all.filter(isReplayed) };
}

/** Events grouped by reservation, for the per-reservation status comparison. */
function byReservation(events: readonly EventDecision[]): Map<string, EventDecision[]> {
  const grouped = new Map<string, EventDecision[]>();
  for (const e of events) grouped.set(e.reservationId, [...(grouped.get(e.reservationId) ?? []), e]);
  return grouped;
}

/** Counts by a key. */
function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** The report, every check filled in; the verdict is added by the caller. */
function buildReport(input: {
  options: StormOptions;
  started: number;
  settleSeconds: number;
  load: LoadOutcome;
  database: StormDatabase;
  api: ApiReadBack;
  events: EventsRead;
  recorded: StormTimeline;
}): StormReport {
  const { options, load, database, api, events } = input;
  const requests = load.requests;
  const reserves = requests.filter((r) => r.kind === 'reserve');
  const cancels = requests.filter((r) => r.kind === 'cancel');
  const accepted = acceptedReservations(requests);
  const requestedCancels = cancels.filter((r) => r.status === 202 && r.cancellationRequested);
  const eventsCheck = compareDecisionsWithEvents(database.decisions, events.original);
  const replayCheck = compareDecisionsWithEvents(database.decisions, events.replayed);
  const cancelCheck = compareCancellations(
    requestedCancels.map((r) => r.reservationId!),
    new Set(cancels.filter((r) => r.status === 503).map((r) => r.reservationId!)),
    database.cancellations,
  );
  const cancellationOutcomes = countBy(database.cancellations, (c) => c.outcome);
  return {
    ok: false,
    failures: [],
    options: { ...options, log: undefined } as Omit<StormOptions, 'log'>,
    startedAt: new Date(input.started).toISOString(),
    durationSeconds: (Date.now() - input.started) / 1000,
    sent: reserves.length,
    accepted: accepted.length,
    refused: countBy(
      reserves.filter((r) => r.status !== 202),
      (r) => String(r.status),
    ),
    cancellationsAccepted: requestedCancels.length,
    kills: load.kills.length,
    settleSeconds: input.settleSeconds,
    decisions: countBy([...database.statuses.values()], (s) => s),
    timeline: input.recorded,
    evidence: {
      eventsRead: eventsCheck.compared.events,
      uniqueEventIds: eventsCheck.compared.uniqueEventIds,
      redeliveries: eventsCheck.compared.events - eventsCheck.compared.uniqueEventIds,
      replayEventsRead: replayCheck.compared.events,
      replayUniqueEventIds: replayCheck.compared.uniqueEventIds,
      cancellationDecisions: {
        cancelled: cancellationOutcomes.cancelled ?? 0,
        rejected: cancellationOutcomes.rejected ?? 0,
      },
      cancellationsAfterConfirmation: requestedCancels.filter((r) => r.afterConfirmation).length,
      rejectionReasons: database.rejectionReasons,
      uncommittedAtKills: load.kills.map((k) => k.uncommitted),
      withdrawnRequests: database.withdrawnRequests,
      compared: {
        overlapsInDatabase: database.confirmed.length,
        overlapsThroughApi: api.confirmed.length,
        terminal: accepted.length,
        apiWithDatabase: api.statuses.size,
        eventsWithDatabase: {
          decisions: eventsCheck.compared.decisions,
          events: eventsCheck.compared.events,
        },
        cancellations: cancelCheck.compared,
        replay: { decisions: replayCheck.compared.decisions, events: replayCheck.compared.events },
      },
    },
    checks: {
      serverErrors: requests.filter((r) => r.status >= 500 && r.status !== 503).length,
      acceptedWithoutId: reserves.filter((r) => r.status === 202 && !r.reservationId).length,
      overlapsInDatabase: findOverlaps(database.confirmed),
      overlapsThroughApi: findOverlaps(api.confirmed),
      notTerminal: accepted
        .map((r) => r.reservationId!)
        .filter(
          (id) => !['confirmed', 'rejected', 'cancelled'].includes(database.statuses.get(id) ?? 'missing'),
        ),
      apiDisagreesWithDatabase: [...api.statuses]
        .filter(([id, s]) => database.statuses.get(id) !== s)
        .map(([id]) => id),
      eventsDisagreeWithDatabase: compareEventsWithDatabase(
        database.statuses,
        byReservation([...events.original, ...events.replayed]),
      ),
      eventsMissingFromTopic: eventsCheck.missingFromTopic,
      eventsDifferFromDatabase: eventsCheck.differing,
      eventsWithoutRow: eventsCheck.withoutRow,
      cancellationsWithoutDecision: cancelCheck.withoutDecision,
      cancellationsDecidedMoreThanOnce: cancelCheck.decidedMoreThanOnce,
      cancellationDecisionsWithoutRequest: cancelCheck.decidedWithoutRequest,
      replayChangedDatabase: false,
      replayNotReemitted: replayCheck.missingFromTopic,
      replayDiffers: replayCheck.differing,
      replayNewEventIds: replayCheck.withoutRow.length,
    },
  };
}

/** Writes the JSON report and, beside it, the timeline's PNG. */
function writeReport(file: string, report: StormReport, recorded: StormTimeline): void {
  report.chartFile = file.replace(/(\.json)?$/, '.png');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writePng(report.chartFile, timeSeriesSvg(stormChart(recorded, chartSubtitle(report))));
}

/** The chart's second line: when, how big, and the verdict. */
function chartSubtitle(report: StormReport): string {
  const o = report.options;
  return (
    `${reportTime(new Date(report.startedAt))} UTC · ${o.requests} requests, ${o.concurrency} clients, ` +
    `${o.hotVehicles} hot vehicles, ${o.settlers} settlers, ${report.kills} SIGKILLs · ${report.ok ? 'PASSED' : 'FAILED'}`
  );
}

/** Waits until no request is pending and the settler group committed every command. */
async function waitForDecisions(
  fleet: IsolatedFleet,
  accepted: number,
  log: (line: string) => void,
): Promise<void> {
  await withDatabase(fleet.database.urls.readonly, async (client) => {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const { pending, total } = await pendingRequests(client);
      if (pending === 0 && total >= accepted) {
        // Cancellations are settled after the reservation they cancel: let the lag reach zero.
        if (await groupCaughtUp(fleet.settlerGroup, fleet.commandsTopic)) return;
      }
      if (Date.now() > deadline) throw new Error(`${pending} requests still pending after 300 s`);
      log(`waiting: ${pending} pending`);
      await sleep(1000);
    }
  });
}

/** Statuses and confirmed bookings as the API shows them to an admin. */
interface ApiReadBack {
  statuses: Map<string, FinalStatus>;
  confirmed: ConfirmedBooking[];
}

/** Reads every accepted reservation back through `GET /v1/reservations/<id>` as an admin. */
async function readThroughApi(fleet: IsolatedFleet, accepted: StormRequest[]): Promise<ApiReadBack> {
  const token = await adminToken(fleet.env);
  const statuses = new Map<string, FinalStatus>();
  const confirmed: ConfirmedBooking[] = [];
  let next = 0;
  const reader = async (): Promise<void> => {
    for (;;) {
      const request = accepted[next++];
      if (!request) return;
      const response = await fetch(`${fleet.ingressUrl}/v1/reservations/${request.reservationId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (!response.ok) throw new Error(`reading ${request.reservationId} back: HTTP ${response.status}`);
      const body = (await response.json()) as {
        status: FinalStatus;
        vehicleId: string;
        startsAt: string;
        endsAt: string;
      };
      statuses.set(request.reservationId!, body.status);
      if (body.status === 'confirmed') {
        confirmed.push({
          reservationId: request.reservationId!,
          vehicleId: body.vehicleId,
          startsAt: Date.parse(body.startsAt),
          endsAt: Date.parse(body.endsAt),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, reader));
  return { statuses, confirmed };
}

/**
 * Runs one more settler in a fresh consumer group over the whole command topic: every command
 * is a replay, so the database must not change, and every decision must be emitted again under
 * its own event id (the caller reads what it emitted and compares).
 */
async function replayIntoFreshGroup(fleet: IsolatedFleet, log: (line: string) => void): Promise<void> {
  const group = `${fleet.settlerGroup}.replay`;
  const port = await freePort();
  const supervisor = new ProcessSupervisor(
    repoRoot,
    [
      {
        name: 'replay-settler',
        entry: 'workers/reservation-settler/main.ts',
        readyUrl: `http://127.0.0.1:${port}/readyz`,
        env: {
          ...(fleet.env as Record<string, string>),
          SETTLER_GROUP_ID: group,
          METRICS_PORT: String(port),
        },
      },
    ],
    { quiet: true },
  );
  log(`replay: a fresh settler group ${group} reads the command topic from the beginning`);
  await supervisor.start(60_000);
  try {
    const deadline = Date.now() + 180_000;
    while (!(await groupCaughtUp(group, fleet.commandsTopic))) {
      if (Date.now() > deadline) throw new Error('the replay settler did not catch up in 180 s');
      await sleep(1000);
    }
  } finally {
    await supervisor.stop();
  }
}
