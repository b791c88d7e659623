/**
 * Reservation-path benchmarks (BRIEF §5): P4 ingress-rate and P5 e2e-latency, each on an
 * isolated fleet (random topics, fresh database) on the real stack (PostgreSQL, Redis, Kafka).
 *
 *   node harness/bench/ingressBench.ts [--only P4,P5] [--no-report]
 *
 * P4: accepted (202) requests/s of the real ingress vs a bare Fastify 5 route answering 202
 *     (bareFastifyServer.ts, its own process), both driven by autocannon with the same
 *     connections, pipelining, duration and request bytes. No settler runs during P4.
 * P5: latency from the ingress's 202 to the settlement (the decision event's CreateTime, stamped by
 *     the settler's producer after its PostgreSQL commit), under open-loop load at a constant
 *     offered rate, with 1–2 settlers.
 *
 * Tunables (environment): BENCH_P4_CONNECTIONS (64), BENCH_P4_PIPELINING (1), BENCH_P4_SECONDS (10),
 * BENCH_P4_WARMUP_SECONDS (2), BENCH_P4_ROUNDS (2), BENCH_P5_RATE (500), BENCH_P5_SECONDS (20),
 * BENCH_P5_WARMUP_SECONDS (5), BENCH_P5_SETTLERS (1, as npm start runs), BENCH_CUSTOMERS (2000). Worker variables
 * (SETTLER_BATCH_LINGER_MS, KAFKA_PRODUCER_LINGER_MS, …) set here reach the fleet's processes.
 * BENCH_P5_DIAGNOSTIC_RATE (100; the rate or above skips the diagnostic phase). BENCH_P5_WATCH (lazy:
 * the events are collected twice a second; live: read as they come, which adds a 202 → read line
 * and costs the shared machine ~0.3 ms of CPU per request). BENCH_P5_SAMPLES=<path>
 * writes every decided request of a phase to <path>.<phase>.jsonl (send, 202, occurredAt, produce
 * call and read times), to see where the slow ones waited over the run (latencyTimeline.ts).
 * The P5 chart (each request's latency over the run) goes to docs/benchmarks/ with the report,
 * or to BENCH_P5_PLOT=<file.png> with --no-report.
 * Summary lines go to stdout, progress to stderr; a dated section is appended to docs/benchmarks.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { localVehicleCount } from '../../db/seeds/localVehicleCatalog.ts';
import { shippedPartitions } from '../../topics/loadCatalog.ts';
import { readSettlerSettings } from '../../workers/reservation-settler/settlerConfig.ts';
import { EnvReader } from '../../workers/runtime/config/envReader.ts';
import { defaultProducerSettings } from '../../workers/runtime/producer/producerSettings.ts';
import { freePort, type IsolatedFleet } from '../doubleBooking/isolatedFleet.ts';
import { writePng } from '../report/renderPng.ts';
import { timeSeriesSvg } from '../report/timeSeriesChart.ts';
import { repoRoot } from '../stack/stackConfig.ts';
import { type LoadRun, runAutocannon } from './autocannonRun.ts';
import { startBenchFleet } from './benchFleet.ts';
import {
  appendBenchReport,
  type BenchLine,
  formatBenchLine,
  reportStamp,
  reportTime,
} from './benchReport.ts';
import {
  type CpuSpent,
  describeCpu,
  type ProcessGroup,
  stackServiceGroups,
  startCpuSampling,
} from './cpuSampler.ts';
import { type DecisionWatcher, type WatchMode, watchDecisions } from './decisionWatcher.ts';
import { acceptedToSettledMs, type DecidedSample, settledAt } from './latencyTimeline.ts';
import { type OpenLoopSample, runOpenLoop } from './openLoopLoad.ts';
import { p5LatencyChart } from './p5LatencyChart.ts';
import { nearestRankPercentile as percentile } from './percentile.ts';
import { type ReservationRequestSource, reservationRequestSource } from './reservationRequests.ts';

const args = process.argv.slice(2);
const onlyIndex = args.indexOf('--only');
const only = new Set((onlyIndex >= 0 ? (args[onlyIndex + 1] ?? '') : 'P4,P5').split(','));
const writeReport = !args.includes('--no-report');

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

const customers = setting('BENCH_CUSTOMERS', 2000);

/** BENCH_P5_WATCH: how the P5 watcher reads the events topic. */
function watchModeSetting(): WatchMode {
  const raw = process.env.BENCH_P5_WATCH ?? '';
  if (raw === '' || raw === 'lazy') return 'lazy';
  if (raw === 'live') return 'live';
  throw new Error(`BENCH_P5_WATCH must be lazy or live, got ${raw}`);
}
const watchMode = watchModeSetting();
/** The settler's shipped settings, for labelling what the fleet ran with. */
const settlerDefaults = readSettlerSettings(new EnvReader({}));
/** Partitions of the fleet's topics as shipped. */
const partitions = shippedPartitions('fleet.reservation.commands.v1');

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * Limits raised so that every valid request is admitted: the benchmarks measure the request
 * path, not the limiter (whose tests cover it). The ceilings are the configuration maxima.
 */
