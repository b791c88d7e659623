import { Counter, type Registry } from 'prom-client';
import type { RentalEventType } from './ledgerEvent.ts';
import type { LedgerOutcome } from './recordRentalEvent.ts';

/** The ledger's own metrics (docs/rental-ledger.md § Metrics); labels are bounded enums only. */
export interface LedgerMetrics {
  /** One per event recorded: its type and what recording it did. */
  countEvent(type: RentalEventType, outcome: LedgerOutcome): void;
  /** Minor units posted to an account, by the sign of the line (debit or credit). */
  countPosted(account: string, currency: string, amountMinor: number): void;
}

/** Registers the ledger metrics on the worker's registry. */
export function createLedgerMetrics(registry: Registry): LedgerMetrics {
  const registers = [registry];
  const events = new Counter({
    name: 'fleet_ledger_events_total',
    help: 'Rental events recorded, by type and outcome (posted, no_posting, duplicate: same payment or refund under another event id, replayed: same event id again)',
    labelNames: ['type', 'outcome'] as const,
    registers,
  });
  const posted = new Counter({
    name: 'fleet_ledger_posted_minor_total',
    help: 'Money posted, in minor units, by account, currency and side (debit or credit); per currency debits equal credits',
    labelNames: ['account', 'currency', 'side'] as const,
    registers,
  });
  return {
    countEvent: (type, outcome) => events.inc({ type, outcome }),
    countPosted: (account, currency, amountMinor) =>
      posted.inc({ account, currency, side: amountMinor > 0 ? 'debit' : 'credit' }, Math.abs(amountMinor)),
  };
}
