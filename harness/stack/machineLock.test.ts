import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { withMachineLock } from './machineLock.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'machine-lock-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('withMachineLock', () => {
  it('runs holders one at a time and releases the lock afterwards', async () => {
    const directory = tempDir();
    const events: string[] = [];
    const holder = (id: string) =>
      withMachineLock(
        'stack-up',
        async () => {
          events.push(`${id} in`);
          await sleep(300);
          events.push(`${id} out`);
        },
        { directory },
      );
    await Promise.all([holder('a'), holder('b')]);
    expect(events).toEqual(['a in', 'a out', 'b in', 'b out']);
    expect(fs.existsSync(path.join(directory, 'stack-up.lock'))).toBe(false);
  });

  it('takes over a lock whose owner died, and says who it waits for while the owner lives', async () => {
    const directory = tempDir();
    const lockDir = path.join(directory, 'stack-up.lock');
    fs.mkdirSync(lockDir);
    // Pid 2^22 + 1 is above Linux's pid_max ceiling: no such process can exist.
    fs.writeFileSync(path.join(lockDir, 'pid'), String(4_194_305));
    expect(await withMachineLock('stack-up', async () => 'ran', { directory })).toBe('ran');

    fs.mkdirSync(lockDir);
    fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
    const waitedFor: number[] = [];
    await expect(
      withMachineLock('stack-up', async () => 'never', {
        directory,
        timeoutMs: 500,
        onWait: (pid) => waitedFor.push(pid),
      }),
    ).rejects.toThrow(new RegExp(`held by pid ${process.pid}`));
    expect(waitedFor).toEqual([process.pid]);
  });

  it('stops waiting for another holder once its signal aborts', async () => {
    const directory = tempDir();
    const lockDir = path.join(directory, 'stack-up.lock');
    fs.mkdirSync(lockDir);
    fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
    const controller = new AbortController();
    let ran = false;
    const waiting = withMachineLock(
      'stack-up',
      async () => {
        ran = true;
      },
      { directory, signal: controller.signal, onWait: () => controller.abort(new Error('Ctrl-C')) },
    );
    await expect(waiting).rejects.toThrow('Ctrl-C');
    expect(ran).toBe(false);
    // The other holder's lock is left alone.
    expect(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8')).toBe(String(process.pid));
  });
});