const benchLimits: Record<string, string> = {
  RATE_LIMIT_CUSTOMER_QUOTA: '1000000',
  RATE_LIMIT_IP_QUOTA: '1000000',
  RESERVATION_QUOTA_PER_CUSTOMER: '10000',
};

/** The machine's 1/5-minute load averages: other work on a shared machine skews every number. */
function loadAverage(): string {
  const [one, five] = os.loadavg();
  return `load average ${one!.toFixed(2)} (1 min) / ${five!.toFixed(2)} (5 min) on ${os.cpus().length} cores`;
}

/** The processes whose CPU a measure reports: this fleet's, the baseline's, and the shared stack's. */
function processGroups(fleet: IsolatedFleet, barePort?: number): ProcessGroup[] {
  const ingressPort = `INGRESS_PORT=${new URL(fleet.ingressUrl).port}`;
  const settlerGroup = `SETTLER_GROUP_ID=${fleet.settlerGroup}`;
  const hasEnv = (environ: string, entry: string) => environ.split('\0').includes(entry);
  return [
    {
      name: 'ingress',
      matches: (p) => p.cmdline.includes('workers/ingress/main.ts') && hasEnv(p.environ(), ingressPort),
    },
    {
      name: 'settlers',
      matches: (p) =>
        p.cmdline.includes('workers/reservation-settler/main.ts') && hasEnv(p.environ(), settlerGroup),
    },
    {
      name: 'bare fastify',
      matches: (p) =>
        barePort !== undefined &&
        p.cmdline.includes('bareFastifyServer.ts') &&
        hasEnv(p.environ(), `BENCH_PORT=${barePort}`),
    },
    ...stackServiceGroups,
  ];
}

function sortedOf(values: number[]): number[] {
  return values.sort((a, b) => a - b);
}

function statusSummary(statuses: Record<string, number>): string {
  return Object.entries(statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, count]) => `${code}×${count}`)
    .join(', ');
}

