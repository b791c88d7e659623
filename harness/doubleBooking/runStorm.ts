import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import pg from 'pg';
import type { ReservationEvent } from '../../schemas/generated/types.ts';
import { loadReaderTypes } from '../../schemas/readerTypes.ts';
import { AvroSerde } from '../../workers/runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../workers/runtime/avro/schemaRegistryConfig.ts';
import { bootstrap } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { reportTime } from '../bench/benchReport.ts';
import { ProcessSupervisor } from '../fleet/processSupervisor.ts';
import { writePng } from '../report/renderPng.ts';
import { timeSeriesSvg } from '../report/timeSeriesChart.ts';
import { repoRoot } from '../stack/stackConfig.ts';
import {
  type ConfirmedBooking,
  compareEventsWithDatabase,
  type Disagreement,
  type EventDecision,
  type FinalStatus,
  findOverlaps,
  type Overlap,
} from './bookingChecks.ts';
import { freePort, type IsolatedFleet, startIsolatedFleet } from './isolatedFleet.ts';
import { adminToken, runStormLoad, type StormRequest } from './stormLoad.ts';
import {
  recordStormTimeline,
  type StormTimeline,
  type StormTimelineRecorder,
  stormChart,
} from './stormTimeline.ts';

/** How big a storm to run. */
export interface StormOptions {
  requests: number;
  concurrency: number;
  hotVehicles: number;
  customers: number;
  settlers: number;
  /** SIGKILL one settler replica this many times while the load runs (the supervisor restarts it). */
  kills: number;
  cancelRatio: number;
  windowDays: number;
  partitions: number;
  /** Where the JSON report goes (undefined: not written). */
  reportFile?: string;
  log?: (line: string) => void;
}

/** What a storm found. `ok` is true only when every check passed. */
export interface StormReport {
  ok: boolean;
  options: Omit<StormOptions, 'log'>;
  startedAt: string;
  durationSeconds: number;
  accepted: number;
  refused: Record<string, number>;
  cancellationsAccepted: number;
  kills: number;
  settleSeconds: number;
  decisions: Record<string, number>;
  /** Answers and decisions sampled every second from the start of the load, and the kills. */
  timeline: StormTimeline;
  /** The PNG of the timeline, beside the JSON report (when one is written). */
  chartFile?: string;
  checks: {
    /** Answers 5xx other than 503 (the ingress must never answer 500). */
    serverErrors: number;
    overlapsInDatabase: Overlap[];
    overlapsThroughApi: Overlap[];
    notTerminal: string[];
    apiDisagreesWithDatabase: string[];
    eventsDisagreeWithDatabase: Disagreement[];
    replayChangedDatabase: boolean;
    replayDisagreements: Disagreement[];
    replayNewEventIds: number;
  };
}

const eventUnion = {
  confirmed: 'dev.fleetstream.reservation.ReservationConfirmed',
  rejected: 'dev.fleetstream.reservation.ReservationRejected',
  cancelled: 'dev.fleetstream.reservation.ReservationCancelled',
} as const;

