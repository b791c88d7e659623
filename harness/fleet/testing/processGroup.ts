/**
 * A command started in its own process group, as a shell starts a foreground job, so a test can
 * signal the whole group like a terminal's Ctrl-C. Used by the supervisor's tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** A running process group and what it printed. */
export interface ProcessGroup {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves when the group leader has exited and its pipes closed. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL to the whole group if its leader is still running (for afterAll). */
  killIfRunning(): void;
}

/** Starts `command` as the leader of a new process group, its output piped and collected. */
export function startProcessGroup(
  command: string,
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv },
): ProcessGroup {
  const chunks: string[] = [];
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => chunks.join(''),
    exit,
    killIfRunning: () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(-child.pid, 'SIGKILL');
      }
    },
  };
}

/** The `msg` of every JSON log line a supervised process printed under its `name | ` prefix. */
export function supervisedLogMessages(output: string, name: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith(`${name} `))
    .map((line) => line.slice(line.indexOf('|') + 1).trim())
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
