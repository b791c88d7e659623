import { Counter, Histogram, type Registry } from 'prom-client';
import type { NotificationTemplate } from './notification.ts';

/** The notifier's own metrics (docs/notifier.md); labels are bounded enums only. */
export interface NotifierMetrics {
  /** One per message the provider accepted: its template and whether it was new or a duplicate key. */
  countSent(template: NotificationTemplate, duplicate: boolean): void;
  /** One per provider call, by outcome: ok, rejected (4xx about the message) or unavailable. */
  observeCall(outcome: 'ok' | 'rejected' | 'unavailable', seconds: number): void;
}

/** Registers the notifier metrics on the worker's registry. */
export function createNotifierMetrics(registry: Registry): NotifierMetrics {
  const registers = [registry];
  const sent = new Counter({
    name: 'fleet_notifier_notifications_total',
    help: 'Messages the provider accepted, by template and outcome (sent, or duplicate: the idempotency key was known, the customer was told once)',
    labelNames: ['template', 'outcome'] as const,
    registers,
  });
  const calls = new Histogram({
    name: 'fleet_notifier_provider_call_duration_seconds',
    help: 'Duration of calls to the notification provider, by outcome (ok, rejected, unavailable)',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  return {
    countSent: (template, duplicate) => sent.inc({ template, outcome: duplicate ? 'duplicate' : 'sent' }),
    observeCall: (outcome, seconds) => calls.observe({ outcome }, seconds),
  };
}
