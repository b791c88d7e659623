import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link withMachineLock}. */
export interface MachineLockOptions {
  /** Where lock directories live (default the OS temp dir: one per machine, shared by every checkout). */
  directory?: string;
  /** Longest wait for another holder before giving up (default 10 minutes: a cold `stack up` fetches jars). */
  timeoutMs?: number;
  /** Told once when the lock is held by another process and this one waits. */
  onWait?: (holderPid: number) => void;
  /** Gives up waiting (rejecting with its reason) once this aborts. */
  signal?: AbortSignal;
}

/** Whether process `pid` exists (signal 0 tests without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(lockDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    // Between another process's mkdir and its pid write, or just released: no holder to name yet.
    return undefined;
  }
}

/**
 * Runs `work` while holding a machine-wide lock named `name`, so two checkouts never run it at
 * once (two concurrent `stack up` both saw port 9092 free and both spawned a broker). The lock is
 * a directory (mkdir is atomic) holding the owner's pid; a lock whose owner died is taken over.
 */
export async function withMachineLock<T>(
  name: string,
  work: () => Promise<T>,
  options: MachineLockOptions = {},
): Promise<T> {
  const lockDir = path.join(options.directory ?? os.tmpdir(), `${name}.lock`);
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = holderOf(lockDir);
    if (holder !== undefined && !alive(holder)) {
      // Its owner died without releasing it: remove it, then race for it again like everyone else.
      fs.rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${lockDir} is still held by pid ${holder ?? '(unknown)'}; remove it if no such process runs`,
      );
    }
    if (!told && holder !== undefined) {
      options.onWait?.(holder);
      told = true;
    }
    await sleep(200);
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}
