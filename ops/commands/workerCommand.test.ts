import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { runOpsCli } from '../cli.ts';
import type { CliIo } from '../cliSupport.ts';
import { catchesSignal, parseWorkerPid } from './workerCommand.ts';

describe('catchesSignal', () => {
  it('takes PID 1 (a worker in a container), never 0 or a negative (process groups to kill)', () => {
    expect(parseWorkerPid('1')).toBe(1);
    expect(parseWorkerPid('4242')).toBe(4242);
    for (const bad of ['0', '-1', 'x']) expect(() => parseWorkerPid(bad)).toThrow(/pid/);
  });

  it('reads the SigCgt mask of /proc/<pid>/status', () => {
    // Bit 11 (SIGUSR2 = 12) set; bit 9 (SIGUSR1 = 10) clear.
    const status = 'Name:\tnode\nSigBlk:\t0000000000000000\nSigCgt:\t0000000000000800\n';
    expect(catchesSignal(status, 12)).toBe(true);
    expect(catchesSignal(status, 10)).toBe(false);
    expect(catchesSignal('Name:\tx\n', 12)).toBeUndefined();
  });
});

describe('ops worker resume-dlq', () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
  });

  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { env: {}, out: (l) => out.push(l), err: (l) => err.push(l) };
    const code = await runOpsCli(argv, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  /** A node process that handles SIGUSR2 like a worker (prints, keeps running) — or not at all. */
  async function child(handlesSigusr2: boolean) {
    const script = handlesSigusr2
      ? "process.on('SIGUSR2', () => console.log('resumed')); console.log('ready'); setInterval(() => {}, 1000);"
      : "console.log('ready'); setInterval(() => {}, 1000);";
    const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(proc);
    const lines: string[] = [];
    proc.stdout?.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    while (!lines.includes('ready')) await new Promise((resolve) => setTimeout(resolve, 20));
    return { proc, lines };
  }

  it('sends SIGUSR2 to a process that handles it', async () => {
    const { proc, lines } = await child(true);
    const result = await run(['worker', 'resume-dlq', '--pid', String(proc.pid)]);
    expect(result.code).toBe(0);
    expect(result.out).toContain(`sent SIGUSR2 to ${proc.pid}`);
    while (!lines.includes('resumed')) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(proc.exitCode).toBeNull();
  });

  it('refuses (exit 3) a process that would die of SIGUSR2, and leaves it running', async () => {
    const { proc } = await child(false);
    const result = await run(['worker', 'resume-dlq', '--pid', String(proc.pid)]);
    expect(result.code).toBe(3);
    expect(result.err).toContain('does not handle SIGUSR2');
    expect(proc.exitCode).toBeNull();
    expect(proc.signalCode).toBeNull();
  });

  it('says so when there is no such process (exit 1)', async () => {
    const { proc } = await child(false);
    proc.kill('SIGKILL');
    await once(proc, 'exit');
    const result = await run(['worker', 'resume-dlq', '--pid', String(proc.pid)]);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`no process ${proc.pid}`);
  });
});
