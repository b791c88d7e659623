import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/doubleBooking/isolatedFleet.ts';
import { prepareFleet } from '../harness/fleet/prepareFleet.ts';
import { repoRoot } from '../harness/stack/stackConfig.ts';
import { runbookBlocks } from './runnableBlocks.ts';

const blocks = runbookBlocks(path.dirname(fileURLToPath(import.meta.url)));
let lagMonitor: ChildProcess | undefined;
let lagMonitorUrl = '';

beforeAll(async () => {
  // The runbooks act on the fleet's real topics and database, as on-call would after `npm start`.
  prepareFleet(process.env, true);
  const port = await freePort();
  lagMonitorUrl = `http://127.0.0.1:${port}`;
  lagMonitor = spawn(process.execPath, ['workers/lag-monitor/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, METRICS_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${lagMonitorUrl}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('the lag monitor did not become ready');
    await sleep(250);
  }
}, 180_000);

afterAll(async () => {
  if (lagMonitor && lagMonitor.exitCode === null) {
    const exited = new Promise((resolve) => lagMonitor!.once('exit', resolve));
    lagMonitor.kill('SIGTERM');
    await exited;
  }
});

describe('runbook commands marked runnable (against the local stack)', () => {
  it('there are some', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  for (const block of blocks) {
    it(`${block.file}:${block.line} — ${block.script.split('\n')[0]!.slice(0, 70)}`, () => {
      const result = spawnSync('bash', ['-eo', 'pipefail', '-c', block.script], {
        cwd: repoRoot,
        env: {
          ...process.env,
          PATH: `${path.join(repoRoot, 'node_modules/.bin')}:${process.env.PATH}`,
          LAG_MONITOR_URL: lagMonitorUrl,
        },
        encoding: 'utf8',
        timeout: 90_000,
      });
      const detail = `exit ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
      expect(block.allowedExitCodes, detail).toContain(result.status);
    }, 120_000);
  }
});
