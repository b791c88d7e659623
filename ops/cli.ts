import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../workers/runtime/config/configError.ts';
import { type CliIo, exitCodes, RefusedError, UsageError } from './cliSupport.ts';
import { runSchemasCommand, runTopicsCommand } from './commands/delegatedCommands.ts';
import { dlqUsage, runDlqCommand } from './commands/dlqCommand.ts';
import { groupUsage, runGroupCommand } from './commands/groupCommand.ts';
import { lagUsage, runLagCommand } from './commands/lagCommand.ts';
import { ledgerUsage, runLedgerCommand } from './commands/ledgerCommand.ts';
import { pendingUsage, runPendingCommand } from './commands/pendingCommand.ts';
import { runTokenCommand, tokenUsage } from './commands/tokenCommand.ts';
import { runWorkerCommand, workerUsage } from './commands/workerCommand.ts';

export const usage = `usage: npm run -s ops -- <command> [options]    (or: node ops/cli.ts <command> … on Node.js 24)

  lag                     consumer lag, statuses and desired replicas per group
  dlq list|inspect|replay dead letters: see them, read one, move them back exactly once
  dlq blocks              partitions a tripped DLQ cap holds paused, fleet-wide
  group reset-offsets     move a stopped group's offsets to a point in time
  worker resume-dlq       tell a worker to resume dead-lettering after its DLQ cap
  pending                 reservation requests still pending, and what the relay re-produced
  ledger [--rental ID]    the rental ledger's trial balance, or one rental's events and postings
  topics plan|apply       the topic catalog tool (topics/)
  schemas check|register  the schema tool (schemas/)
  token                   a development JWT for the local ingress

  ops <command> --help shows a command's options and exit codes.

exit status (every command but topics, schemas and token, which keep their own): 0 done;
1 failed (a service unreachable, an operation failed); 2 bad arguments or configuration;
3 refused on purpose (a precondition does not hold: active group members, a replay running).`;

/** Usage per command, for `ops help <command>`. */
const usages: Record<string, string> = {
  lag: lagUsage,
  dlq: dlqUsage,
  group: groupUsage,
  worker: workerUsage,
  pending: pendingUsage,
  ledger: ledgerUsage,
  token: tokenUsage,
};

/** Runs `ops` with `argv` (without node and script); resolves to the exit status. */
export async function runOpsCli(
  argv: readonly string[],
  io: CliIo = { env: process.env, out: console.log, err: console.error },
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        io.err(usage);
        return exitCodes.usage;
      case '--help':
      case '-h':
        io.out(usage);
        return exitCodes.ok;
      case 'help': {
        const topic = rest[0];
        io.out(topic !== undefined && usages[topic] ? usages[topic] : usage);
        return exitCodes.ok;
      }
      case 'lag':
        return await runLagCommand(rest, io);
      case 'dlq':
        return await runDlqCommand(rest, io);
      case 'group':
        return await runGroupCommand(rest, io);
      case 'worker':
        return await runWorkerCommand(rest, io);
      case 'pending':
        return await runPendingCommand(rest, io);
      case 'ledger':
        return await runLedgerCommand(rest, io);
      case 'topics':
        return await runTopicsCommand(rest, io);
      case 'schemas':
        return await runSchemasCommand(rest, io);
      case 'token':
        return runTokenCommand(rest, io);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    return reportFailure(error, command, io);
  }
}

/** Turns an error into its message and exit status; never a stack trace for expected failures. */
function reportFailure(error: unknown, command: string | undefined, io: CliIo): number {
  const prefix = `ops ${command ?? ''}`.trimEnd();
  if (error instanceof UsageError) {
    const help = command !== undefined && usages[command] ? usages[command] : usage;
    io.err(`${prefix}: ${error.message}\n\n${help}`);
    return exitCodes.usage;
  }
  if (error instanceof ConfigError) {
    io.err(`${prefix}: ${error.message}`);
    return exitCodes.usage;
  }
  if (error instanceof RefusedError) {
    io.err(`${prefix}: refused: ${error.message}`);
    return exitCodes.refused;
  }
  const retriable = (error as { retriable?: unknown }).retriable === true;
  io.err(
    `${prefix}: ${(error as Error).message ?? String(error)}${retriable ? '\n(retriable: try again)' : ''}`,
  );
  return exitCodes.failure;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await runOpsCli(process.argv.slice(2));
}
