import type pg from 'pg';
import type { Registry } from 'prom-client';
import {
  isPostgresUnavailable,
  postgresDependency,
  postgresProcessingFailure,
} from '../../db/postgresFailures.ts';
import type { RentalEvent } from '../../schemas/generated/types.ts';
import type { MessageHandler } from '../runtime/consumer/consumedMessage.ts';
import type { Logger } from '../runtime/observability/logger.ts';
import type { BreakerRegistry } from '../runtime/resilience/breakerRegistry.ts';
import { createCircuitBreaker } from '../runtime/resilience/circuitBreaker.ts';
import { resilienceLoggerFor } from '../runtime/resilience/resilienceLogger.ts';
import { type LedgerEvent, toLedgerEvent } from './ledgerEvent.ts';
import type { LedgerMetrics } from './ledgerMetrics.ts';
import { type LedgerRecord, recordRentalEvent } from './recordRentalEvent.ts';

/** What the ledger's handler needs. */
export interface LedgerHandlerDeps {
  pool: pg.Pool;
  breakers: BreakerRegistry;
  registry: Registry;
  metrics: LedgerMetrics;
  logger: Logger;
  /** The breaker's per-call ceiling: the statements of one event, each bounded by the statement timeout. */
  callTimeoutMs: number;
}

/**
 * The ledger's message handler: validate the event, record it (and post its money) in one
 * transaction through the PostgreSQL breaker, then count it. When PostgreSQL is down the breaker
 * opens and the runtime pauses the partitions instead of dead-lettering events; an event the
 * ledger can never post is dead-lettered with the reason.
 */
export function createLedgerHandler(deps: LedgerHandlerDeps): MessageHandler<RentalEvent> {
  const { metrics, logger } = deps;
  const breaker = deps.breakers.add(
    createCircuitBreaker(
      postgresDependency,
      (_signal: AbortSignal, event: LedgerEvent): Promise<LedgerRecord> =>
        recordRentalEvent(deps.pool, event),
      {
        timeoutMs: deps.callTimeoutMs,
        isFailure: isPostgresUnavailable,
        registry: deps.registry,
        logger: resilienceLoggerFor(logger),
      },
    ),
  );
  return async (message) => {
    const event = toLedgerEvent(message);
    let record: LedgerRecord;
    try {
      record = await breaker.fire(event);
    } catch (error) {
      throw postgresProcessingFailure(error, {
        conflict: 'LEDGER_CONFLICT',
        refused: 'LEDGER_REFUSED_BY_DATABASE',
        failed: 'LEDGER_FAILED',
      });
    }
    metrics.countEvent(event.type, record.outcome);
    for (const line of record.postings) metrics.countPosted(line.account, line.currency, line.amountMinor);
    logger.debug(
      {
        eventId: event.eventId,
        rentalId: event.rentalId,
        type: event.type,
        outcome: record.outcome,
        correlationId: event.correlationId,
      },
      'rental event recorded',
    );
  };
}