/** Rate limits raised: the storm measures settlement correctness, not the limiter (its own tests cover it). */
const stormLimits: Record<string, string> = {
  RATE_LIMIT_CUSTOMER_QUOTA: '100000',
  RATE_LIMIT_IP_QUOTA: '1000000',
  RESERVATION_QUOTA_PER_CUSTOMER: '1000',
};

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
  let timeline: StormTimelineRecorder | undefined;
  let recorded: StormTimeline | undefined;
  try {
    const vehicles = await hotVehicles(fleet, options.hotVehicles);
    log(
      `load: ${options.requests} requests, ${options.concurrency} clients, ${vehicles.length} hot vehicles, ${options.settlers} settlers`,
    );
    let kills = 0;
    let loadDone = false;
    let answered = 0;
    timeline = await recordStormTimeline({
      databaseUrl: fleet.database.urls.readonly,
      answered: () => answered,
    });
    // Kills are paced by the load's progress, not by the clock: kill k comes once k/(kills+1) of
    // the requests were answered, so every kill lands mid-load however fast the ingress is (a
    // 1.5 s timer missed a 400-request run that finished in 1.4 s).
    const killer = (async () => {
      while (!loadDone && kills < options.kills) {
        const due = Math.ceil((options.requests * (kills + 1)) / (options.kills + 1));
        while (!loadDone && answered < due) await sleep(10);
        if (loadDone) break;
        const victim = `settler-${(kills % options.settlers) + 1}`;
        if (fleet.supervisor.signal(victim, 'SIGKILL')) {
          kills++;
          timeline?.markKill(victim);
          log(`SIGKILL ${victim} (${kills}/${options.kills}) after ${answered} answers`);
          await fleet.supervisor.waitUntilReady(victim, 60_000);
        }
      }
    })();
    const requests = await runStormLoad({
      ingressUrl: fleet.ingressUrl,
      requests: options.requests,
      concurrency: options.concurrency,
      vehicles,
      customers: options.customers,
      cancelRatio: options.cancelRatio,
      windowDays: options.windowDays,
      env: fleet.env,
      onProgress: (sent) => log(`sent ${sent}/${options.requests}`),
      onAnswered: (count) => {
        answered = count;
      },
    });
    loadDone = true;
    await killer;
    const accepted = requests.filter((r) => r.kind === 'reserve' && r.status === 202 && r.reservationId);
    const settleStarted = Date.now();
    log(`load done: ${accepted.length} accepted; waiting for every decision`);
    await waitForDecisions(fleet, accepted.length, log);
    const settleSeconds = (Date.now() - settleStarted) / 1000;
    recorded = await timeline.stop();

    const database = await readDatabase(fleet);
    const api = await readThroughApi(fleet, accepted);
    const events = await readEvents(fleet.eventsTopic, accepted.length);
    log(`checks: ${database.statuses.size} requests in the database, ${events.total} events`);
    const before = await databaseFingerprint(fleet);
    const replay = await replayIntoFreshGroup(fleet, accepted.length, log);
    const after = await databaseFingerprint(fleet);
    const replayEvents = await readEvents(fleet.eventsTopic, events.total + replay.expectedNewEvents);

    const refused: Record<string, number> = {};
    for (const r of requests.filter((x) => x.kind === 'reserve' && x.status !== 202)) {
      refused[r.status] = (refused[r.status] ?? 0) + 1;
    }
    const decisions: Record<string, number> = {};
    for (const s of database.statuses.values()) decisions[s] = (decisions[s] ?? 0) + 1;
    const knownEventIds = new Set(events.ids);
    const report: StormReport = {
      ok: false,
      options: { ...options, log: undefined } as Omit<StormOptions, 'log'>,
      startedAt: new Date(started).toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      accepted: accepted.length,
      refused,
      cancellationsAccepted: requests.filter((r) => r.kind === 'cancel' && r.status === 202).length,
      kills,
      settleSeconds,
      decisions,
      timeline: recorded,
      checks: {
        serverErrors: requests.filter((r) => r.status >= 500 && r.status !== 503).length,
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
        eventsDisagreeWithDatabase: compareEventsWithDatabase(database.statuses, events.byReservation),
        replayChangedDatabase: before !== after,
        replayDisagreements: compareEventsWithDatabase(database.statuses, replayEvents.byReservation),
        replayNewEventIds: replayEvents.ids.filter((id) => !knownEventIds.has(id)).length,
      },
    };
    const c = report.checks;
    report.ok =
      c.serverErrors === 0 &&
      c.overlapsInDatabase.length === 0 &&
      c.overlapsThroughApi.length === 0 &&
      c.notTerminal.length === 0 &&
      c.apiDisagreesWithDatabase.length === 0 &&
      c.eventsDisagreeWithDatabase.length === 0 &&
      !c.replayChangedDatabase &&
      c.replayDisagreements.length === 0 &&
      c.replayNewEventIds === 0 &&
      accepted.length > 0;
    if (options.reportFile) {
      report.chartFile = options.reportFile.replace(/(\.json)?$/, '.png');
      fs.mkdirSync(path.dirname(options.reportFile), { recursive: true });
      fs.writeFileSync(options.reportFile, `${JSON.stringify(report, null, 2)}\n`);
      writePng(report.chartFile, timeSeriesSvg(stormChart(recorded, chartSubtitle(report))));
    }
    return report;
  } finally {
    // After a failure the sampler may still run: stop it (its own error, if any, is secondary).
    if (timeline && !recorded)
      await timeline.stop().catch((e: Error) => log(`timeline sampler: ${e.message}`));
    await fleet.teardown();
  }
}

/** The chart's second line: when, how big, and the verdict. */
function chartSubtitle(report: StormReport): string {
  const o = report.options;
  return (
    `${reportTime(new Date(report.startedAt))} UTC · ${o.requests} requests, ${o.concurrency} clients, ` +
    `${o.hotVehicles} hot vehicles, ${o.settlers} settlers, ${report.kills} SIGKILLs · ${report.ok ? 'PASSED' : 'FAILED'}`
  );
}

async function hotVehicles(fleet: IsolatedFleet, count: number): Promise<string[]> {
  const client = new pg.Client({ connectionString: fleet.database.urls.readonly });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      'SELECT id FROM fleet.vehicles WHERE active ORDER BY id LIMIT $1',
      [count],
    );
    return rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}

async function waitForDecisions(
  fleet: IsolatedFleet,
  accepted: number,
  log: (line: string) => void,
): Promise<void> {
  const client = new pg.Client({ connectionString: fleet.database.urls.readonly });
  await client.connect();
  try {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const { rows } = await client.query<{ pending: string; total: string }>(
        `SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) AS total FROM fleet.reservation_requests`,
      );
      const pending = Number(rows[0]!.pending);
      if (pending === 0 && Number(rows[0]!.total) >= accepted) {
        // Cancellations are settled after the reservation they cancel: let the lag reach zero.
        if (await groupCaughtUp(fleet.settlerGroup, fleet.commandsTopic)) return;
      }
      if (Date.now() > deadline) throw new Error(`${pending} requests still pending after 300 s`);
      log(`waiting: ${pending} pending`);
      await sleep(1000);
    }
  } finally {
    await client.end();
  }
}

