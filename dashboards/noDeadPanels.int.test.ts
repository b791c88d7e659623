import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePort } from '../harness/doubleBooking/isolatedFleet.ts';
import { runStormLoad } from '../harness/doubleBooking/stormLoad.ts';
import { prepareFleet } from '../harness/fleet/prepareFleet.ts';
import { ProcessSupervisor } from '../harness/fleet/processSupervisor.ts';
import { emitRentalEvents } from '../harness/rentals/emitRentalEvents.ts';
import { repoRoot } from '../harness/stack/stackConfig.ts';
import { loadOpsConfig } from '../ops/opsConfig.ts';
import { workerProcessEnv } from '../workers/runtime/worker/workerNodeOptions.ts';
import { allPanelQueries } from './panelQueries.ts';

/**
 * No dead panels: the fleet runs (ingress, settler, rental ledger, notifier with the local
 * provider, lag monitor on the fleet's real topics, as `npm start` runs them, on free ports), a
 * real Prometheus scrapes it with the project's own scrape config and rules, a short reservation
 * load and a few rentals' events run, and then every dashboard query that does not need a failure
 * to have data must return data.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-panels-'));
let supervisor: ProcessSupervisor | undefined;
let prometheus: ChildProcess | undefined;
let prometheusUrl = '';
let ingressUrl = '';

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer in time`);
    await sleep(250);
  }
}

beforeAll(async () => {
  prepareFleet(process.env, true);
  const ports = {
    ingress: await freePort(),
    settler: await freePort(),
    ledger: await freePort(),
    notifier: await freePort(),
    notifyProvider: await freePort(),
    lag: await freePort(),
    prometheus: await freePort(),
  };
  ingressUrl = `http://127.0.0.1:${ports.ingress}`;
  const env = {
    ...(workerProcessEnv() as Record<string, string>),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_CUSTOMER_QUOTA: '100000',
    RATE_LIMIT_IP_QUOTA: '1000000',
    RESERVATION_QUOTA_PER_CUSTOMER: '1000',
  };
  supervisor = new ProcessSupervisor(
    repoRoot,
    [
      {
        name: 'settler',
        entry: 'workers/reservation-settler/main.ts',
        readyUrl: `http://127.0.0.1:${ports.settler}/readyz`,
        env: { ...env, METRICS_PORT: String(ports.settler) },
      },
      {
        name: 'rental-ledger',
        entry: 'workers/rental-ledger/main.ts',
        readyUrl: `http://127.0.0.1:${ports.ledger}/readyz`,
        env: { ...env, METRICS_PORT: String(ports.ledger) },
      },
      {
        name: 'notify-provider',
        entry: 'harness/notifyProvider/main.ts',
        readyUrl: `http://127.0.0.1:${ports.notifyProvider}/readyz`,
        env: { ...env, NOTIFY_PROVIDER_PORT: String(ports.notifyProvider) },
      },
      {
        name: 'notifier',
        entry: 'workers/notifier/main.ts',
        readyUrl: `http://127.0.0.1:${ports.notifier}/readyz`,
        env: {
          ...env,
          METRICS_PORT: String(ports.notifier),
          NOTIFIER_PROVIDER_URL: `http://127.0.0.1:${ports.notifyProvider}/v1/messages`,
        },
      },
      {
        name: 'lag-monitor',
        entry: 'workers/lag-monitor/main.ts',
        readyUrl: `http://127.0.0.1:${ports.lag}/readyz`,
        env: { ...env, METRICS_PORT: String(ports.lag), LAG_POLL_INTERVAL_MS: '1000' },
      },
      {
        name: 'ingress',
        entry: 'workers/ingress/main.ts',
        readyUrl: `${ingressUrl}/readyz`,
        env: { ...env, INGRESS_PORT: String(ports.ingress) },
      },
    ],
    { quiet: process.env.PANELS_TEST_VERBOSE !== '1' },
  );
  await supervisor.start(120_000);

  // The project's scrape config and rules, pointed at this run's ports, scraping every second.
  const config = YAML.parse(fs.readFileSync(path.join(here, 'prometheus/prometheus.yml'), 'utf8')) as {
    global: Record<string, unknown>;
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  };
  const targets: Record<string, number> = {
    ingress: ports.ingress,
    'reservation-settler': ports.settler,
    'rental-ledger': ports.ledger,
    notifier: ports.notifier,
    'lag-monitor': ports.lag,
    prometheus: ports.prometheus,
  };
  config.global.scrape_interval = '1s';
  config.global.scrape_timeout = '900ms';
  config.global.evaluation_interval = '1s';
  config.rule_files = [path.join(here, 'prometheus/rules/*.yml')];
  config.scrape_configs = config.scrape_configs
    .filter((job) => targets[job.job_name] !== undefined)
    .map((job) => ({ ...job, static_configs: [{ targets: [`127.0.0.1:${targets[job.job_name]}`] }] }));
  const configFile = path.join(workDir, 'prometheus.yml');
  fs.writeFileSync(configFile, YAML.stringify(config));
  prometheusUrl = `http://127.0.0.1:${ports.prometheus}`;
  prometheus = spawn(
    '/usr/bin/prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${ports.prometheus}`,
    ],
    { stdio: 'ignore' },
  );
  await waitFor(`${prometheusUrl}/-/ready`, 60_000);

  // A short load: reservations (many overlapping, so both outcomes happen) and cancellations.
  const vehicles = (
    (await await fetch(`${ingressUrl}/v1/vehicles?limit=5`, {
      headers: {
        authorization: `Bearer ${await (await import('../harness/doubleBooking/stormLoad.ts')).adminToken(env)}`,
      },
    }).then((r) => r.json())) as { vehicles: Array<{ vehicleId: string }> }
  ).vehicles.map((v) => v.vehicleId);
  // Upstream's side: whole rental lives for the ledger's panels.
  await emitRentalEvents(loadOpsConfig(env), 'fleet.rental.events.v1', 10);
  const loadUntil = Date.now() + 20_000;
  while (Date.now() < loadUntil) {
    await runStormLoad({
      ingressUrl,
      requests: 60,
      concurrency: 6,
      vehicles,
      customers: 30,
      cancelRatio: 0.2,
      windowDays: 30,
      env,
    });
  }
  await sleep(5000); // a few more scrapes and rule evaluations after the load
}, 300_000);

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await supervisor?.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('dashboards have no dead panels (real fleet, real Prometheus, short load)', () => {
  const queries = allPanelQueries().filter((q) => !q.requiresEvent);

  it('covers the dashboards', () => {
    expect(queries.length).toBeGreaterThan(50);
  });

  it('every query that needs no failure returns data', async () => {
    const dead: string[] = [];
    for (const query of queries) {
      const url = `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query.resolvedExpr)}`;
      const body = (await fetch(url).then((r) => r.json())) as {
        status: string;
        data?: { result: unknown[] };
        error?: string;
      };
      if (body.status !== 'success' || (body.data?.result.length ?? 0) === 0) {
        dead.push(
          `${query.dashboard} / ${query.panel} [${query.refId}]: ${body.error ?? 'no data'} — ${query.resolvedExpr}`,
        );
      }
    }
    expect(dead, dead.join('\n')).toEqual([]);
  }, 120_000);
});