/** The bare Fastify baseline in its own process, on a free port. */
async function startBareServer(): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [fileURLToPath(new URL('./bareFastifyServer.ts', import.meta.url))],
    { env: { ...process.env, BENCH_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bare Fastify server exited (code ${code})`)));
    readline.createInterface({ input: child.stdout! }).once('line', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

async function withFleet<T>(settlers: number, body: (fleet: IsolatedFleet) => Promise<T>): Promise<T> {
  progress(`starting an isolated fleet (${settlers} settlers, ${partitions} partitions)`);
  const fleet = await startBenchFleet({ settlers, partitions, log: progress, extraEnv: benchLimits });
  try {
    return await body(fleet);
  } finally {
    progress('tearing the isolated fleet down');
    await fleet.teardown();
  }
}

async function p4(lines: BenchLine[], notes: string[]): Promise<void> {
  const connections = setting('BENCH_P4_CONNECTIONS', 64);
  const pipelining = setting('BENCH_P4_PIPELINING', 1);
  const seconds = setting('BENCH_P4_SECONDS', 10);
  const warmupSeconds = setting('BENCH_P4_WARMUP_SECONDS', 2);
  const rounds = setting('BENCH_P4_ROUNDS', 2);
  await withFleet(0, async (fleet) => {
    const loadBefore = loadAverage();
    const bare = await startBareServer();
    const bareRuns: LoadRun[] = [];
    const ingressRuns: LoadRun[] = [];
    let ingressAccepted = 0;
    const cpuOf = new Map<LoadRun, CpuSpent | undefined>();
    try {
      const source = await reservationRequestSource(customers, fleet.env);
      const groups = processGroups(fleet, bare.port);
      const drive = async (label: string, url: string, duration: number): Promise<LoadRun> => {
        const sampling = startCpuSampling(groups);
        const run = await runAutocannon({
          url,
          path: '/v1/reservations',
          connections,
          pipelining,
          seconds: duration,
          next: source.next,
        });
        cpuOf.set(run, sampling.stop());
        progress(
          `P4 ${label}: ${Math.round(run.rateOf(202))} 202/s over ${run.seconds} s, p99 ${run.latency.p99} ms, ` +
            `statuses ${statusSummary(run.statuses)}, errors ${run.errors}, timeouts ${run.timeouts}`,
        );
        return run;
      };
      for (let round = 1; round <= rounds; round++) {
        await drive(`round ${round} bare warm-up`, bare.url, warmupSeconds);
        bareRuns.push(await drive(`round ${round} bare-fastify`, bare.url, seconds));
        const warm = await drive(`round ${round} ingress warm-up`, fleet.ingressUrl, warmupSeconds);
        ingressAccepted += warm.statuses['202'] ?? 0;
        const run = await drive(`round ${round} ingress`, fleet.ingressUrl, seconds);
        ingressAccepted += run.statuses['202'] ?? 0;
        ingressRuns.push(run);
      }
    } finally {
      await bare.stop();
    }
    // Every 202 must be a row (the ingress answers 202 only after insert and broker ack).
    const client = new pg.Client({ connectionString: fleet.database.urls.readonly });
    await client.connect();
    const rows = await client
      .query<{ n: number }>('SELECT count(*)::int AS n FROM fleet.reservation_requests')
      .finally(() => client.end());
    const rowCount = rows.rows[0]!.n;
    const best = (runs: LoadRun[]) => runs.reduce((a, b) => (b.rateOf(202) > a.rateOf(202) ? b : a));
    const bestBare = best(bareRuns);
    const bestIngress = best(ingressRuns);
    lines.push({
      id: 'P4',
      name: 'ingress-rate',
      value: bestIngress.rateOf(202),
      unit: 'req/s',
      ratio: bestIngress.rateOf(202) / bestBare.rateOf(202),
      baseline: 'bare-fastify-202',
      note: `p99 ${bestIngress.latency.p99} ms, p50 ${bestIngress.latency.p50} ms`,
    });
    lines.push({
      id: 'P4',
      name: 'bare-fastify-202',
      value: bestBare.rateOf(202),
      unit: 'req/s',
      note: `p99 ${bestBare.latency.p99} ms, p50 ${bestBare.latency.p50} ms`,
    });
    lines.push({
      id: 'P4',
      name: 'ingress-latency-p99',
      value: bestIngress.latency.p99,
      unit: 'ms',
      ratio: bestIngress.latency.p99 / Math.max(1, bestBare.latency.p99),
      baseline: 'bare-fastify-p99',
    });
    const nonAccepted = ingressRuns.map(
      (r, i) =>
        `round ${i + 1}: ${statusSummary(r.statuses)}, ${r.errors} socket errors, ${r.timeouts} timeouts`,
    );
    notes.push(
      `P4: autocannon (programmatic, in the benchmark process) with ${connections} connections, pipelining ${pipelining}, ` +
        `${seconds} s per measure after a ${warmupSeconds} s warm-up, ${rounds} alternating rounds, best round reported; ` +
        `each request a valid POST /v1/reservations (${customers} customers round-robin, ${localVehicleCount} seeded vehicles, random 1–4 h periods within 330 days, unique Idempotency-Key); ` +
        `the same request bytes go to the baseline. Ingress: shipped defaults (pool ${process.env.INGRESS_DB_POOL_MAX ?? 10}, producer linger ${process.env.KAFKA_PRODUCER_LINGER_MS ?? defaultProducerSettings.lingerMs} ms, acks=all) ` +
        `with limits raised (${Object.entries(benchLimits)
          .map(([k, v]) => `${k}=${v}`)
          .join(
            ', ',
          )}), no settler running; PostgreSQL, Redis and Kafka share the machine with the load generator.`,
      `P4 ingress responses per round (only 202 counted): ${nonAccepted.join('; ')}. ` +
        `Baseline rounds: ${bareRuns.map((r) => `${Math.round(r.rateOf(202))} req/s p99 ${r.latency.p99} ms`).join(', ')}; ` +
        `ingress rounds: ${ingressRuns.map((r) => `${Math.round(r.rateOf(202))} req/s p99 ${r.latency.p99} ms`).join(', ')}. ` +
        `Machine before P4: ${loadBefore}; after: ${loadAverage()}. ` +
        `Best ingress round: ${describeCpu(cpuOf.get(bestIngress), bestIngress.statuses['202'] ?? 0, 'accepted request')}. ` +
        `Best baseline round: ${describeCpu(cpuOf.get(bestBare), bestBare.statuses['202'] ?? 0, 'request')}. ` +
        `Cross-check: ${ingressAccepted} 202s answered (warm-ups included), ${rowCount} rows in fleet.reservation_requests ` +
        `(≥ 202s; the surplus is requests cut off when a run ended).`,
    );
    if (rowCount < ingressAccepted) {
      notes.push(`P4 WARNING: fewer rows (${rowCount}) than 202 answers (${ingressAccepted}).`);
    }
  });
}

/** One open-loop phase on a running fleet: what was sent, answered and decided. */
interface OpenLoopPhase {
  rate: number;
  seconds: number;
  measured: OpenLoopSample[];
  accepted: OpenLoopSample[];
  /** Every decided acceptance, with its times along the path. */
  decided: DecidedSample[];
  maxInFlight: number;
  maxSendLagMs: number;
  /** Sorted latencies (ms) of the decided acceptances: 202 → settled, what P5 reports. */
  fromAccept: number[];
  fromSend: number[];
  ingress: number[];
  toDecision: number[];
  /** occurredAt → the record's CreateTime (the settler's produce call). */
  toProduce: number[];
  /** 202 → read here, and the record's CreateTime → read here; empty without a live watcher. */
  toRead: number[];
  afterProduce: number[];
  kinds: Map<string, number>;
  /** CPU from the first request until every acceptance was decided, and the 202s it bought (warm-up included). */
  cpu: CpuSpent | undefined;
  acceptedInPhase: number;
  loadBefore: string;
  loadAfter: string;
}

/** Runs `rate`/s for `warmupSeconds` (not measured) then `seconds`, and waits for the decisions. */
async function openLoopPhase(
  fleet: IsolatedFleet,
  watcher: DecisionWatcher,
  source: ReservationRequestSource,
  label: string,
  rate: number,
  warmupSeconds: number,
  seconds: number,
): Promise<OpenLoopPhase> {
  const warmupCount = Math.round(rate * warmupSeconds);
  const total = warmupCount + Math.round(rate * seconds);
  const loadBefore = loadAverage();
  const sampling = startCpuSampling(processGroups(fleet));
  progress(
    `${label}: open loop at ${rate} req/s, ${warmupSeconds} s warm-up + ${seconds} s measured (${total} requests)`,
  );
  const { samples, maxInFlight, maxSendLagMs } = await runOpenLoop({
    url: fleet.ingressUrl,
    rate,
    total,
    next: source.next,
    onProgress: (sent, answered, inFlight) =>
      progress(
        `${label}: sent ${sent}/${total}, answered ${answered}, in flight ${inFlight}, decisions seen ${watcher.decisions.size}`,
      ),
  });
  const loadAfter = loadAverage();
  const measured = samples.filter((s) => s.index >= warmupCount);
  const accepted = measured.filter((s) => s.status === 202 && s.reservationId !== undefined);
  // Wait for every measured acceptance to be decided (or for decisions to stop coming).
  let lastCount = -1;
  let lastChange = Date.now();
  for (;;) {
    const missing = accepted.filter((s) => !watcher.decisions.has(s.reservationId!)).length;
    watcher.events();
    if (missing === 0) break;
    if (watcher.decisions.size !== lastCount) {
      lastCount = watcher.decisions.size;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > 15_000) {
      progress(`${label}: giving up on ${missing} undecided acceptances (no new decision for 15 s)`);
      break;
    }
    progress(`${label}: waiting for ${missing} decisions`);
    await sleep(1000);
  }
  const cpu = sampling.stop();
  const decided = accepted.flatMap((s) => {
    const d = watcher.decisions.get(s.reservationId!);
    return d ? [{ sample: s, decision: d }] : [];
  });
  const decidedSamples: DecidedSample[] = decided.map(({ sample, decision }) => ({
    sentAt: sample.sentAt,
    answeredAt: sample.answeredAt,
    occurredAt: decision.occurredAt,
    producedAt: decision.producedAt,
    ...(decision.seenAt === undefined ? {} : { seenAt: decision.seenAt }),
  }));
  // The samples a live watcher timed as it read them (none with the lazy one).
  const read = decidedSamples.filter((s): s is DecidedSample & { seenAt: number } => s.seenAt !== undefined);
  const samplesFile = process.env.BENCH_P5_SAMPLES;
  if (samplesFile) {
    // One line per decided request, for reading a run's tail over time (latencyTimeline.ts).
    const rows = decidedSamples.map((row) => JSON.stringify(row));
    writeFileSync(`${samplesFile}.${label.replaceAll(' ', '-')}.jsonl`, `${rows.join('\n')}\n`);
  }
  const kinds = new Map<string, number>();
  for (const x of decided) kinds.set(x.decision.kind, (kinds.get(x.decision.kind) ?? 0) + 1);
  return {
    rate,
    seconds,
    measured,
    accepted,
    decided: decidedSamples,
    maxInFlight,
    maxSendLagMs,
    fromAccept: sortedOf(decidedSamples.map(acceptedToSettledMs)),
    fromSend: sortedOf(decidedSamples.map((s) => settledAt(s) - s.sentAt)),
    ingress: sortedOf(accepted.map((s) => s.answeredAt - s.sentAt)),
    toDecision: sortedOf(decidedSamples.map((s) => s.occurredAt - s.answeredAt)),
    toProduce: sortedOf(decidedSamples.map((s) => s.producedAt - s.occurredAt)),
    toRead: sortedOf(read.map((s) => s.seenAt - s.answeredAt)),
    afterProduce: sortedOf(read.map((s) => s.seenAt - s.producedAt)),
    kinds,
    cpu,
    acceptedInPhase: samples.filter((s) => s.status === 202).length,
    loadBefore,
    loadAfter,
  };
}

function latencySummary(sorted: number[]): string {
  const p = (q: number) => percentile(sorted, q).toFixed(1);
  return `p50 ${p(0.5)} / p90 ${p(0.9)} / p99 ${p(0.99)} / max ${p(1)} ms`;
}

function phaseSummary(phase: OpenLoopPhase): string {
  const statuses: Record<string, number> = {};
  for (const s of phase.measured) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  const span = (phase.measured.at(-1)!.sentAt - phase.measured[0]!.sentAt) / 1000;
  return (
    `${phase.measured.length} requests sent at ${(phase.measured.length / span).toFixed(1)}/s ` +
    `(max send lag ${phase.maxSendLagMs.toFixed(1)} ms, max ${phase.maxInFlight} in flight); ` +
    `responses ${statusSummary(statuses)} (0 = no response); ${phase.fromAccept.length}/${phase.accepted.length} accepted requests decided ` +
    `(${[...phase.kinds].map(([k, n]) => `${k} ${n}`).join(', ')}). ` +
    `202 → settled: ${latencySummary(phase.fromAccept)}; send → settled: ${latencySummary(phase.fromSend)}; ` +
    `send → 202 (ingress, incl. broker ack): ${latencySummary(phase.ingress)}; ` +
    `202 → event occurredAt (command delivery to a settler, its poll, batch linger and queueing; occurredAt is stamped when the batch's transaction starts): ${latencySummary(phase.toDecision)}; ` +
    `occurredAt → produce call (the record's CreateTime: the settlement transaction and the settler's own work; 1 ms resolution): ${latencySummary(phase.toProduce)}` +
    (phase.toRead.length > 0
      ? `; 202 → event read here: ${latencySummary(phase.toRead)}, of which produce call → event read (producer linger, broker append, our fetch): ${latencySummary(phase.afterProduce)}. `
      : '. ') +
    `${describeCpu(phase.cpu, phase.acceptedInPhase, 'accepted and settled request')} (whole phase). ` +
    `Machine: ${phase.loadBefore} before, ${phase.loadAfter} after.`
  );
}

/** The ingress's own counters of POST outcomes and enqueue failures (since it started). */
async function ingressOutcomes(fleet: IsolatedFleet): Promise<string> {
  const text = await (await fetch(`${fleet.ingressUrl}/metrics`)).text();
  const wanted =
    /^(fleet_ingress_enqueue_failures_total|fleet_ingress_reservation_requests_total|fleet_ingress_rate_limited_total|http_requests_total)\{([^}]*)\} (\S+)$/;
  const parts: string[] = [];
  for (const line of text.split('\n')) {
    const match = wanted.exec(line);
    if (!match || Number(match[3]) === 0) continue;
    const labels = match[2]!
      .split(',')
      .filter((label) => label !== '' && !label.startsWith('worker='))
      .join(',');
    if (match[1] === 'http_requests_total' && !labels.includes('method="POST"')) continue;
    parts.push(`${match[1]}{${labels}} ${match[3]}`);
  }
  return parts.join('; ');
}

