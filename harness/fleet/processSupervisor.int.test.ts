import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../doubleBooking/isolatedFleet.ts';
import { repoRoot } from '../stack/stackConfig.ts';
import type { FleetProcess } from './fleetProcesses.ts';
import { ProcessSupervisor } from './processSupervisor.ts';
import { isAlive } from './testing/processGroup.ts';

// The supervisor with small HTTP processes (testing/httpChild.ts): what runs after it stopped.
const pidDir = mkdtempSync(path.join(tmpdir(), 'supervisor-test-'));
const supervisors: ProcessSupervisor[] = [];

afterAll(async () => {
  for (const supervisor of supervisors) await supervisor.stop(2000);
  rmSync(pidDir, { recursive: true, force: true });
});

async function children(count: number, env: Record<string, string> = {}): Promise<FleetProcess[]> {
  const specs: FleetProcess[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    specs.push({
      name: `child-${i}`,
      entry: 'harness/fleet/testing/httpChild.ts',
      readyUrl: `http://127.0.0.1:${port}/`,
      env: { PORT: String(port), PID_DIR: pidDir, ...env },
    });
  }
  return specs;
}

function supervise(specs: FleetProcess[], onGaveUp?: (name: string) => void): ProcessSupervisor {
  const supervisor = new ProcessSupervisor(repoRoot, specs, {
    quiet: true,
    ...(onGaveUp ? { onGaveUp } : {}),
  });
  supervisors.push(supervisor);
  return supervisor;
}

const startedPids = () =>
  readdirSync(pidDir)
    .filter((name) => /^\d+$/.test(name))
    .map(Number);

describe('ProcessSupervisor', () => {
  it('starts nothing more once stopped during start(), and leaves nothing running', async () => {
    const before = new Set(startedPids());
    const supervisor = supervise(await children(4, { READY_DELAY_MS: '400' }));
    const starting = supervisor.start(30_000);
    while (startedPids().filter((pid) => !before.has(pid)).length < 1) await sleep(20);
    const startedBeforeStop = startedPids().filter((pid) => !before.has(pid));
    expect(await supervisor.stop(5000)).toBe(true);
    await starting;
    expect(supervisor.isStopping).toBe(true);
    // Long enough for the next child's start (each is ready after 400 ms), had stop() not ended it.
    await sleep(1000);
    const ours = startedPids().filter((pid) => !before.has(pid));
    expect(ours.sort()).toEqual(startedBeforeStop.sort());
    expect(ours.filter(isAlive)).toEqual([]);
  });

  it('refuses a process whose port something else already serves', async () => {
    const [spec] = await children(1);
    const squatter = http.createServer((_, response) => response.end('someone else'));
    const port = Number(new URL(spec!.readyUrl).port);
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      await expect(supervise([spec!]).start(10_000)).rejects.toThrow(`port ${port} is already in use`);
    } finally {
      squatter.close();
    }
  });

  it('says whether every process drained cleanly', async () => {
    const clean = supervise(await children(1));
    await clean.start(10_000);
    expect(await clean.stop(5000)).toBe(true);
    const failing = supervise(await children(1, { EXIT_CODE_ON_TERM: '3' }));
    await failing.start(10_000);
    expect(await failing.stop(5000)).toBe(false);
  });

  it('tells its owner when it gave up on a process after the start', async () => {
    const gaveUp: string[] = [];
    const crashMarker = path.join(pidDir, 'crash-now');
    const supervisor = supervise(await children(1, { CRASH_WHEN_FILE: crashMarker }), (name) =>
      gaveUp.push(name),
    );
    await supervisor.start(10_000);
    // From now on the child and every restart of it crash at once: five restarts, two seconds apart.
    writeFileSync(crashMarker, '');
    const deadline = Date.now() + 30_000;
    while (gaveUp.length === 0 && Date.now() < deadline) await sleep(100);
    expect(gaveUp).toEqual(['child-0']);
  });
});
