import type pg from 'pg';
import type { Registry } from 'prom-client';
import { clientQueryTimeoutMs, defaultConnectionTimeoutMs } from '../../db/pool.ts';
import { isConnectionFailure, postgresDependency } from '../../db/postgresFailures.ts';
import { GroupCommitBatcher } from '../runtime/batching/groupCommitBatcher.ts';
import type { Logger } from '../runtime/observability/logger.ts';
import type { BreakerRegistry } from '../runtime/resilience/breakerRegistry.ts';
import { createCircuitBreaker } from '../runtime/resilience/circuitBreaker.ts';
import { resilienceLoggerFor } from '../runtime/resilience/resilienceLogger.ts';
import { recoveringBatchSettler } from './recoveringBatchSettler.ts';
import { settleCommandBatch } from './settleCommandBatch.ts';
import type { CommandResult, Settlement } from './settlement.ts';
import type { SettlementCommand } from './settlementCommand.ts';
import type { SettlementClock } from './settleReservationBatch.ts';
import type { SettlerSettings } from './settlerConfig.ts';
import type { SettlerMetrics } from './settlerMetrics.ts';

/** The settlement path of one process: batcher → recovery → PostgreSQL breaker → one statement and at most one transaction per batch. */
export interface SettlementPipeline {
  /** Settles one command with whatever else is waiting; resolves after its batch committed. */
  settle(command: SettlementCommand): Promise<Settlement>;
  /** Settles what was submitted and stops taking commands (the pool stays the caller's). */
  close(): Promise<void>;
}

/** What the pipeline is built from (the worker passes its runtime resources; the P3 benchmark its own). */
export interface SettlementPipelineDeps {
  pool: pg.Pool;
  settings: SettlerSettings;
  breakers: BreakerRegistry;
  registry: Registry;
  metrics: SettlerMetrics;
  logger: Logger;
  clock: SettlementClock;
}

/**
 * Round trips of one batch at most, each bounded by the pool's query timeout: the fast path, then
 * BEGIN, lock, read, record missing requests, lock and read those, find and record
 * cancellations, decide, COMMIT (settleCommandBatch, settleReservationBatch).
 */
const mostStatementsPerBatch = 11;

/** Pool connections one batch acquires at most: the fast path's, then the transaction's. */
const connectionsPerBatch = 2;

/** Composes the settlement path; the worker's handler and the P3 benchmark both settle through it. */
export function createSettlementPipeline(deps: SettlementPipelineDeps): SettlementPipeline {
  const { pool, settings, metrics, logger } = deps;
  const breaker = deps.breakers.add(
    createCircuitBreaker(
      postgresDependency,
      (_signal: AbortSignal, commands: SettlementCommand[]): Promise<CommandResult[]> =>
        settleCommandBatch(pool, commands, deps.clock, {
          policy: settings.policy,
          onFastDecisions: (count) => metrics.countFastPathDecisions(count),
        }),
      {
        // The breaker's own timeout only catches a connection that hangs without an error: it
        // must never cut a batch whose waits all stay within their own bounds (each connection
        // wait, each statement's query timeout), or the batch would be rerun while its first run
        // still holds (and may commit) its locks.
        timeoutMs:
          connectionsPerBatch * defaultConnectionTimeoutMs +
          mostStatementsPerBatch * clientQueryTimeoutMs(settings.statementTimeoutMs),
        isFailure: isConnectionFailure,
        registry: deps.registry,
        logger: resilienceLoggerFor(logger),
      },
    ),
  );
  const settleBatch = recoveringBatchSettler(
    (commands) => breaker.fire(commands),
    settings.recovery,
    (kind, error) => {
      metrics.countBatchFailure(kind);
      logger.warn({ kind, err: (error as Error).message }, 'settlement batch failed; recovering');
    },
  );
  const batcher = new GroupCommitBatcher<SettlementCommand, Settlement>(
    settings.batching,
    settleBatch,
    // Vehicle: serial per vehicle; reservation: a request and its cancellation never race.
    (command) => [`vehicle:${command.vehicleId}`, `reservation:${command.reservationId}`],
    (size, durationMs) => metrics.observeBatch(size, durationMs),
  );
  return {
    settle: (command) => batcher.submit(command),
    close: () => batcher.close(),
  };
}
