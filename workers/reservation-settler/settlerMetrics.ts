import { Counter, Histogram, type Registry } from 'prom-client';
import type { BatchFailureKind } from './recoveringBatchSettler.ts';
import type { Settlement } from './settlement.ts';

/** The settler's own metrics (docs/settler.md); labels are bounded enums only. */
export interface SettlerMetrics {
  /** One per settled command: what was decided, and whether it was a replay of an earlier decision. */
  countSettlement(settlement: Settlement): void;
  /** One per batch transaction: how many commands it carried and how long it took. */
  observeBatch(size: number, durationMs: number): void;
  /** One per batch that needed recovery. */
  countBatchFailure(kind: BatchFailureKind): void;
  /** Requests the one-statement fast path decided (the rest went through the locked transaction). */
  countFastPathDecisions(count: number): void;
}

/** Registers the settler metrics on the worker's registry. */
export function createSettlerMetrics(registry: Registry): SettlerMetrics {
  const registers = [registry];
  const settlements = new Counter({
    name: 'fleet_settler_settlements_total',
    help: 'Settled commands by outcome, rejection reason (none unless rejected) and whether the decision was replayed',
    labelNames: ['outcome', 'reason', 'replayed'] as const,
    registers,
  });
  const batchSize = new Histogram({
    name: 'fleet_settler_batch_size',
    help: 'Commands settled per database transaction',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers,
  });
  const batchDuration = new Histogram({
    name: 'fleet_settler_batch_duration_seconds',
    help: 'Duration of a settlement batch, from its first statement to the end of its transaction',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const batchFailures = new Counter({
    name: 'fleet_settler_batch_failures_total',
    help: 'Settlement batches that needed recovery: conflict (deadlock/serialization, rerun), unavailable (PostgreSQL down), isolated (rerun one command per transaction)',
    labelNames: ['kind'] as const,
    registers,
  });
  const fastPathDecisions = new Counter({
    name: 'fleet_settler_fast_path_decisions_total',
    help: 'Requests decided by the one-statement fast path; the other settlements went through the locked transaction',
    registers,
  });
  return {
    countSettlement: (settlement) =>
      settlements.inc({
        outcome: settlement.outcome,
        reason: settlement.reason ?? 'none',
        replayed: String(settlement.replayed),
      }),
    observeBatch: (size, durationMs) => {
      batchSize.observe(size);
      batchDuration.observe(durationMs / 1000);
    },
    countBatchFailure: (kind) => batchFailures.inc({ kind }),
    countFastPathDecisions: (count) => fastPathDecisions.inc(count),
  };
}
