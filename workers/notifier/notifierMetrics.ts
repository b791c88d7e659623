import { Counter, Histogram, type Registry } from 'prom-client';
import type { NotificationTemplate } from './notification.ts';
import type { DeliveryOutcome } from './providerClient.ts';

/** The notifier's own metrics (docs/notifier.md); labels are bounded enums only. */
export interface NotifierMetrics {
  /** One per message the provider took: its template and whether it was sent now, a duplicate or a conflict. */
  countDelivered(template: NotificationTemplate, outcome: DeliveryOutcome): void;
  /** One per call made to the provider, by outcome: ok, rejected (4xx about the message) or unavailable; never a call the open breaker refused. */
  observeCall(outcome: 'ok' | 'rejected' | 'unavailable', seconds: number): void;
}

/** Registers the notifier metrics on the worker's registry. */
export function createNotifierMetrics(registry: Registry): NotifierMetrics {
  const registers = [registry];
  const sent = new Counter({
    name: 'fleet_notifier_notifications_total',
    help: 'Messages the provider took, by template and outcome (sent; duplicate: the idempotency key was known, the customer was told once; conflict: the key was known with other words, told once in those)',
    labelNames: ['template', 'outcome'] as const,
    registers,
  });
  const calls = new Histogram({
    name: 'fleet_notifier_provider_call_duration_seconds',
    help: 'Duration of calls made to the notification provider, by outcome (ok, rejected, unavailable); calls refused by its open breaker are not calls and not counted',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  return {
    countDelivered: (template, outcome) => sent.inc({ template, outcome }),
    observeCall: (outcome, seconds) => calls.observe({ outcome }, seconds),
  };
}
