import { setTimeout as sleep } from 'node:timers/promises';
import { isConnectionFailure, isTransientConflict } from '../../db/postgresFailures.ts';
import { DependencyUnavailableError, RetriableError } from '../runtime/errors/processingErrors.ts';
import type { CommandResult } from './settlement.ts';
import type { SettlementCommand } from './settlementCommand.ts';
import { commandFailure } from './settlementErrors.ts';

/** How a failed batch transaction is recovered. */
export interface BatchRecoveryOptions {
  /** Tries of a batch whose transaction hit a deadlock or serialization failure, before each command is handed back to the runtime's retry. */
  attempts: number;
  /** Base pause between those tries (jittered), so the transactions that collided fall out of step. */
  retryDelayMs: number;
}

/** Why a batch needed recovery (a bounded metric label). */
export type BatchFailureKind = 'conflict' | 'unavailable' | 'isolated';

/** Runs one batch transaction (through the PostgreSQL breaker in production). */
export type BatchTransaction = (commands: SettlementCommand[]) => Promise<CommandResult[]>;

/**
 * Wraps the batch transaction with recovery, so one command's trouble never becomes its
 * neighbours': a deadlock or serialization failure reruns the whole batch (every statement
 * rolled back, nothing half-decided); PostgreSQL being down fails every command as
 * "dependency unavailable" (the runtime pauses, nothing is dead-lettered); any other failure
 * reruns each command in a transaction of its own, so only the command that cannot be settled
 * fails, with its own error.
 */
export function recoveringBatchSettler(
  transact: BatchTransaction,
  options: BatchRecoveryOptions,
  onFailure: (kind: BatchFailureKind, error: unknown) => void = () => {},
): (commands: SettlementCommand[]) => Promise<CommandResult[]> {
  const settle = async (commands: SettlementCommand[]): Promise<CommandResult[]> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await transact(commands);
      } catch (error) {
        if (error instanceof DependencyUnavailableError || isConnectionFailure(error)) {
          onFailure('unavailable', error);
          const failure = commandFailure(error);
          return commands.map(() => ({ ok: false, error: failure }));
        }
        if (isTransientConflict(error) || error instanceof RetriableError) {
          onFailure('conflict', error);
          if (attempt < options.attempts) {
            await sleep(Math.round(options.retryDelayMs * attempt * (0.5 + Math.random())));
            continue;
          }
          const failure = commandFailure(error);
          return commands.map(() => ({ ok: false, error: failure }));
        }
        if (commands.length === 1) return [{ ok: false, error: commandFailure(error) }];
        onFailure('isolated', error);
        const results: CommandResult[] = [];
        for (const command of commands) results.push(...(await settle([command])));
        return results;
      }
    }
  };
  return settle;
}