async function p5(lines: BenchLine[], notes: string[]): Promise<void> {
  const rate = setting('BENCH_P5_RATE', 500);
  const seconds = setting('BENCH_P5_SECONDS', 20);
  const warmupSeconds = setting('BENCH_P5_WARMUP_SECONDS', 5);
  const settlers = setting('BENCH_P5_SETTLERS', 1);
  const diagnosticRate = setting('BENCH_P5_DIAGNOSTIC_RATE', 100);
  const goalMs = 50;
  await withFleet(settlers, async (fleet) => {
    const watcher = await watchDecisions(fleet.eventsTopic, partitions, watchMode);
    let main: OpenLoopPhase;
    let diagnostic: OpenLoopPhase | undefined;
    let outcomes: string;
    try {
      const source = await reservationRequestSource(customers, fleet.env);
      main = await openLoopPhase(fleet, watcher, source, 'P5', rate, warmupSeconds, seconds);
      outcomes = await ingressOutcomes(fleet);
      // A point below saturation on the same (warm) fleet: the pipeline's own latency, without queueing.
      if (diagnosticRate < rate) {
        diagnostic = await openLoopPhase(fleet, watcher, source, 'P5 diagnostic', diagnosticRate, 2, 10);
      }
    } finally {
      await watcher.stop();
    }

    // The database's view of the same reservations.
    const client = new pg.Client({ connectionString: fleet.database.urls.readonly });
    await client.connect();
    const statusRows = await client
      .query<{ status: string; n: number }>(
        `SELECT status, count(*)::int AS n FROM fleet.reservation_requests
         WHERE reservation_id = ANY($1::uuid[]) GROUP BY status ORDER BY status`,
        [main.accepted.map((s) => s.reservationId!)],
      )
      .finally(() => client.end());

    const p99 = percentile(main.fromAccept, 0.99);
    const p50 = percentile(main.fromAccept, 0.5);
    const fromSendP99 = percentile(main.fromSend, 0.99);
    lines.push({
      id: 'P5',
      name: 'e2e-latency-p99',
      value: p99,
      unit: 'ms',
      ratio: p99 / goalMs,
      baseline: '50-ms-goal',
      note: `from the 202 to the settlement (the decision event's CreateTime); ${main.fromAccept.length} requests`,
    });
    if (main.toRead.length > 0) {
      const readP99 = percentile(main.toRead, 0.99);
      lines.push({
        id: 'P5',
        name: 'e2e-latency-to-read-p99',
        value: readP99,
        unit: 'ms',
        ratio: readP99 / goalMs,
        baseline: '50-ms-goal',
        note: 'from the 202 to the decision event read here (BENCH_P5_WATCH=live)',
      });
    }
    lines.push({
      id: 'P5',
      name: 'e2e-latency-p50',
      value: p50,
      unit: 'ms',
      ratio: p50 / goalMs,
      baseline: '50-ms-goal',
    });
    lines.push({
      id: 'P5',
      name: 'e2e-latency-from-send-p99',
      value: fromSendP99,
      unit: 'ms',
      ratio: fromSendP99 / goalMs,
      baseline: '50-ms-goal',
    });
    if (diagnostic) {
      const dp99 = percentile(diagnostic.fromAccept, 0.99);
      lines.push({
        id: 'P5',
        name: `e2e-latency-p99-at-${diagnosticRate}rps`,
        value: dp99,
        unit: 'ms',
        ratio: dp99 / goalMs,
        baseline: '50-ms-goal',
        note: 'diagnostic point below saturation, same fleet',
      });
    }
    notes.push(
      `P5: open loop (a timer wakes when the next request is due and sends every request due on a fixed schedule, regardless of responses; keep-alive HTTP/1.1 through undici, one connection per request in flight), ` +
        `${warmupSeconds} s of warm-up (not measured) then ${seconds} s measured at ${rate} req/s offered. ` +
        `Latency is measured from the ingress's 202 (response complete at the client) to the settlement: the decision event's CreateTime, ` +
        `stamped by the settler's producer after the decision's PostgreSQL commit, taken at the end of its millisecond; same machine, one wall clock. ` +
        (watchMode === 'live'
          ? `A live watcher (a raw consumer on every partition, fetch.wait.max.ms 10) also timed when each event could be read (BENCH_P5_WATCH=live). `
          : `The events are collected by a lazy watcher (a raw consumer on every partition, fetch.wait.max.ms 500, fetch.min.bytes 1 MiB). `) +
        `Same request shape as P4 (${customers} customers, ${localVehicleCount} vehicles, random 1–4 h periods). ${settlers} settler(s), ${partitions} partitions, ` +
        `SETTLER_BATCH_LINGER_MS=${process.env.SETTLER_BATCH_LINGER_MS ?? `${settlerDefaults.batching.lingerMs} (default)`}, SETTLER_BATCH_MAX=${process.env.SETTLER_BATCH_MAX ?? `${settlerDefaults.batching.maxBatchSize} (default)`}, ` +
        `KAFKA_PRODUCER_LINGER_MS=${process.env.KAFKA_PRODUCER_LINGER_MS ?? `${defaultProducerSettings.lingerMs} (default)`}, CONSUMER_COMMIT_INTERVAL_MS=${process.env.CONSUMER_COMMIT_INTERVAL_MS ?? '1000 (default)'}.`,
      `P5 at ${rate} req/s: ${phaseSummary(main)} Database for these reservations: ${statusRows.rows.map((r) => `${r.status} ${r.n}`).join(', ')}. ` +
        `Ingress counters after this phase (warm-up included): ${outcomes}.`,
      ...(diagnostic
        ? [
            `P5 diagnostic at ${diagnosticRate} req/s (same fleet, 2 s warm-up, 10 s measured): ${phaseSummary(diagnostic)}`,
          ]
        : []),
    );
    const chartFile = writeReport
      ? path.join(repoRoot, 'docs', 'benchmarks', `p5-latency-${reportStamp()}.png`)
      : process.env.BENCH_P5_PLOT;
    if (chartFile) {
      const chart = p5LatencyChart({
        main,
        diagnostic,
        goalMs,
        subtitle: `${reportTime()} UTC · ${os.cpus().length} cores · p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms at ${rate} req/s`,
      });
      writePng(chartFile, timeSeriesSvg(chart));
      progress(`P5: latency chart written to ${chartFile}`);
      if (writeReport)
        notes.push(`Latency over the run: ![P5 latency per request](benchmarks/${path.basename(chartFile)})`);
    }
  });
}

const lines: BenchLine[] = [];
const notes: string[] = [];
if (only.has('P4')) await p4(lines, notes);
if (only.has('P5')) await p5(lines, notes);
for (const line of lines) console.log(formatBenchLine(line) + (line.note ? `  [${line.note}]` : ''));
for (const note of notes) console.log(note);
if (writeReport && lines.length > 0)
  appendBenchReport(
    'Reservation path (P4, P5)',
    `node harness/bench/ingressBench.ts ${args.join(' ')}`.trim(),
    lines,
    notes,
  );
