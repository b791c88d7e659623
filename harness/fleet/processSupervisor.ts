import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { workerProcessEnv } from '../../workers/runtime/worker/workerNodeOptions.ts';
import type { FleetProcess } from './fleetProcesses.ts';

const colors = [36, 35, 33, 32, 34, 31];

/** Width of the name column: the longest process name and a space (`notify-provider `). */
const labelWidth = 16;

/** Writes one prefixed line to stdout; colours only on a terminal. */
function prefixed(name: string, index: number, line: string): void {
  const label = process.stdout.isTTY
    ? `\u001b[${colors[index % colors.length]}m${name.padEnd(labelWidth)}\u001b[0m`
    : name.padEnd(labelWidth);
  process.stdout.write(`${label}| ${line}\n`);
}

interface Supervised {
  spec: FleetProcess;
  index: number;
  child: ChildProcess | undefined;
  restarts: number[];
  /** Set when the supervisor stopped restarting it. */
  gaveUp: boolean;
  /** The last lines it printed, for the error when it never becomes ready. */
  lastLines: string[];
}

/** Preloaded into every process: it stops itself when the supervisor dies (exitWithParent.ts). */
const exitWithParent = path.join(path.dirname(new URL(import.meta.url).pathname), 'exitWithParent.ts');

/** How the supervisor is told that it gave up on a process after the fleet had started. */
export interface SupervisorOptions {
  /** Do not echo the processes' own output (harness runs), only exits and restarts. */
  quiet?: boolean;
  /** Called once when a process kept exiting after start() returned (the fleet is then incomplete). */
  onGaveUp?: (name: string) => void;
}

/**
 * Runs the fleet's processes with prefixed output. A process that dies unexpectedly is
 * restarted after a short delay (at most 5 times a minute, then the supervisor gives up on
 * it, says so and calls `onGaveUp`); `stop()` sends SIGTERM to all, waits for them to drain,
 * then SIGKILLs. Each process has an IPC channel to the supervisor and stops itself when the
 * supervisor dies, so a killed supervisor leaves no orphans.
 */
export class ProcessSupervisor {
  private readonly supervised: Supervised[];
  private readonly root: string;
  private stopping = false;
  private started = false;
  private readonly quiet: boolean;
  private readonly onGaveUp: ((name: string) => void) | undefined;

  constructor(root: string, processes: readonly FleetProcess[], options: SupervisorOptions = {}) {
    this.root = root;
    this.quiet = options.quiet ?? false;
    this.onGaveUp = options.onGaveUp;
    this.supervised = processes.map((spec, index) => ({
      spec,
      index,
      child: undefined,
      restarts: [],
      gaveUp: false,
      lastLines: [],
    }));
  }

  /** Whether stop() or kill() was called: a start() that returns then did not start everything. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * Starts every process and waits until each answers its readiness URL (or `timeoutMs` passes).
   * Refuses a process whose port something else already serves (say the orphans of an earlier
   * run): its readiness would be that other process's. Starts nothing more once stop() was called.
   */
  async start(timeoutMs: number): Promise<void> {
    for (const s of this.supervised) {
      if (this.stopping) return;
      const url = new URL(s.spec.readyUrl);
      if (await isListening(url.hostname, Number(url.port))) {
        throw new Error(
          `${s.spec.name}: port ${url.port} is already in use (${s.spec.readyUrl} answers before it started); stop whatever holds it`,
        );
      }
      this.spawn(s);
      await this.waitReady(s, timeoutMs);
    }
    this.started = !this.stopping;
  }

  private spawn(s: Supervised): void {
    if (this.stopping) return;
    const child = spawn(process.execPath, ['--import', exitWithParent, path.join(this.root, s.spec.entry)], {
      cwd: this.root,
      env: { ...workerProcessEnv(), ...s.spec.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    s.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      readline.createInterface({ input: stream }).on('line', (line) => {
        s.lastLines.push(line);
        if (s.lastLines.length > 20) s.lastLines.shift();
        if (!this.quiet) prefixed(s.spec.name, s.index, line);
      });
    }
    child.once('exit', (code, signal) => {
      s.child = undefined;
      if (this.stopping) return;
      const now = Date.now();
      s.restarts = s.restarts.filter((t) => now - t < 60_000);
      if (s.restarts.length >= 5) {
        prefixed(
          s.spec.name,
          s.index,
          `exited (${signal ?? `code ${code}`}) after 5 restarts in a minute: giving up on it (see the lines above)`,
        );
        s.gaveUp = true;
        if (this.started) this.onGaveUp?.(s.spec.name);
        return;
      }
      prefixed(s.spec.name, s.index, `exited (${signal ?? `code ${code}`}); restarting`);
      s.restarts.push(now);
      setTimeout(() => {
        if (!this.stopping) this.spawn(s);
      }, 2000).unref();
    });
  }

  private async waitReady(s: Supervised, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(s.spec.readyUrl, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        // Only while our process runs: the answer must be its own.
        if (response.ok && s.child) {
          prefixed(s.spec.name, s.index, `ready (${s.spec.readyUrl})`);
          return;
        }
      } catch {
        // not listening yet
      }
      if (this.stopping) return;
      if (s.gaveUp)
        throw new Error(`${s.spec.name} keeps exiting; its last lines:\n${s.lastLines.join('\n')}`);
      await sleep(250);
    }
    throw new Error(
      `${s.spec.name} was not ready at ${s.spec.readyUrl} after ${Math.round(timeoutMs / 1000)} s`,
    );
  }

  /** Sends a signal to one process (the supervisor restarts it if it dies); false when it is not running. */
  signal(name: string, signal: NodeJS.Signals): boolean {
    const child = this.supervised.find((s) => s.spec.name === name)?.child;
    return child ? child.kill(signal) : false;
  }

  /** Waits until a (re)started process answers its readiness URL. */
  async waitUntilReady(name: string, timeoutMs: number): Promise<void> {
    const s = this.supervised.find((p) => p.spec.name === name);
    if (!s) throw new Error(`no process named ${name}`);
    const deadline = Date.now() + timeoutMs;
    while (!s.child && Date.now() < deadline) await sleep(100);
    await this.waitReady(s, Math.max(1, deadline - Date.now()));
  }

  /** SIGKILL to every process now, without restarts: the operator's second Ctrl-C. */
  kill(): void {
    this.stopping = true;
    for (const s of this.supervised) s.child?.kill('SIGKILL');
  }

  /**
   * SIGTERM to every process, SIGKILL to those still running after `graceMs`. Resolves true when
   * every process drained and exited 0, false when one had to be killed or exited otherwise.
   */
  async stop(graceMs = 30_000): Promise<boolean> {
    this.stopping = true;
    const exits = this.supervised
      .filter((s) => s.child)
      .map((s) => {
        const child = s.child!;
        const exited = new Promise<boolean>((resolve) =>
          child.once('exit', (code) => {
            if (code !== 0)
              prefixed(s.spec.name, s.index, `stopped with ${code === null ? 'a signal' : `code ${code}`}`);
            resolve(code === 0);
          }),
        );
        child.kill('SIGTERM');
        return exited;
      });
    const all = Promise.all(exits);
    const timedOut = await Promise.race([all.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut) {
      for (const s of this.supervised) s.child?.kill('SIGKILL');
    }
    return !timedOut && (await all).every(Boolean);
  }
}

/** Whether something accepts TCP connections on host:port. */
function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
