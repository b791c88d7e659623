import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The ingress latency SLO (seconds): 99% of API requests answered within it (dashboards/prometheus/rules/recording.yml reads this bucket). */
export const ingressLatencySloSeconds = 0.25;

/** Request duration buckets: 1 ms … 10 s, with the SLO (0.25 s) and the P5 end-to-end goal (0.05 s) as exact edges. */
export const requestDurationBuckets = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Outcomes of POST /v1/reservations (a bounded label set). */
export type ReservationOutcome =
  | 'accepted'
  | 'replayed'
  | 'quota_exceeded'
  | 'key_reused'
  | 'unknown_vehicle'
  | 'enqueue_failed';

/** The ingress's metrics. Labels are route templates and small fixed sets only: never a path, customer, vehicle or reservation. */
export interface IngressMetrics {
  requests: Counter<'route' | 'method' | 'status'>;
  requestDuration: Histogram<'route' | 'method'>;
  rateLimitFallback: Gauge;
  rateLimited: Counter<'policy'>;
  enqueueFailures: Counter<'reason'>;
  reservationOutcomes: Counter<'outcome'>;
  relayedRequests: Counter<'outcome'>;
}

/** Registers the ingress metrics on the process registry (once per registry). */
export function createIngressMetrics(registry: Registry): IngressMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route template, method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: `HTTP request duration by route template and method; the ${ingressLatencySloSeconds} s bucket is the ingress SLO.`,
      labelNames: ['route', 'method'],
      buckets: requestDurationBuckets,
      registers,
    }),
    rateLimitFallback: new Gauge({
      name: 'fleet_ingress_rate_limit_fallback',
      help: '1 while rate limits are enforced per instance because Redis is unreachable, else 0.',
      registers,
    }),
    rateLimited: new Counter({
      name: 'fleet_ingress_rate_limited_total',
      help: 'Requests refused with 429, by the policy that refused them (customer or ip).',
      labelNames: ['policy'],
      registers,
    }),
    enqueueFailures: new Counter({
      name: 'fleet_ingress_enqueue_failures_total',
      help: 'Commands not enqueued on Kafka (answered 503 or 500), by reason.',
      labelNames: ['reason'],
      registers,
    }),
    reservationOutcomes: new Counter({
      name: 'fleet_ingress_reservation_requests_total',
      help: 'POST /v1/reservations outcomes (accepted, replayed, quota_exceeded, key_reused, unknown_vehicle, enqueue_failed).',
      labelNames: ['outcome'],
      registers,
    }),
    relayedRequests: zeroed(
      new Counter({
        name: 'fleet_ingress_relayed_requests_total',
        help: 'Stale pending requests whose command the relay produced again (published) or could not (failed).',
        labelNames: ['outcome'],
        registers,
      }),
      ['published', 'failed'],
    ),
  };
}

/**
 * Exports a counter's series at 0 from the start: a series born at 1 has no earlier sample, so
 * increase() over it stays 0 and an alert on the first occurrence would never fire.
 */
function zeroed(counter: Counter<'outcome'>, outcomes: readonly string[]): Counter<'outcome'> {
  for (const outcome of outcomes) counter.inc({ outcome }, 0);
  return counter;
}

const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** A method label from a bounded set (anything exotic counts as OTHER). */
export function methodLabel(method: string): string {
  return knownMethods.has(method) ? method : 'OTHER';
}
