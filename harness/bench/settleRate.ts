/**
 * P3 settle-rate (BRIEF §5): settlements per second at concurrency C (C vehicles in flight, each
 * vehicle strictly serial) versus pgbench running an equivalent single-row insert transaction —
 * one reservation row with a random period into a table with the same exclusion constraint — at
 * the same concurrency (`-c C -j 2 -T <seconds>`) on the same database server, side by side.
 *
 *   node harness/bench/settleRate.ts [--concurrency 32] [--commands 30000] [--vehicles 1000]
 *                                    [--seconds 10] [--rounds 3] [--path-only] [--no-report]
 *                                    [--runtime-only]
 *
 * Two settler measures, both through the real settlement code on real PostgreSQL, with the
 * pending inbox rows recorded beforehand as the ingress records them in production (untimed):
 *  - P3 settle-rate: the real runtime — commands pre-produced to Kafka, the settler worker
 *    (consumer engine, Avro, batching, PostgreSQL, one event produced and acknowledged per
 *    command) started in this process with CONSUMER_MAX_CONCURRENCY=C, timed from its first
 *    decision until every decision is stored and every event acknowledged;
 *  - P3 settle-path: the settlement pipeline alone (batcher → transaction), C serial lanes of
 *    vehicles submitting commands directly, no Kafka.
 * The settle-path is also measured for commands no ingress recorded (the settler inserts the
 * inbox row too); that figure is reported in the notes.
 * pgbench, the settle-path and the runtime alternate for `--rounds` rounds (the machine may be
 * shared; the median of each is reported); the 32-in-flight diagnostic runs once.
 * Then checks that no two confirmed bookings of a vehicle overlap and that every request was
 * decided exactly once. Prints the summary lines and appends a dated section to docs/benchmarks.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { shippedPartitions } from '../../topics/loadCatalog.ts';
import type { SettlementCommand } from '../../workers/reservation-settler/settlementCommand.ts';
import { createSettlementPipeline } from '../../workers/reservation-settler/settlementPipeline.ts';
import { readSettlerSettings } from '../../workers/reservation-settler/settlerConfig.ts';
import { createSettlerMetrics } from '../../workers/reservation-settler/settlerMetrics.ts';
import { createSettlerPool } from '../../workers/reservation-settler/settlerPool.ts';
import { settlerVehiclesInFlight } from '../../workers/reservation-settler/settlerWorker.ts';
import { requestCommand } from '../../workers/reservation-settler/testing/settlementCommands.ts';
import {
  createSettlementDatabase,
  overlappingConfirmedPairs,
  recordPendingRequests,
  type SettlementDatabase,
} from '../../workers/reservation-settler/testing/settlementDatabase.ts';
import {
  SettlerKafkaFixture,
  settlementsCounted,
} from '../../workers/reservation-settler/testing/settlerKafkaFixture.ts';
import { EnvReader } from '../../workers/runtime/config/envReader.ts';
import { createLogger } from '../../workers/runtime/observability/logger.ts';
import { createMetricsRegistry } from '../../workers/runtime/observability/metrics.ts';
import { BreakerRegistry } from '../../workers/runtime/resilience/breakerRegistry.ts';
import { recordCount, uniqueGroup } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { counterTotal, histogramMean } from '../../workers/runtime/testing/metricsTestKit.ts';
import { appendBenchReport, type BenchLine, formatBenchLine } from './benchReport.ts';
import {
  type CpuSpent,
  describeCpu,
  machineMsPer,
  stackServiceGroups,
  startCpuSampling,
} from './cpuSampler.ts';

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a positive integer`);
  return value;
}
const concurrency = option('concurrency', 32);
/** Vehicles in flight in the settler (its lanes); default the settler's shipped CONSUMER_MAX_CONCURRENCY. */
const lanesInFlight = option('lanes', settlerVehiclesInFlight);
const commandCount = option('commands', 30_000);
const vehicleCount = option('vehicles', 1000);
const seconds = option('seconds', 10);
const rounds = option('rounds', 3);
const pathOnly = args.includes('--path-only');
/** Diagnostic: only the runtime measure (for profiling it); no baseline, no ratio, no report. */
const runtimeOnly = args.includes('--runtime-only');
const writeReport = !args.includes('--no-report') && !pathOnly && !runtimeOnly;
/** Partitions of the commands and events topics as shipped: a batch's events go out as one ProduceRequest per partition. */
const partitions = shippedPartitions('fleet.reservation.commands.v1');
/** Periods are one-hour slots among this many, for the settler and pgbench alike. */
const hourSlots = 100_000;

