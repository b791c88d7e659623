import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What `up` records about a process it started, so `down` stops only that process. */
export interface PidRecord {
  pid: number;
  service: string;
  startedAt: string;
  /** A string that must appear in /proc/<pid>/cmdline; guards against a recycled pid. */
  marker: string;
}

/** Starts a long-lived service process detached from this one, its output appended to `logFile`. */
export function startDetached(options: {
  service: string;
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  marker: string;
  env?: NodeJS.ProcessEnv;
}): PidRecord {
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  fs.mkdirSync(path.dirname(options.pidFile), { recursive: true });
  const log = fs.openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined) throw new Error(`${options.service}: could not spawn ${options.command}`);
    child.unref();
    const record: PidRecord = {
      pid: child.pid,
      service: options.service,
      startedAt: new Date().toISOString(),
      marker: options.marker,
    };
    fs.writeFileSync(options.pidFile, `${JSON.stringify(record)}\n`);
    return record;
  } finally {
    fs.closeSync(log);
  }
}

/** The pid record of a service this stack started, if its process is still alive and still ours. */
export function liveRecord(pidFile: string): PidRecord | undefined {
  let record: PidRecord;
  try {
    record = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
  return isOurProcess(record) ? record : undefined;
}

function isOurProcess(record: PidRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    return cmdline.includes(record.marker);
  } catch {
    // No /proc (not Linux): trust the live pid.
    return true;
  }
}

/** Stops the process recorded in `pidFile` (SIGTERM, then SIGKILL after `graceMs`); false when nothing of ours ran. */
export async function stopRecorded(pidFile: string, graceMs = 30_000): Promise<boolean> {
  const record = liveRecord(pidFile);
  if (!record) {
    fs.rmSync(pidFile, { force: true });
    return false;
  }
  process.kill(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isOurProcess(record)) await sleep(200);
  if (isOurProcess(record)) {
    process.kill(record.pid, 'SIGKILL');
    while (isOurProcess(record)) await sleep(100);
  }
  fs.rmSync(pidFile, { force: true });
  return true;
}

/** Polls `probe` until it resolves true or `timeoutMs` passes; the last failure is returned for the error message. */
export async function waitUntilHealthy(
  probe: () => Promise<void>,
  timeoutMs: number,
  stillRunning: () => boolean = () => true,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const deadline = Date.now() + timeoutMs;
  let reason = 'timed out';
  while (Date.now() < deadline) {
    try {
      await probe();
      return { ok: true };
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    if (!stillRunning()) return { ok: false, reason: `process exited (${reason})` };
    await sleep(500);
  }
  return { ok: false, reason: `not healthy after ${Math.round(timeoutMs / 1000)} s (${reason})` };
}
