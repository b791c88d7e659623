import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Metric names are a contract with dashboards, alerts and the consumer engine: see
 * docs/metrics.md. Labels are bounded sets only (topic, partition, outcome, reason, …);
 * never a key, vehicle, customer, reservation or offset — `forbiddenLabelNames` guards it.
 */

/** Options of the one registry a process owns. */
export interface MetricsRegistryOptions {
  /** The worker name, added as the `worker` label to every series. */
  worker: string;
  /** Collect Node's default metrics (CPU, memory, GC, event-loop lag); default true. */
  collectDefaultMetrics?: boolean;
}

/** Creates the process's registry: `worker` default label plus Node's default metrics incl. event-loop lag. */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ worker: options.worker });
  if (options.collectDefaultMetrics ?? true) {
    // 10 ms resolution is enough to see loop stalls and costs nothing measurable.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  }
  return registry;
}

/** Buckets in seconds for in-process work (handler, commit, delivery): 1 ms … 30 s. */
const workDurationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Buckets in seconds for record timestamp → processed, with a bucket at each SLO threshold
 * (0.05 s: the P5 latency goal; 1 s: the alerting threshold) so burn rates are exact.
 */
const endToEndLatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/** Breaker state encoded for `fleet_breaker_state`. */
export const breakerStateValue = Object.freeze({ closed: 0, 'half-open': 1, open: 2 });

/** The handles the consumer engine updates. */
export interface ConsumerMetrics {
  messagesConsumed: Counter<'topic'>;
  messagesProcessed: Counter<'topic' | 'outcome'>;
  messagesFailed: Counter<'topic' | 'error_class'>;
  messagesRetried: Counter<'topic'>;
  deadLetters: Counter<'topic' | 'reason'>;
  rebalances: Counter<'type'>;
  handlerDuration: Histogram<'topic'>;
  endToEndLatency: Histogram<'topic'>;
  commitDuration: Histogram<string>;
  inFlight: Gauge<string>;
  queueDepth: Gauge<'topic' | 'partition'>;
  bufferedBytes: Gauge<'topic' | 'partition'>;
  pausedPartitions: Gauge<'reason'>;
  lag: Gauge<'topic' | 'partition'>;
  oldestUnfinishedAge: Gauge<'topic' | 'partition'>;
  uncommitted: Gauge<'topic' | 'partition'>;
  assignedPartitions: Gauge<string>;
  breakerState: Gauge<'breaker'>;
  dlqCapReached: Gauge<'worker'>;
}

/** The handles the producer updates. */
export interface ProducerMetrics {
  messagesSent: Counter<'topic'>;
  sendErrors: Counter<'topic' | 'code'>;
  deliveryDuration: Histogram<'topic'>;
}

// One set of handles per registry: creating them twice (two consumers in one process, tests)
// must not throw "already registered".
const consumerMetricsByRegistry = new WeakMap<Registry, ConsumerMetrics>();
const producerMetricsByRegistry = new WeakMap<Registry, ProducerMetrics>();