function progress(message: string): void {
  process.stderr.write(`[bench P3] ${message}\n`);
}

/** A measure's rate and the CPU the whole machine spent on its `count` units of work. */
interface Measured {
  rate: number;
  cpu: CpuSpent | undefined;
  count: number;
}

/** The settler runs in this process during the settle-path and runtime measures. */
const sampleCpu = () => startCpuSampling(stackServiceGroups, 'this process (settler)');

/** The equivalent table of the baseline: fleet.reservations' columns, checks and exclusion constraint. */
async function createBaselineTable(database: SettlementDatabase): Promise<void> {
  const client = new pg.Client({ connectionString: database.fresh.urls.migrator });
  await client.connect();
  try {
    await client.query('CREATE SCHEMA bench');
    // INCLUDING ALL copies the CHECKs, the primary key and the exclusion constraint; the vehicle
    // foreign key is added as in fleet.reservations (the request foreign key has no equivalent).
    await client.query('CREATE TABLE bench.reservations (LIKE fleet.reservations INCLUDING ALL)');
    await client.query(
      'ALTER TABLE bench.reservations ADD FOREIGN KEY (vehicle_id) REFERENCES fleet.vehicles (id)',
    );
  } finally {
    await client.end();
  }
}

/** The pgbench script: the same vehicle ids (vehicleIdFor) and random one-hour slots as the settler's commands. */
const pgbenchScript = [
  `\\set v random(0, ${vehicleCount - 1})`,
  `\\set h random(0, ${hourSlots - 1})`,
  'INSERT INTO bench.reservations (id, vehicle_id, customer_id, period)',
  `VALUES (gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(to_hex(:v), 12, '0'))::uuid, 'bench',`,
  `        tstzrange(timestamptz '2031-01-01' + :h * interval '1 hour', timestamptz '2031-01-01' + (:h + 1) * interval '1 hour', '[)'))`,
  'ON CONFLICT DO NOTHING;',
  '',
].join('\n');

/** pgbench at `-c C -j 2 -T seconds`, one single-row INSERT per transaction; returns its tps. */
async function pgbenchInserts(database: SettlementDatabase): Promise<Measured & { command: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'settle-rate-'));
  const script = path.join(dir, 'insert-reservation.sql');
  writeFileSync(script, pgbenchScript);
  const pgbenchArgs = ['-n', '-f', script, '-c', String(concurrency), '-j', '2', '-T', String(seconds)];
  const command = `pgbench ${pgbenchArgs.join(' ').replace(script, 'insert-reservation.sql')} <bench database>`;
  try {
    // pgbench's client and its server processes exit before the sample ends, taking their own
    // figures with them: only the machine's total is known, which is what the comparison needs.
    const sampling = startCpuSampling([], 'this process');
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('/usr/bin/pgbench', [...pgbenchArgs, database.fresh.urls.migrator], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`pgbench exited ${code}:\n${text}`)),
      );
    });
    const cpu = sampling.stop();
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1];
    const processed = /number of transactions actually processed: (\d+)/.exec(output)?.[1];
    if (tps === undefined || processed === undefined) {
      throw new Error(`no tps or transaction count in pgbench output:\n${output}`);
    }
    return { rate: Number(tps), cpu, count: Number(processed), command };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `count` requests on random vehicles and random one-hour slots starting at `firstSlot`. */
function randomRequests(database: SettlementDatabase, count: number, firstSlot: number): SettlementCommand[] {
  return Array.from({ length: count }, () => {
    const slot = firstSlot + Math.floor(Math.random() * hourSlots);
    return requestCommand({
      vehicleId: database.vehicles[Math.floor(Math.random() * database.vehicles.length)]!,
      fromHour: slot,
      toHour: slot + 1,
      customerId: `customer-${Math.floor(Math.random() * 10_000)}`,
      reservationId: randomUUID(),
    });
  });
}