async function groupCaughtUp(groupId: string, topic: string): Promise<boolean> {
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.ERROR },
  }).admin();
  await admin.connect();
  try {
    const [committed, ends] = await Promise.all([
      admin.fetchOffsets({ groupId, topics: [topic] }),
      admin.fetchTopicOffsets(topic),
    ]);
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends.every((e) => Number(e.high) === 0 || byPartition.get(e.partition) === Number(e.high));
  } finally {
    await admin.disconnect();
  }
}

async function readDatabase(
  fleet: IsolatedFleet,
): Promise<{ statuses: Map<string, FinalStatus>; confirmed: ConfirmedBooking[] }> {
  const client = new pg.Client({ connectionString: fleet.database.urls.readonly });
  await client.connect();
  try {
    const requests = await client.query<{ reservation_id: string; status: FinalStatus }>(
      'SELECT reservation_id, status FROM fleet.reservation_requests',
    );
    const confirmed = await client.query<{ id: string; vehicle_id: string; starts: Date; ends: Date }>(
      `SELECT id, vehicle_id, lower(period) AS starts, upper(period) AS ends FROM fleet.reservations WHERE status = 'confirmed'`,
    );
    return {
      statuses: new Map(requests.rows.map((r) => [r.reservation_id, r.status])),
      confirmed: confirmed.rows.map((r) => ({
        reservationId: r.id,
        vehicleId: r.vehicle_id,
        startsAt: r.starts.getTime(),
        endsAt: r.ends.getTime(),
      })),
    };
  } finally {
    await client.end();
  }
}

async function readThroughApi(
  fleet: IsolatedFleet,
  accepted: StormRequest[],
): Promise<{ statuses: Map<string, FinalStatus>; confirmed: ConfirmedBooking[] }> {
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

async function readEvents(
  topic: string,
  atLeast: number,
): Promise<{ byReservation: Map<string, EventDecision[]>; ids: string[]; total: number }> {
  const registry = new SchemaRegistryClient(loadSchemaRegistryConfig());
  const serde = new AvroSerde({ source: registry, readerTypes: loadReaderTypes() });
  const consumer = new KafkaJS.Kafka({
    kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.ERROR },
  }).consumer({
    kafkaJS: { groupId: `storm.reader.${randomBytes(4).toString('hex')}`, fromBeginning: true },
  });
  const byReservation = new Map<string, EventDecision[]>();
  const ids: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  let lastAt = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      // Done when at least `atLeast` arrived and nothing new came for 3 s (replays add duplicates).
      if ((ids.length >= atLeast && Date.now() - lastAt > 3000) || Date.now() - lastAt > 30_000) {
        clearInterval(timer);
        resolve();
      }
    }, 250);
    void consumer.run({
      eachMessage: async ({ message }) => {
        lastAt = Date.now();
        const event = (await serde.decode(message.value!)) as ReservationEvent;
        const payload = event.payload as Record<string, { reservationId: string; rejectedRequest?: string }>;
        const [union, body] = Object.entries(payload)[0]!;
        const kind = (Object.entries(eventUnion).find(([, name]) => name === union)?.[0] ??
          'rejected') as EventDecision['kind'];
        const decision: EventDecision = {
          eventId: event.eventId,
          reservationId: body.reservationId,
          kind,
          ...(body.rejectedRequest === 'cancellation' ? { rejectedRequest: 'cancellation' as const } : {}),
        };
        ids.push(event.eventId);
        byReservation.set(body.reservationId, [...(byReservation.get(body.reservationId) ?? []), decision]);
      },
    });
  });
  await consumer.disconnect();
  registry.close();
  return { byReservation, ids, total: ids.length };
}

async function databaseFingerprint(fleet: IsolatedFleet): Promise<string> {
  const client = new pg.Client({ connectionString: fleet.database.urls.readonly });
  await client.connect();
  try {
    const { rows } = await client.query<{ digest: string }>(
      `SELECT md5(string_agg(row_text, '|' ORDER BY row_text)) AS digest FROM (
         SELECT concat_ws(',', reservation_id, status, decision_reason, decided_at) AS row_text FROM fleet.reservation_requests
         UNION ALL
         SELECT concat_ws(',', id, vehicle_id, period, status) FROM fleet.reservations
       ) t`,
    );
    return rows[0]!.digest;
  } finally {
    await client.end();
  }
}

/**
 * Runs one more settler in a fresh consumer group over the whole command topic: every command
 * is a replay, so the database must not change and every event it emits must repeat a known
 * event id with the same decision.
 */
async function replayIntoFreshGroup(
  fleet: IsolatedFleet,
  accepted: number,
  log: (line: string) => void,
): Promise<{ expectedNewEvents: number }> {
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
  return { expectedNewEvents: accepted };
}
