import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ManagedProcessService } from './managedJvmService.ts';
import { liveRecord, stopRecorded } from './processControl.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    await stopRecorded(path.join(dir, 'run', 'idler.pid'), 1_000);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A real detached process that never becomes healthy: what a JVM looks like while it boots. */
function idlerService(prepare: () => Promise<void> = async () => {}): {
  service: ManagedProcessService;
  pidFile: string;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'managed-service-'));
  dirs.push(dir);
  const marker = `fleetstream-idler-${path.basename(dir)}`;
  const service = new ManagedProcessService({
    name: 'idler',
    endpoint: 'nowhere',
    runDir: path.join(dir, 'run'),
    logDir: path.join(dir, 'logs'),
    startTimeoutMs: 60_000,
    probe: async () => {
      throw new Error('not answering yet');
    },
    prepare,
    command: () => ({
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)', marker],
      cwd: dir,
      marker,
    }),
  });
  return { service, pidFile: path.join(dir, 'run', 'idler.pid') };
}

/**
 * Whether the process still runs. A killed child of this test process stays a zombie until Node
 * reaps it, which can be after stopRecorded() returned (its /proc cmdline is then empty): a zombie
 * runs nothing and counts as stopped.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('ManagedProcessService.up with an abort signal', () => {
  it('stops the process it spawned when the start is interrupted, and rejects', async () => {
    const { service, pidFile } = idlerService();
    const controller = new AbortController();
    const starting = service.up(controller.signal);
    let pid: number | undefined;
    for (let i = 0; i < 100 && pid === undefined; i++) {
      pid = liveRecord(pidFile)?.pid;
      if (pid === undefined) await sleep(50);
    }
    expect(pid).toBeTypeOf('number');
    controller.abort(new Error('Ctrl-C'));
    await expect(starting).rejects.toThrow('Ctrl-C');
    expect(alive(pid!)).toBe(false);
    expect(liveRecord(pidFile)).toBeUndefined();
  });

  it('spawns nothing when interrupted while preparing', async () => {
    const controller = new AbortController();
    const { service, pidFile } = idlerService(async () => {
      controller.abort(new Error('Ctrl-C'));
    });
    await expect(service.up(controller.signal)).rejects.toThrow('Ctrl-C');
    expect(fs.existsSync(pidFile)).toBe(false);
  });
});
