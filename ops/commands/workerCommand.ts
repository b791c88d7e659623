import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import {
  type CliIo,
  exitCodes,
  parseCommand,
  parseInteger,
  RefusedError,
  subcommandHelp,
  UsageError,
} from '../cliSupport.ts';

export const workerUsage = `usage: ops worker resume-dlq --pid P [--force]

  Sends SIGUSR2 to worker process P: the runtime's operator command to resume dead-lettering
  after the worker hit its DLQ volume cap (workers/runtime/worker/workerMain.ts). The worker
  logs "operator resumed dead-lettering" and its fleet_dlq_cap_reached gauge returns to 0.
  Fix or understand the cause first (ops dlq list), or it hits the cap again.

  SIGUSR2 terminates a process that does not handle it, so on Linux the command first checks
  /proc/P/status that P catches SIGUSR2 and refuses otherwise; --force skips that check.
  In a container the worker is PID 1: kubectl exec -n fleetstream <pod> -- node ops/cli.ts
  worker resume-dlq --pid 1, on the replica that owns the blocked partition now (a partition's
  block follows it to its next owner; ops dlq blocks lists them; its /readyz names them).

exit status: 0 signal sent; 1 no such process or not permitted; 2 bad arguments; 3 refused (P
does not handle SIGUSR2, or it cannot be checked without --force).`;

/**
 * Whether a process catches a signal, from its /proc/<pid>/status text (the SigCgt bit mask);
 * undefined when the text has no such line.
 */
export function catchesSignal(statusText: string, signal: number): boolean | undefined {
  const match = /^SigCgt:\s*([0-9a-f]+)\s*$/im.exec(statusText);
  if (!match) return undefined;
  return ((BigInt(`0x${match[1]}`) >> BigInt(signal - 1)) & 1n) === 1n;
}

/**
 * The --pid argument. 1 is allowed: a worker in a container runs as PID 1 (deploy/), and the
 * SigCgt check guards any other PID 1. 0 and negatives are not processes but groups to kill(2).
 */
export function parseWorkerPid(text: string): number {
  return parseInteger('pid', text, 1, 4_194_304);
}

/** `ops worker …`. */
export async function runWorkerCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const help = subcommandHelp(sub, rest, io, workerUsage);
  if (help !== undefined) return help;
  if (sub !== 'resume-dlq') throw new UsageError(`unknown worker command ${JSON.stringify(sub)}: resume-dlq`);
  const { values, positionals } = parseCommand(rest, { pid: { type: 'string' }, force: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.pid === undefined) throw new UsageError('resume-dlq needs --pid P');
  const pid = parseWorkerPid(values.pid);
  const signal = constants.signals.SIGUSR2;
  if (!values.force) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && readableProc()) {
        io.err(`no process ${pid}`);
        return exitCodes.failure;
      }
      throw new RefusedError(
        `cannot check whether process ${pid} handles SIGUSR2 (${(error as Error).message}); add --force if it is a fleet worker`,
        false,
      );
    }
    if (catchesSignal(status, signal) !== true) {
      throw new RefusedError(
        `process ${pid} does not handle SIGUSR2, which would terminate it: is it a fleet worker? (add --force to send anyway)`,
        false,
      );
    }
  }
  try {
    process.kill(pid, 'SIGUSR2');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    io.err(
      code === 'ESRCH' ? `no process ${pid}` : `could not signal process ${pid}: ${(error as Error).message}`,
    );
    return exitCodes.failure;
  }
  io.out(
    `sent SIGUSR2 to ${pid}: the worker resumes dead-lettering (look for "operator resumed dead-lettering" in its log)`,
  );
  return exitCodes.ok;
}

function readableProc(): boolean {
  try {
    readFileSync('/proc/self/status', 'utf8');
    return true;
  } catch {
    return false;
  }
}