/** Registers (once per registry) and returns the consumer engine's metrics. */
export function createConsumerMetrics(registry: Registry): ConsumerMetrics {
  const existing = consumerMetricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: ConsumerMetrics = {
    messagesConsumed: new Counter({
      name: 'fleet_consumer_messages_consumed_total',
      help: 'Records fetched from Kafka and handed to the runtime.',
      labelNames: ['topic'],
      registers,
    }),
    messagesProcessed: new Counter({
      name: 'fleet_consumer_messages_processed_total',
      help: 'Records finished, by outcome (success, dead_lettered, skipped).',
      labelNames: ['topic', 'outcome'],
      registers,
    }),
    messagesFailed: new Counter({
      name: 'fleet_consumer_messages_failed_total',
      help: 'Handler attempts that threw, by error class.',
      labelNames: ['topic', 'error_class'],
      registers,
    }),
    messagesRetried: new Counter({
      name: 'fleet_consumer_messages_retried_total',
      help: 'Retry attempts scheduled after a retriable failure.',
      labelNames: ['topic'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'fleet_consumer_dead_letters_total',
      help: 'Records written to the dead-letter topic, by reason.',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    rebalances: new Counter({
      name: 'fleet_consumer_rebalances_total',
      help: 'Rebalance events seen by this consumer (assign, revoke, lost).',
      labelNames: ['type'],
      registers,
    }),
    handlerDuration: new Histogram({
      name: 'fleet_consumer_handler_duration_seconds',
      help: 'Time spent in the handler per attempt.',
      labelNames: ['topic'],
      buckets: workDurationBuckets,
      registers,
    }),
    endToEndLatency: new Histogram({
      name: 'fleet_consumer_end_to_end_latency_seconds',
      help: 'Record timestamp to processing finished.',
      labelNames: ['topic'],
      buckets: endToEndLatencyBuckets,
      registers,
    }),
    commitDuration: new Histogram({
      name: 'fleet_consumer_commit_duration_seconds',
      help: 'Time an offset commit took.',
      buckets: workDurationBuckets,
      registers,
    }),
    inFlight: new Gauge({
      name: 'fleet_consumer_in_flight',
      help: 'Handler invocations running now.',
      registers,
    }),
    queueDepth: new Gauge({
      name: 'fleet_consumer_queue_depth',
      help: 'Records buffered in the runtime and not yet finished.',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    bufferedBytes: new Gauge({
      name: 'fleet_consumer_buffered_bytes',
      help: 'Bytes of records buffered in the runtime and not yet finished.',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    pausedPartitions: new Gauge({
      name: 'fleet_consumer_paused_partitions',
      help: 'Partitions paused now, by reason (backpressure, breaker, dlq_cap, operator).',
      labelNames: ['reason'],
      registers,
    }),
    lag: new Gauge({
      name: 'fleet_consumer_lag',
      help: 'High watermark minus the consumer position, as this consumer sees it.',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    oldestUnfinishedAge: new Gauge({
      name: 'fleet_consumer_oldest_unfinished_age_seconds',
      help: 'Age of the oldest fetched record not yet finished (0 when none).',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    uncommitted: new Gauge({
      name: 'fleet_consumer_uncommitted_messages',
      help: 'Records received from the committable offset on, finished or not: what a restart would redo (pauses at CONSUMER_PARTITION_MAX_UNCOMMITTED).',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    assignedPartitions: new Gauge({
      name: 'fleet_consumer_assigned_partitions',
      help: 'Partitions currently assigned to this consumer.',
      registers,
    }),
    breakerState: new Gauge({
      name: 'fleet_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
      labelNames: ['breaker'],
      registers,
    }),
    dlqCapReached: new Gauge({
      name: 'fleet_dlq_cap_reached',
      help: 'Whether the worker hit its dead-letter volume cap and stopped dead-lettering (0 or 1).',
      labelNames: ['worker'],
      registers,
    }),
  };
  consumerMetricsByRegistry.set(registry, metrics);
  return metrics;
}

/** Registers (once per registry) and returns the producer's metrics. */
export function createProducerMetrics(registry: Registry): ProducerMetrics {
  const existing = producerMetricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: ProducerMetrics = {
    messagesSent: new Counter({
      name: 'fleet_producer_messages_sent_total',
      help: 'Records the broker acknowledged (delivery report without error).',
      labelNames: ['topic'],
      registers,
    }),
    sendErrors: new Counter({
      name: 'fleet_producer_send_errors_total',
      help: 'Sends that failed, by librdkafka error code name.',
      labelNames: ['topic', 'code'],
      registers,
    }),
    deliveryDuration: new Histogram({
      name: 'fleet_producer_delivery_duration_seconds',
      help: 'Time from send() to the delivery report.',
      labelNames: ['topic'],
      buckets: workDurationBuckets,
      registers,
    }),
  };
  producerMetricsByRegistry.set(registry, metrics);
  return metrics;
}

/** Label names that would make a series per entity or per record (unbounded cardinality, personal data). */
const forbiddenLabelPattern = /key|vehicle|customer|reservation|offset|rental|user|email|token/i;

/** Every `metric{label}` in the registry whose label name is forbidden; empty when the registry is clean. */
export function forbiddenLabelNames(registry: Registry): string[] {
  const found: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    const labelNames = (metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    for (const label of labelNames) {
      if (forbiddenLabelPattern.test(label)) found.push(`${metric.name}{${label}}`);
    }
  }
  return found;
}