/** Records the commands' pending inbox rows as the ingress does before producing (not timed). */
async function recordAsIngress(
  database: SettlementDatabase,
  commands: readonly SettlementCommand[],
): Promise<void> {
  for (let start = 0; start < commands.length; start += 5000) {
    const part = commands.slice(start, start + 5000).filter((c) => c.kind === 'request');
    await recordPendingRequests(database.app, part);
  }
}

/** A checkpoint before each measure, so none pays for the previous one's dirty pages. */
async function checkpoint(database: SettlementDatabase): Promise<void> {
  const client = new pg.Client({ connectionString: database.fresh.urls.admin });
  await client.connect();
  try {
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
}

/** The settlement pipeline alone: C lanes, each owning the vehicles `v % C`, settling its commands one by one. */
async function settlePath(database: SettlementDatabase, commands: SettlementCommand[]): Promise<Measured> {
  const reader = new EnvReader(process.env);
  const settings = readSettlerSettings(reader);
  reader.done();
  const registry = createMetricsRegistry({ worker: 'settle-rate-bench', collectDefaultMetrics: false });
  const breakers = new BreakerRegistry();
  const pool = createSettlerPool({
    connectionString: database.fresh.urls.app,
    applicationName: 'settle-rate-bench',
    max: settings.batching.maxBatchesInFlight,
  });
  const pipeline = createSettlementPipeline({
    pool,
    settings,
    breakers,
    registry,
    metrics: createSettlerMetrics(registry),
    logger: createLogger({ worker: 'settle-rate-bench', level: 'warn' }),
    clock: { nowMs: Date.now, newEventId: randomUUID },
  });
  const lanes: SettlementCommand[][] = Array.from({ length: lanesInFlight }, () => []);
  for (const command of commands) {
    lanes[Number.parseInt(command.vehicleId.slice(-12), 16) % lanesInFlight]!.push(command);
  }
  try {
    const sampling = sampleCpu();
    const started = performance.now();
    await Promise.all(
      lanes.map(async (lane) => {
        for (const command of lane) await pipeline.settle(command);
      }),
    );
    const rate = commands.length / ((performance.now() - started) / 1000);
    return { rate, cpu: sampling.stop(), count: commands.length };
  } finally {
    await pipeline.close();
    breakers.shutdown();
    await pool.end();
  }
}

/** The real runtime: commands pre-produced to Kafka, the settler worker started, timed from its first decision. */
async function settleThroughRuntime(
  database: SettlementDatabase,
  commands: SettlementCommand[],
  vehiclesInFlight: number,
): Promise<Measured> {
  const kafka = new SettlerKafkaFixture();
  try {
    const topics = await kafka.createTopics('settle-rate', partitions);
    for (let start = 0; start < commands.length; start += 10_000) {
      await kafka.produceCommands(topics.commands, commands.slice(start, start + 10_000));
      progress(`produced ${Math.min(start + 10_000, commands.length)}/${commands.length} commands`);
    }
    await checkpoint(database);
    const ids = commands.map((c) => c.reservationId);
    const worker = await kafka.startSettler(topics, database.fresh.urls.app, uniqueGroup('settle-rate'), {
      CONSUMER_MAX_CONCURRENCY: String(vehiclesInFlight),
      LOG_LEVEL: 'warn',
    });
    // Progress is read from the in-process settler's own counter, which costs the settler nothing.
    // (Polling PostgreSQL stole from the settler it timed: first all 30,000 ids every 50 ms, then
    // a count through the partial index of pending rows — which, with autovacuum off on this
    // machine, still held an entry for every row ever pending, 200,000 by the last phase.)
    let settled = await settlementsCounted(worker);
    let lastReport = Date.now();
    // CPU is sampled from the first poll that sees a decision (start-up and the consumer's join
    // excluded), over the settlements counted from then on.
    let sampling: { stop(): CpuSpent | undefined; from: number } | undefined;
    // A 10-ms poll of one in-process counter: the end is seen within 10 ms of a ~5-s measure.
    while (settled < commands.length) {
      await sleep(10);
      settled = await settlementsCounted(worker);
      if (!sampling && settled > 0) sampling = { ...sampleCpu(), from: settled };
      if (Date.now() - lastReport > 2000) {
        progress(`runtime: ${settled}/${commands.length} decided`);
        lastReport = Date.now();
      }
    }
    // Decided is not done: the last events must be acknowledged too.
    while ((await recordCount(topics.events)) < commands.length) await sleep(20);
    const finished = Date.now();
    const cpu = sampling?.stop();
    const sampledCount = commands.length - (sampling?.from ?? commands.length);
    const batches = await histogramMean(worker, 'fleet_settler_batch_size');
    const fastPath = await counterTotal(worker, 'fleet_settler_fast_path_decisions_total');
    progress(
      `runtime: ${batches.count} batches, ${batches.mean.toFixed(1)} commands per batch on average, ${fastPath} decided by the fast path`,
    );
    await worker.drain(10_000);
    const first = (
      await database.app.query<{ first: number | null }>(
        `SELECT (extract(epoch FROM min(decided_at)) * 1000)::float8 AS first
           FROM fleet.reservation_requests WHERE reservation_id = ANY($1::uuid[])`,
        [ids],
      )
    ).rows[0]!.first;
    if (first === null) throw new Error('no decision was stored');
    return { rate: commands.length / ((finished - first) / 1000), cpu, count: sampledCount };
  } finally {
    await kafka.close();
  }
}

/** Every bench request decided exactly once, each with its own event id, and no overlapping confirmed bookings. */
async function doubleBookingCheck(database: SettlementDatabase, expected: number): Promise<string> {
  const overlaps = await overlappingConfirmedPairs(database.app);
  const result = await database.app.query<{
    decided: number;
    pending: number;
    events: number;
    confirmed: number;
  }>(
    `SELECT count(*) FILTER (WHERE status <> 'pending')::int AS decided,
            count(*) FILTER (WHERE status = 'pending')::int AS pending,
            count(DISTINCT decision_event_id)::int AS events,
            (SELECT count(*)::int FROM fleet.reservations WHERE status = 'confirmed') AS confirmed
       FROM fleet.reservation_requests`,
  );
  const { decided, pending, events, confirmed } = result.rows[0]!;
  const ok = overlaps === 0 && decided === expected && pending === 0 && events === expected;
  return `double-booking check: ${ok ? 'OK' : 'FAILED'} — ${overlaps} overlapping confirmed pairs, ${decided}/${expected} requests decided once (${events} distinct event ids, ${pending} pending), ${confirmed} confirmed bookings`;
}

/**
 * What each measure cost the whole machine per unit of work (median round, every process and the
 * kernel), and where the settler's went (PostgreSQL, the broker, this process): the figure to
 * move when tuning, since every measure here saturates the machine's two cores.
 */
function cpuCostNote(
  measures: Record<string, { rounds: readonly Measured[]; unit: 'transaction' | 'settlement' }>,
): string {
  /** The median round by machine CPU per unit, with that cost; undefined when none was sampled. */
  const medianRound = (rounds: readonly Measured[]) => {
    const costed = rounds
      .map((round) => ({ round, ms: machineMsPer(round.cpu, round.count) }))
      .filter((c): c is { round: Measured; ms: number } => c.ms !== undefined)
      .sort((a, b) => a.ms - b.ms);
    return costed[Math.floor((costed.length - 1) / 2)];
  };
  const parts: string[] = [];
  const costs = new Map<string, number>();
  for (const [name, { rounds, unit }] of Object.entries(measures)) {
    const median = medianRound(rounds);
    if (!median) continue;
    costs.set(name, median.ms);
    parts.push(`${name} (median round) — ${describeCpu(median.round.cpu, median.round.count, unit)}`);
  }
  if (parts.length === 0) return 'Machine CPU per unit of work: unknown (no /proc).';
  const pgbenchMs = costs.get('pgbench');
  const runtimeMs = costs.get('settle-rate');
  const ratio =
    pgbenchMs !== undefined && runtimeMs !== undefined
      ? ` Machine CPU per pgbench transaction ÷ per runtime settlement: ${(pgbenchMs / runtimeMs).toFixed(2)}x — the ratio their rates would show if both were bound by the machine's CPU alone.`
      : '';
  return `Machine CPU per unit of work: ${parts.join('; ')}.${ratio}`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Statistics for the planner, as a running system has them (autovacuum keeps them current). */
async function analyze(database: SettlementDatabase): Promise<void> {
  const client = new pg.Client({ connectionString: database.fresh.urls.migrator });
  await client.connect();
  try {
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  progress(
    `concurrency ${concurrency}, ${commandCount} commands per settler measure, ${vehicleCount} vehicles`,
  );
  const database = await createSettlementDatabase({ vehicles: vehicleCount, prefix: 'fleetstream_bench' });
  try {
    await createBaselineTable(database);
    await analyze(database);
    const baselines: Measured[] = [];
    const paths: Measured[] = [];
    const bares: Measured[] = [];
    const runtimes: Measured[] = [];
    let baselineCommand = '';
    let settled = 0;
    /** One runtime measure on fresh commands in hour slots from `firstSlot`, recorded first as the ingress does. */
    const runtimeMeasure = async (vehiclesInFlight: number, firstSlot: number): Promise<Measured> => {
      await checkpoint(database);
      const commands = randomRequests(database, commandCount, firstSlot);
      await recordAsIngress(database, commands);
      settled += commandCount;
      return settleThroughRuntime(database, commands, vehiclesInFlight);
    };
    if (runtimeOnly) {
      for (let round = 1; round <= rounds; round++) {
        const measured = await runtimeMeasure(lanesInFlight, (2 * rounds + 1 + round) * hourSlots);
        progress(
          `runtime only, round ${round}/${rounds}: settle-rate ${measured.rate.toFixed(0)} settlements/s`,
        );
        console.log(cpuCostNote({ 'settle-rate': { rounds: [measured], unit: 'settlement' } }));
      }
      console.log(await doubleBookingCheck(database, settled));
      return;
    }
    for (let round = 1; round <= rounds; round++) {
      await checkpoint(database);
      const baseline = await pgbenchInserts(database);
      baselines.push(baseline);
      baselineCommand = baseline.command;
      progress(`round ${round}/${rounds}: pgbench-single-insert ${baseline.rate.toFixed(0)} tps`);

      const recorded = randomRequests(database, commandCount, (2 * round - 1) * hourSlots);
      await recordAsIngress(database, recorded);
      await checkpoint(database);
      paths.push(await settlePath(database, recorded));
      progress(`round ${round}/${rounds}: settle-path ${paths.at(-1)!.rate.toFixed(0)} settlements/s`);

      await checkpoint(database);
      bares.push(await settlePath(database, randomRequests(database, commandCount, 2 * round * hourSlots)));
      progress(
        `round ${round}/${rounds}: settle-path without ingress rows ${bares.at(-1)!.rate.toFixed(0)} settlements/s`,
      );
      settled += 2 * commandCount;

      if (!pathOnly) {
        // The headline: the settler as shipped, through the real runtime, in every round.
        progress(
          `round ${round}/${rounds}: real runtime, ${lanesInFlight} vehicles in flight (Kafka → settler worker → PostgreSQL → events)`,
        );
        runtimes.push(await runtimeMeasure(lanesInFlight, (2 * rounds + 1 + round) * hourSlots));
        progress(`round ${round}/${rounds}: settle-rate ${runtimes.at(-1)!.rate.toFixed(0)} settlements/s`);
      }
    }
    const baselineTps = median(baselines.map((m) => m.rate));
    const pathRate = median(paths.map((m) => m.rate));
    const lines: BenchLine[] = [];
    const p3Line = (name: string, value: number): BenchLine => ({
      id: 'P3',
      name,
      value,
      unit: 'settlements/s',
      ratio: value / baselineTps,
      baseline: 'pgbench-single-insert',
    });
    if (!pathOnly) {
      lines.push(p3Line('settle-rate', median(runtimes.map((m) => m.rate))));
      // Diagnostic, once: as many vehicles in flight as pgbench has transactions in flight, where
      // batching has nothing to gather.
      progress(`real runtime, ${concurrency} vehicles in flight`);
      lines.push(p3Line(`settle-rate-${concurrency}-in-flight`, (await runtimeMeasure(concurrency, 0)).rate));
    }
    lines.push(p3Line('settle-path', pathRate));
    const check = await doubleBookingCheck(database, settled);
    for (const line of lines) console.log(formatBenchLine(line));
    console.log(check);
    const bareRate = median(bares.map((m) => m.rate));
    const rates = (measures: readonly Measured[]) => measures.map((m) => m.rate.toFixed(0)).join(', ');
    const roundsNote = `Per round — pgbench: ${rates(baselines)} tps; settle-rate (runtime): ${rates(runtimes)}; settle-path: ${rates(paths)}; settle-path without ingress rows: ${rates(bares)} settlements/s (medians compared: ${bareRate.toFixed(0)}/s = ${(bareRate / baselineTps).toFixed(2)}x without ingress rows).`;
    progress(roundsNote);
    const cpuNote = cpuCostNote({
      pgbench: { rounds: baselines, unit: 'transaction' },
      'settle-path': { rounds: paths, unit: 'settlement' },
      'settle-rate': { rounds: runtimes, unit: 'settlement' },
    });
    progress(cpuNote);
    if (writeReport) {
      const reader = new EnvReader(process.env);
      const settings = readSettlerSettings(reader);
      reader.done();
      appendBenchReport(
        'P3 settle-rate',
        `node harness/bench/settleRate.ts${args.length > 0 ? ` ${args.join(' ')}` : ''}`,
        lines,
        [
          `nproc: ${execFileSync('nproc').toString().trim()}; free -g: ${execFileSync('free', ['-g']).toString().split('\n')[1]?.replace(/\s+/g, ' ').trim()}; load average at the end: ${os
            .loadavg()
            .map((l) => l.toFixed(2))
            .join(' ')}`,
          `pgbench concurrency ${concurrency} (clients = database sessions = transactions in flight); the settler: ${lanesInFlight} vehicles in flight (its shipped CONSUMER_MAX_CONCURRENCY unless --lanes), each vehicle serial, batched into at most SETTLER_BATCHES_IN_FLIGHT=${settings.batching.maxBatchesInFlight} transactions in flight on as many database sessions; settle-rate-${concurrency}-in-flight runs the runtime with only ${concurrency} vehicles in flight. ${commandCount} reservation requests per settler measure over ${vehicleCount} vehicles, random one-hour slots among ${hourSlots}; settler batching: SETTLER_BATCH_MAX=${settings.batching.maxBatchSize}, SETTLER_BATCH_LINGER_MS=${settings.batching.lingerMs}, SETTLER_BATCHES_IN_FLIGHT=${settings.batching.maxBatchesInFlight}.`,
          `Baseline: \`${baselineCommand}\`, one INSERT … ON CONFLICT DO NOTHING of a random reservation per transaction into a copy of fleet.reservations (same checks, primary key, exclusion constraint, vehicle foreign key).`,
          roundsNote,
          cpuNote,
          `settle-rate: the real runtime in this process (commands pre-produced to a topic with the catalog's ${partitions} partitions, events to another; consumer engine, Avro, batched settlement, one event produced and acknowledged per command), timed from the first stored decision until every decision is stored and every event acknowledged; measured in every round, the median reported (the 32-in-flight diagnostic runs once).`,
          `settle-path: the same settlement pipeline without Kafka, ${lanesInFlight} lanes of vehicles submitting serially.`,
          `insert-reservation.sql: ${pgbenchScript.replace(/\s+/g, ' ').trim()}`,
          'The machine is shared (see the load average): when it is oversubscribed, pgbench’s 32 server processes and 2 client threads get a larger share of the CPU than the settler’s one Node process and at most SETTLER_BATCHES_IN_FLIGHT server processes; rounds vary accordingly.',
          'Per settlement the settler locks the pending inbox row the ingress recorded, inserts the booking (exclusion constraint, two foreign keys) and records the decision (an UPDATE touching the inbox indexes); without ingress rows it inserts the inbox row as well. pgbench inserts one booking row per transaction.',
          check,
        ],
      );
    }
  } finally {
    await database.close();
  }
}

await main();
