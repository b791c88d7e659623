import type { DashboardSpec, PanelSpec, QuerySpec } from './dashboardModel.ts';

/**
 * The four fleetstream dashboards. Every query reads a metric of docs/metrics.md or of the list in
 * dashboards/README.md (panelQueries.test.ts enforces it), selects processes by `job` (Prometheus'
 * label, equal to the worker name) or groups by `worker` (the runtime's label), and never by
 * anything per record. Rates use `$__rate_interval` so a 5 s local scrape and a 30 s production
 * scrape both give at least four samples per window.
 */

const rate = '$__rate_interval';
const fleetJobs = 'ingress|reservation-settler|rental-ledger|notifier|lag-monitor';
const commandsTopic = 'fleet.reservation.commands.v1';
const eventsTopic = 'fleet.reservation.events.v1';
const settlerGroup = 'fleet.reservation-settler';
/** The /v1 API, without probes and scrapes: the same selection as the SLO recording rules. */
const api = 'job="ingress",route=~"/v1/.+"';

/** p50 and p99 of a histogram, grouped by `by` (plus `le`). */
function quantiles(metric: string, selector: string, by: string, legend: string): QuerySpec[] {
  const sel = selector ? `{${selector}}` : '';
  return [0.5, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${by}${by ? ', ' : ''}le) (rate(${metric}_bucket${sel}[${rate}])))`,
    legend: `p${q * 100} ${legend}`.trim(),
  }));
}

/** Share of observations above `le` (a bucket boundary that exists), by `by`. */
function shareAbove(metric: string, selector: string, le: string, by: string): string {
  const inner = selector ? `${selector},` : '';
  return `1 - (sum by (${by}) (rate(${metric}_bucket{${inner}le="${le}"}[${rate}])) / sum by (${by}) (rate(${metric}_count${selector ? `{${selector}}` : ''}[${rate}])))`;
}

const breakerStates = [
  { value: 0, text: 'closed', color: 'green' },
  { value: 1, text: 'half-open', color: 'yellow' },
  { value: 2, text: 'open', color: 'red' },
];

const zeroOrOne = [
  { value: 0, text: 'no', color: 'green' },
  { value: 1, text: 'yes', color: 'red' },
];

// ---------------------------------------------------------------------------------------------
// Fleet overview: golden signals per worker.

const overviewAvailability: PanelSpec[] = [
  {
    type: 'stat',
    title: 'Targets up',
    description:
      'Scrape targets answering, per job (Prometheus `up`). 0 means every instance of that process is down or hung; alerts FleetTargetDown / FleetWorkerUnavailable.',
    queries: [{ expr: `sum by (job) (up{job=~"${fleetJobs}"})`, legend: '{{job}}', instant: true }],
    baseColor: 'red',
    thresholds: [{ value: 1, color: 'green' }],
    width: 12,
    height: 5,
  },
  {
    type: 'stat',
    title: 'Degraded workers',
    description:
      'fleet_worker_degraded by worker and reason: 1 while a worker runs with a weaker guarantee (dlq_cap, the one reason exported: dead-lettering stopped and readiness fails).',
    queries: [
      {
        expr: 'max by (worker, reason) (fleet_worker_degraded)',
        legend: '{{worker}} {{reason}}',
        instant: true,
      },
    ],
    mappings: zeroOrOne,
    width: 12,
    height: 5,
  },
];

const overviewTraffic: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Records processed per second',
    description:
      'Records finished by each worker (any outcome), i.e. the offsets that may be committed. Compare with the consumed rate below: processed lower than consumed for long means work piles up inside the worker.',
    queries: [
      {
        expr: `sum by (worker) (rate(fleet_consumer_messages_processed_total[${rate}]))`,
        legend: '{{worker}}',
      },
    ],
    unit: 'ops',
  },
  {
    type: 'timeseries',
    title: 'Records consumed per second',
    description: 'Records fetched from Kafka and handed to the runtime, per worker and topic.',
    queries: [
      {
        expr: `sum by (worker, topic) (rate(fleet_consumer_messages_consumed_total[${rate}]))`,
        legend: '{{worker}} {{topic}}',
      },
    ],
    unit: 'ops',
  },
  {
    type: 'timeseries',
    title: 'Ingress requests per second by route',
    description: 'HTTP requests answered by the ingress per route template and method (all statuses).',
    queries: [
      {
        expr: `sum by (route, method) (rate(http_requests_total{job="ingress"}[${rate}]))`,
        legend: '{{method}} {{route}}',
      },
    ],
    unit: 'reqps',
  },
  {
    type: 'timeseries',
    title: 'Records produced per second',
    description:
      'Records acknowledged by the broker (acks=all) per producing worker and topic; DLQ writes show up as `<topic>.dlq`.',
    queries: [
      {
        expr: `sum by (worker, topic) (rate(fleet_producer_messages_sent_total[${rate}]))`,
        legend: '{{worker}} → {{topic}}',
      },
    ],
    unit: 'ops',
  },
];

const overviewErrors: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Handler failures per second by error class',
    description:
      'Handler attempts that threw, by worker and error class. Retriable classes are retried with backoff; PermanentError and PoisonMessageError go to the DLQ. Empty while nothing fails.',
    queries: [
      {
        expr: `sum by (worker, error_class) (rate(fleet_consumer_messages_failed_total[${rate}]))`,
        legend: '{{worker}} {{error_class}}',
      },
    ],
    unit: 'ops',
  },
  {
    type: 'timeseries',
    title: 'Outcomes other than success',
    description:
      'Share of finished records per worker that were dead-lettered rather than processed successfully (0 when all succeed).',
    queries: [
      {
        expr: `(sum by (worker) (rate(fleet_consumer_messages_processed_total{outcome!="success"}[${rate}])) or sum by (worker) (rate(fleet_consumer_messages_processed_total[${rate}])) * 0) / sum by (worker) (rate(fleet_consumer_messages_processed_total[${rate}]))`,
        legend: '{{worker}}',
      },
    ],
    unit: 'percentunit',
    min: 0,
  },
  {
    type: 'timeseries',
    title: 'Ingress 5xx ratio',
    description:
      'Share of /v1 requests answered with a 5xx (503 when Kafka did not acknowledge). The availability SLO allows 0.1 % over 30 days (dashed line).',
    queries: [
      {
        expr: `(sum(rate(http_requests_total{${api},status=~"5.."}[${rate}])) or vector(0)) / sum(rate(http_requests_total{${api}}[${rate}]))`,
        legend: '5xx ratio',
      },
    ],
    unit: 'percentunit',
    min: 0,
    thresholds: [{ value: 0.001, color: 'red' }],
    showThresholds: true,
  },
  {
    type: 'timeseries',
    title: 'Producer send errors per second',
    description:
      'Failed sends by worker, topic and librdkafka code (ERR__MSG_TIMED_OUT: broker unreachable; ERR_UNKNOWN_TOPIC_OR_PART: topic missing). Empty while every send succeeds.',
    queries: [
      {
        expr: `sum by (worker, topic, code) (rate(fleet_producer_send_errors_total[${rate}]))`,
        legend: '{{worker}} {{topic}} {{code}}',
      },
    ],
    unit: 'ops',
  },
];

const overviewLatency: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Handler duration p50 / p99 by worker',
    description:
      'Time spent in the handler per attempt (fleet_consumer_handler_duration_seconds), per worker.',
    queries: quantiles('fleet_consumer_handler_duration_seconds', '', 'worker', '{{worker}}'),
    unit: 's',
  },
  {
    type: 'timeseries',
    title: 'End-to-end latency p50 / p99 by worker',
    description:
      'Record timestamp → processing finished, per worker. Includes time waiting in Kafka, so a backlog shows here first. Alert FleetEndToEndLatencySLO watches the share above 1 s.',
    queries: quantiles('fleet_consumer_end_to_end_latency_seconds', '', 'worker', '{{worker}}'),
    unit: 's',
    thresholds: [{ value: 1, color: 'red' }],
    showThresholds: true,
  },
  {
    type: 'timeseries',
    title: 'Ingress latency p50 / p99',
    description:
      'Time to answer /v1 requests (the ingress answers 202 only after the broker acknowledged). Latency SLO: p99 under 250 ms (dashed line).',
    queries: quantiles('http_request_duration_seconds', api, '', ''),
    unit: 's',
    thresholds: [{ value: 0.25, color: 'red' }],
    showThresholds: true,
  },
  {
    type: 'timeseries',
    title: 'Produce delivery p50 / p99 by worker',
    description: 'Time from send() to the broker acknowledgement (queueing + linger + acks=all round trip).',
    queries: quantiles('fleet_producer_delivery_duration_seconds', '', 'worker', '{{worker}}'),
    unit: 's',
  },
  {
    type: 'heatmap',
    title: 'End-to-end latency distribution',
    description:
      'How many records finished in each latency bucket per interval, all workers. Bands above 1 s are records that waited in a backlog.',
    queries: [
      {
        expr: `sum by (le) (increase(fleet_consumer_end_to_end_latency_seconds_bucket[${rate}]))`,
        legend: '{{le}}',
        format: 'heatmap',
      },
    ],
    unit: 's',
    width: 24,
  },
];

const overviewSaturation: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Handlers in flight',
    description: 'Handler invocations running now per worker, bounded by the configured concurrency.',
    queries: [{ expr: 'sum by (worker) (fleet_consumer_in_flight)', legend: '{{worker}}' }],
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Paused partitions by reason',
    description:
      'Partitions paused now per worker and reason: backpressure (buffer full, normal under load), breaker (dependency down), dlq_cap (dead-letter cap), draining (shutdown).',
    queries: [
      {
        expr: 'sum by (worker, reason) (fleet_consumer_paused_partitions)',
        legend: '{{worker}} {{reason}}',
      },
    ],
    stacked: true,
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Records buffered in the runtime',
    description:
      'Records fetched but not finished per worker (fleet_consumer_queue_depth summed over partitions). Bounded by the buffer limits; backpressure pauses fetching when full.',
    queries: [{ expr: 'sum by (worker) (fleet_consumer_queue_depth)', legend: '{{worker}}' }],
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Buffered bytes',
    description: 'Bytes of buffered records per worker: the byte bound that triggers backpressure pauses.',
    queries: [{ expr: 'sum by (worker) (fleet_consumer_buffered_bytes)', legend: '{{worker}}' }],
    unit: 'bytes',
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Oldest unfinished record age',
    description:
      'Age of the oldest fetched but unfinished record, worst partition per worker. A stuck key shows here before lag grows (alert FleetStuckPartition above 120 s).',
    queries: [
      {
        expr: 'max by (worker) (fleet_consumer_oldest_unfinished_age_seconds)',
        legend: '{{worker}}',
      },
    ],
    unit: 's',
    thresholds: [{ value: 120, color: 'red' }],
    showThresholds: true,
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Event-loop lag p99',
    description:
      'p99 event-loop delay per process (Node default metrics, 10 ms resolution). Everything in the process waits this long; alert FleetEventLoopLagHigh above 200 ms.',
    queries: [
      {
        expr: 'max by (worker, instance) (nodejs_eventloop_lag_p99_seconds)',
        legend: '{{worker}} {{instance}}',
      },
    ],
    unit: 's',
    thresholds: [{ value: 0.2, color: 'red' }],
    showThresholds: true,
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'CPU per process',
    description: 'CPU seconds per second per process (1 = one core busy). The machine has 2 cores locally.',
    queries: [
      {
        expr: `sum by (worker, instance) (rate(process_cpu_seconds_total{job=~"${fleetJobs}"}[${rate}]))`,
        legend: '{{worker}} {{instance}}',
      },
    ],
    unit: 'short',
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Resident memory per process',
    description:
      'RSS per process. Flat under a steady backlog is the goal (benchmark P6: ≤ 256 MB while draining).',
    queries: [
      {
        expr: `max by (worker, instance) (process_resident_memory_bytes{job=~"${fleetJobs}"})`,
        legend: '{{worker}} {{instance}}',
      },
    ],
    unit: 'bytes',
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Heap used per process',
    description: 'V8 heap in use per process; a sawtooth is GC, a rising floor is a leak.',
    queries: [
      {
        expr: `sum by (worker, instance) (nodejs_heap_size_used_bytes{job=~"${fleetJobs}"})`,
        legend: '{{worker}} {{instance}}',
      },
    ],
    unit: 'bytes',
    width: 8,
  },
];

export const fleetOverview: DashboardSpec = {
  uid: 'fleet-overview',
  title: 'fleetstream / Fleet overview',
  description: 'Golden signals per worker: traffic, errors, latency and saturation of the whole fleet.',
  tags: ['fleetstream'],
  rows: [
    { title: 'Availability', panels: overviewAvailability },
    { title: 'Traffic', panels: overviewTraffic },
    { title: 'Errors', panels: overviewErrors },
    { title: 'Latency', panels: overviewLatency },
    { title: 'Saturation', panels: overviewSaturation },
  ],
};

// ---------------------------------------------------------------------------------------------
// Kafka lag: per group and partition, Burrow-style status, autoscaling.

const lagGroups: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Group lag (seconds)',
    description:
      'Age of the oldest unconsumed record per consumer group, from the lag monitor (interpolated from offset timestamps; unknown is a gap, never 0). SLO 60 s (dashed); alert FleetConsumerLagHigh when above and growing.',
    queries: [
      {
        expr: 'max by (consumergroup) (kafka_consumergroup_group_lag_seconds)',
        legend: '{{consumergroup}}',
      },
    ],
    unit: 's',
    thresholds: [{ value: 60, color: 'red' }],
    showThresholds: true,
  },
  {
    type: 'timeseries',
    title: 'Group lag (messages)',
    description:
      'Unconsumed records per consumer group: log-end offset − committed offset, summed over partitions.',
    queries: [
      {
        expr: 'sum by (consumergroup) (kafka_consumergroup_lag)',
        legend: '{{consumergroup}}',
      },
    ],
    unit: 'short',
  },
  {
    type: 'table',
    title: 'Group status',
    description:
      'Burrow-style status per group (its worst partition): OK, WARN (lag not shrinking), STALL (committed offset not moving), STOP (no commits), REWIND (offset went back).',
    queries: [
      {
        expr: 'max by (consumergroup, status) (fleet_lag_group_status) == 1',
        instant: true,
        format: 'table',
      },
    ],
    width: 8,
  },
  {
    type: 'bargauge',
    title: 'Partitions per status',
    description: 'How many partitions the lag monitor judges in each status, all groups.',
    queries: [{ expr: 'sum by (status) (fleet_lag_partition_status)', legend: '{{status}}', instant: true }],
    width: 8,
  },
  {
    type: 'stat',
    title: 'Lag monitor',
    description:
      'Whether the lag monitor is scraped (`up`) and can read offsets (fleet_lag_monitor_up). When either is 0, lag panels and lag alerts are blind (alert FleetLagMonitorDown).',
    queries: [
      { expr: 'max(up{job="lag-monitor"})', legend: 'scraped', instant: true },
      { expr: 'max(fleet_lag_monitor_up)', legend: 'reading Kafka', instant: true },
    ],
    mappings: [
      { value: 0, text: 'down', color: 'red' },
      { value: 1, text: 'up', color: 'green' },
    ],
    width: 8,
  },
];

const lagPartitions: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Partition lag (seconds)',
    description:
      'Time lag per group, topic and partition. One partition far above the others points at a hot or stuck key.',
    queries: [
      {
        expr: 'max by (consumergroup, topic, partition) (kafka_consumergroup_lag_seconds)',
        legend: '{{consumergroup}} {{topic}}[{{partition}}]',
      },
    ],
    unit: 's',
  },
  {
    type: 'timeseries',
    title: 'Partition lag (messages)',
    description: 'Offset lag per group, topic and partition, as the broker sees it.',
    queries: [
      {
        expr: 'max by (consumergroup, topic, partition) (kafka_consumergroup_lag)',
        legend: '{{consumergroup}} {{topic}}[{{partition}}]',
      },
    ],
    unit: 'short',
  },
  {
    type: 'table',
    title: 'Partition status',
    description:
      'Every partition with its current status; sort by status to find STALL/STOP (alert FleetPartitionStalled) and REWIND (FleetPartitionRewound).',
    queries: [
      {
        expr: 'max by (consumergroup, topic, partition, status) (fleet_lag_partition_status) == 1',
        instant: true,
        format: 'table',
      },
    ],
  },
  {
    type: 'timeseries',
    title: 'Lag as each consumer sees it',
    description:
      'High watermark − position per worker and topic, from the workers themselves (fleet_consumer_lag): live, no admin call; complements the monitor above.',
    queries: [
      {
        expr: 'sum by (worker, topic) (fleet_consumer_lag)',
        legend: '{{worker}} {{topic}}',
      },
    ],
    unit: 'short',
  },
];

const lagScaling: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Replicas: desired vs KEDA formula vs members',
    description:
      'Per group: desired replicas from the lag monitor (the KEDA/HPA signal: drain time at observed throughput, smoothed, stalled partitions left out), what the plain KEDA Kafka formula would ask (ceil(lag / lagThreshold)), and the live members of the group as the broker sees them.',
    queries: [
      {
        expr: 'max by (consumergroup) (fleet_autoscale_desired_replicas)',
        legend: 'desired {{consumergroup}}',
      },
      {
        expr: 'max by (consumergroup) (fleet_autoscale_keda_replicas)',
        legend: 'KEDA formula {{consumergroup}}',
      },
      {
        expr: 'max by (consumergroup) (kafka_consumergroup_members)',
        legend: 'members {{consumergroup}}',
      },
    ],
    unit: 'short',
    min: 0,
  },
  {
    type: 'timeseries',
    title: 'Settler: desired replicas vs running',
    description: `The reservation settler's autoscale signal (group ${settlerGroup}) against its group members and the instances that hold partitions. Running above desired for a while is the scale-down stabilization window (deploy/) at work.`,
    queries: [
      {
        expr: `max(fleet_autoscale_desired_replicas{consumergroup="${settlerGroup}"})`,
        legend: 'desired',
      },
      {
        expr: `max(kafka_consumergroup_members{consumergroup="${settlerGroup}"})`,
        legend: 'group members',
      },
      {
        expr: 'count(fleet_consumer_assigned_partitions{worker="reservation-settler"} > 0)',
        legend: 'instances holding partitions',
      },
    ],
    unit: 'short',
    min: 0,
  },
  {
    type: 'timeseries',
    title: 'Assigned partitions per instance',
    description:
      'Partitions each consumer instance owns. An instance at 0 for long is idle (more replicas than partitions).',
    queries: [
      {
        expr: 'sum by (worker, instance) (fleet_consumer_assigned_partitions)',
        legend: '{{worker}} {{instance}}',
      },
    ],
    unit: 'short',
  },
  {
    type: 'timeseries',
    title: 'Rebalances',
    description:
      'Rebalance events per worker and type in each interval (assign, revoke, lost). Bursts during autoscaling are expected; a steady stream is a storm (alert FleetRebalanceStorm).',
    queries: [
      {
        expr: `sum by (worker, type) (increase(fleet_consumer_rebalances_total[${rate}]))`,
        legend: '{{worker}} {{type}}',
      },
    ],
    unit: 'short',
  },
];

const lagThroughput: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Consume rate by topic',
    description: 'Records fetched per second per topic, all workers.',
    queries: [
      {
        expr: `sum by (topic) (rate(fleet_consumer_messages_consumed_total[${rate}]))`,
        legend: '{{topic}}',
      },
    ],
    unit: 'ops',
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Produce rate by topic',
    description:
      'Records acknowledged per second per topic, all producers. Produce above consume for long = growing lag.',
    queries: [
      {
        expr: `sum by (topic) (rate(fleet_producer_messages_sent_total[${rate}]))`,
        legend: '{{topic}}',
      },
    ],
    unit: 'ops',
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Offset commit duration p50 / p99',
    description: 'Time an offset commit takes per worker. Slow commits precede rebalances.',
    queries: quantiles('fleet_consumer_commit_duration_seconds', '', 'worker', '{{worker}}'),
    unit: 's',
    width: 8,
  },
];

export const kafkaLag: DashboardSpec = {
  uid: 'kafka-lag',
  title: 'fleetstream / Kafka lag',
  description:
    'Consumer lag per group and partition in messages and seconds, Burrow-style status, the autoscale signal against running replicas, and consume/produce rates.',
  tags: ['fleetstream', 'kafka'],
  rows: [
    { title: 'Groups', panels: lagGroups },
    { title: 'Partitions', panels: lagPartitions },
    { title: 'Autoscaling', panels: lagScaling },
    { title: 'Throughput', panels: lagThroughput },
  ],
};

// ---------------------------------------------------------------------------------------------
// Reservations: ingress RED, settlement outcomes and latency.

const reservationsIngress: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Ingress requests by route and status',
    description:
      'Requests per second per /v1 route template, method and status (202 accepted, 4xx client errors, 429 rate-limited, 503 Kafka unavailable).',
    queries: [
      {
        expr: `sum by (route, method, status) (rate(http_requests_total{${api}}[${rate}]))`,
        legend: '{{method}} {{route}} {{status}}',
      },
    ],
    unit: 'reqps',
    stacked: true,
  },
  {
    type: 'timeseries',
    title: 'Reservation requests by outcome',
    description:
      'POST /v1/reservations by what the ingress did: accepted (enqueued, 202), replayed (same Idempotency-Key), quota_exceeded, key_reused, unknown_vehicle, enqueue_failed.',
    queries: [
      {
        expr: `sum by (outcome) (rate(fleet_ingress_reservation_requests_total[${rate}]))`,
        legend: '{{outcome}}',
      },
    ],
    unit: 'reqps',
    stacked: true,
  },
  {
    type: 'timeseries',
    title: 'Availability error budget burn rate',
    description:
      'How fast 5xx spend the 30-day budget of the 99.9 % SLO (1 = exactly on budget) over the alert windows. FleetIngressAvailabilityFastBurn pages at 14.4 (1h and 5m) or 6 (6h and 30m).',
    queries: [
      { expr: 'fleet:ingress_request_errors:ratio_rate5m / 0.001', legend: '5m' },
      { expr: 'fleet:ingress_request_errors:ratio_rate1h / 0.001', legend: '1h' },
      { expr: 'fleet:ingress_request_errors:ratio_rate6h / 0.001', legend: '6h' },
    ],
    unit: 'short',
    thresholds: [
      { value: 6, color: 'orange' },
      { value: 14.4, color: 'red' },
    ],
    showThresholds: true,
  },
  {
    type: 'timeseries',
    title: 'Ingress latency p50 / p99 by route',
    description: 'Time to answer per /v1 route. SLO: p99 under 250 ms (dashed).',
    queries: quantiles('http_request_duration_seconds', api, 'route', '{{route}}'),
    unit: 's',
    thresholds: [{ value: 0.25, color: 'red' }],
    showThresholds: true,
  },
  {
    type: 'timeseries',
    title: 'Latency error budget burn rate',
    description:
      'How fast requests slower than 250 ms spend the budget of the 99 % latency SLO (1 = on budget). FleetIngressLatencyFastBurn pages at 14.4 (1h and 5m) or 6 (6h and 30m).',
    queries: [
      { expr: 'fleet:ingress_request_latency_slow:ratio_rate5m / 0.01', legend: '5m' },
      { expr: 'fleet:ingress_request_latency_slow:ratio_rate1h / 0.01', legend: '1h' },
      { expr: 'fleet:ingress_request_latency_slow:ratio_rate6h / 0.01', legend: '6h' },
    ],
    unit: 'short',
    thresholds: [
      { value: 6, color: 'orange' },
      { value: 14.4, color: 'red' },
    ],
    showThresholds: true,
  },
  {
    type: 'timeseries',
    title: 'Enqueue failures per second',
    description:
      'Commands the ingress could not get acknowledged by Kafka (each answered 503 with Retry-After). Empty while Kafka acknowledges every write.',
    queries: [
      { expr: `sum(rate(fleet_ingress_enqueue_failures_total[${rate}]))`, legend: 'enqueue failures' },
    ],
    unit: 'ops',
    width: 8,
  },
  {
    type: 'stat',
    title: 'Rate limiter on fallback',
    description:
      'Per ingress instance: 1 while Redis is unreachable and the rate limit runs from a per-instance in-memory budget (alert FleetIngressRateLimitFallback).',
    queries: [
      {
        expr: 'max by (instance) (fleet_ingress_rate_limit_fallback{job="ingress"})',
        legend: '{{instance}}',
        instant: true,
      },
    ],
    mappings: zeroOrOne,
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Commands enqueued per second',
    description: `Reservation commands the broker acknowledged for the ingress (topic ${commandsTopic}); should match the 202 rate.`,
    queries: [
      {
        expr: `sum(rate(fleet_producer_messages_sent_total{job="ingress",topic="${commandsTopic}"}[${rate}]))`,
        legend: 'enqueued',
      },
    ],
    unit: 'ops',
    width: 8,
  },
];

const reservationsSettlement: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Settlement outcomes per second',
    description: `Commands of ${commandsTopic} finished by the settler, by runtime outcome: success (a decision was stored and emitted) or dead_lettered.`,
    queries: [
      {
        expr: `sum by (outcome) (rate(fleet_consumer_messages_processed_total{topic="${commandsTopic}"}[${rate}]))`,
        legend: '{{outcome}}',
      },
    ],
    unit: 'ops',
    stacked: true,
  },
  {
    type: 'timeseries',
    title: 'Decisions by outcome and reason',
    description:
      'Settled commands by decision (confirmed, rejected, cancelled), rejection reason, and whether the decision was a replay of a stored one (replays re-emit, never decide anew).',
    queries: [
      {
        expr: `sum by (outcome, reason, replayed) (rate(fleet_settler_settlements_total[${rate}]))`,
        legend: '{{outcome}} {{reason}} replayed={{replayed}}',
      },
    ],
    unit: 'ops',
    stacked: true,
  },
  {
    type: 'timeseries',
    title: 'Settlement batch size p50 / p99',
    description:
      'Commands settled per batch — one fast-path statement and at most one transaction (several vehicles per batch, each vehicle still serial): larger batches under load are what beats one transaction per command (benchmark P3).',
    queries: quantiles('fleet_settler_batch_size', '', '', ''),
    unit: 'short',
  },
  {
    type: 'timeseries',
    title: 'Fast-path share of new decisions',
    description:
      'Requests decided by the one-statement fast path, as a share of decisions that are not replays (docs/settler.md, "The fast path"). Near 100% when the ingress records every request; a falling share means requests arriving without inbox rows (another producer), cancellations, or refusals — each settled through the locked transaction instead.',
    queries: [
      {
        expr: `sum(rate(fleet_settler_fast_path_decisions_total[${rate}])) / sum(rate(fleet_settler_settlements_total{replayed="false"}[${rate}]))`,
        legend: 'fast path',
      },
    ],
    unit: 'percentunit',
  },
  {
    type: 'timeseries',
    title: 'Decision events emitted per second',
    description: `Outcome events (confirmed, rejected, cancelled) the settler published to ${eventsTopic} and the broker acknowledged.`,
    queries: [
      {
        expr: `sum(rate(fleet_producer_messages_sent_total{topic="${eventsTopic}"}[${rate}]))`,
        legend: 'events',
      },
    ],
    unit: 'ops',
  },
  {
    type: 'timeseries',
    title: 'Settle handler duration p50 / p99',
    description:
      'Time the settler spends per command attempt (the PostgreSQL transaction that stores the decision, plus decode).',
    queries: quantiles('fleet_consumer_handler_duration_seconds', `topic="${commandsTopic}"`, '', ''),
    unit: 's',
  },
  {
    type: 'timeseries',
    title: 'Accepted → settled latency p50 / p99',
    description:
      'End to end: command record timestamp (the ingress enqueue, just before 202) → settled. Benchmark P5 goal: p99 ≤ 50 ms at 500 requests/s (dashed).',
    queries: quantiles('fleet_consumer_end_to_end_latency_seconds', `topic="${commandsTopic}"`, '', ''),
    unit: 's',
    thresholds: [{ value: 0.05, color: 'red' }],
    showThresholds: true,
  },
  {
    type: 'timeseries',
    title: 'Share settled later than 50 ms and 1 s',
    description:
      'Share of commands settled more than 50 ms (P5 goal) and more than 1 s (page-worthy) after they were accepted.',
    queries: [
      {
        expr: shareAbove(
          'fleet_consumer_end_to_end_latency_seconds',
          `topic="${commandsTopic}"`,
          '0.05',
          'topic',
        ),
        legend: '> 50 ms',
      },
      {
        expr: shareAbove(
          'fleet_consumer_end_to_end_latency_seconds',
          `topic="${commandsTopic}"`,
          '1',
          'topic',
        ),
        legend: '> 1 s',
      },
    ],
    unit: 'percentunit',
    min: 0,
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Settler lag',
    description: `Time lag of group ${settlerGroup}: how long an accepted reservation waits before the settler sees it.`,
    queries: [
      {
        expr: `max(kafka_consumergroup_group_lag_seconds{consumergroup="${settlerGroup}"})`,
        legend: 'lag',
      },
    ],
    unit: 's',
    thresholds: [{ value: 60, color: 'red' }],
    showThresholds: true,
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Settler handler failures by error class',
    description:
      'Failed settle attempts by error class (deadlocks and connection errors retry; conflicts are decisions, not failures). Empty while nothing fails.',
    queries: [
      {
        expr: `sum by (error_class) (rate(fleet_consumer_messages_failed_total{topic="${commandsTopic}"}[${rate}]))`,
        legend: '{{error_class}}',
      },
    ],
    unit: 'ops',
    width: 8,
  },
];

export const reservations: DashboardSpec = {
  uid: 'reservations',
  title: 'fleetstream / Reservations',
  description:
    'The reservation path: ingress RED and SLO burn, commands enqueued, settlement outcomes, settle and accepted→settled latency.',
  tags: ['fleetstream', 'reservations'],
  rows: [
    { title: 'Ingress', panels: reservationsIngress },
    { title: 'Settlement', panels: reservationsSettlement },
  ],
};

// ---------------------------------------------------------------------------------------------
// DLQ and breakers.

const dlqPanels: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Dead letters per second by topic and reason',
    description:
      'Records written to `<topic>.dlq` by source topic and reason (permanent, poison, retries_exhausted, …). Empty while nothing is dead-lettered.',
    queries: [
      {
        expr: `sum by (topic, reason) (rate(fleet_consumer_dead_letters_total[${rate}]))`,
        legend: '{{topic}} {{reason}}',
      },
    ],
    unit: 'ops',
    stacked: true,
  },
  {
    type: 'timeseries',
    title: 'Dead-letter ratio by topic',
    description:
      'Share of finished records that went to the DLQ, per source topic (0 when none). Alert FleetDeadLettersFlood above 1 % (dashed); the caps stop dead-lettering well before the topic empties into the DLQ.',
    queries: [
      {
        expr: `(sum by (topic) (rate(fleet_consumer_messages_processed_total{outcome="dead_lettered"}[${rate}])) or sum by (topic) (rate(fleet_consumer_messages_processed_total[${rate}])) * 0) / sum by (topic) (rate(fleet_consumer_messages_processed_total[${rate}]))`,
        legend: '{{topic}}',
      },
    ],
    unit: 'percentunit',
    min: 0,
    thresholds: [{ value: 0.01, color: 'red' }],
    showThresholds: true,
  },
  {
    type: 'stat',
    title: 'DLQ cap reached',
    description:
      'Per worker: 1 once a dead-letter cap tripped and dead-lettering stopped (partitions pause, readiness fails) until the cool-down or an operator resumes (alert FleetDlqCapReached).',
    queries: [{ expr: 'max by (worker) (fleet_dlq_cap_reached)', legend: '{{worker}}', instant: true }],
    mappings: zeroOrOne,
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Partitions blocked by a DLQ cap',
    description: 'Partitions paused by a per-partition cap (ratio or consecutive), per worker.',
    queries: [{ expr: 'sum by (worker) (fleet_dlq_blocked_partitions)', legend: '{{worker}}' }],
    unit: 'short',
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'Cap trips by cap',
    description:
      'DLQ caps tripped per interval, by worker and cap (ratio, consecutive, rate). Empty until a cap trips.',
    queries: [
      {
        expr: `sum by (worker, cap) (increase(fleet_dlq_cap_trips_total[${rate}]))`,
        legend: '{{worker}} {{cap}}',
      },
    ],
    unit: 'short',
    width: 8,
  },
  {
    type: 'stat',
    title: 'Shared DLQ rate cap on fallback',
    description:
      'Per worker: 1 while Redis is unreachable and the shared dead-letter rate cap runs on the per-process budget (alert FleetDlqRateCapFallback).',
    queries: [{ expr: 'max by (worker) (fleet_dlq_rate_cap_fallback)', legend: '{{worker}}', instant: true }],
    mappings: zeroOrOne,
    width: 8,
  },
  {
    type: 'timeseries',
    title: 'DLQ writes acknowledged per second',
    description:
      'Records the broker acknowledged on `.dlq` topics, per worker: what actually landed in the DLQ. Empty while nothing is dead-lettered.',
    queries: [
      {
        expr: `sum by (worker, topic) (rate(fleet_producer_messages_sent_total{topic=~".+\\\\.dlq"}[${rate}]))`,
        legend: '{{worker}} {{topic}}',
      },
    ],
    unit: 'ops',
    width: 16,
  },
];

const breakerPanels: PanelSpec[] = [
  {
    type: 'state-timeline',
    title: 'Circuit breaker states',
    description:
      'State of every breaker per worker over time: closed, half-open (one probe in flight), open (calls refused, dependent partitions paused). Alert FleetBreakerOpen after 1 minute not closed.',
    queries: [
      {
        expr: 'max by (worker, breaker) (fleet_breaker_state)',
        legend: '{{worker}} {{breaker}}',
      },
    ],
    mappings: breakerStates,
    thresholds: [
      { value: 1, color: 'yellow' },
      { value: 2, color: 'red' },
    ],
    width: 24,
  },
  {
    type: 'timeseries',
    title: 'Partitions paused by breakers and caps',
    description: 'Partitions paused for a reason other than backpressure, per worker and reason.',
    queries: [
      {
        expr: 'sum by (worker, reason) (fleet_consumer_paused_partitions{reason=~"breaker|dlq_cap|operator"})',
        legend: '{{worker}} {{reason}}',
      },
    ],
    unit: 'short',
    stacked: true,
  },
  {
    type: 'timeseries',
    title: 'Retries per second by topic',
    description:
      'Retry attempts scheduled after retriable failures (the key stays blocked meanwhile). Empty while nothing is retried.',
    queries: [
      {
        expr: `sum by (worker, topic) (rate(fleet_consumer_messages_retried_total[${rate}]))`,
        legend: '{{worker}} {{topic}}',
      },
    ],
    unit: 'ops',
  },
  {
    type: 'timeseries',
    title: 'Handler failures by error class',
    description:
      'Failed attempts per worker and error class: DependencyUnavailableError while a breaker is open, BreakerTimeoutError on timeouts, PermanentError/PoisonMessageError before the DLQ. Empty while nothing fails.',
    queries: [
      {
        expr: `sum by (worker, error_class) (rate(fleet_consumer_messages_failed_total[${rate}]))`,
        legend: '{{worker}} {{error_class}}',
      },
    ],
    unit: 'ops',
  },
  {
    type: 'stat',
    title: 'Degraded workers',
    description: 'fleet_worker_degraded per worker and reason (1 = degraded).',
    queries: [
      {
        expr: 'max by (worker, reason) (fleet_worker_degraded)',
        legend: '{{worker}} {{reason}}',
        instant: true,
      },
    ],
    mappings: zeroOrOne,
  },
];

export const dlqAndBreakers: DashboardSpec = {
  uid: 'dlq-and-breakers',
  title: 'fleetstream / DLQ and breakers',
  description:
    'Dead letters by topic and reason, the DLQ volume caps, circuit-breaker states, retries and the pauses they cause.',
  tags: ['fleetstream', 'dlq'],
  rows: [
    { title: 'Dead letters and caps', panels: dlqPanels },
    { title: 'Breakers and retries', panels: breakerPanels },
  ],
};

// ---------------------------------------------------------------------------------------------
// Rental ledger and customer notifications.

const rentalEventsTopic = 'fleet.rental.events.v1';

const ledgerPanels: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Rental events recorded by type and outcome',
    description:
      'Events of fleet.rental.events.v1 the ledger recorded: posted (a balanced set), no_posting (a rental starting, extended or ended), duplicate (a payment or refund re-sent under a new event id, posted once) and replayed (the same event again, nothing written). docs/rental-ledger.md.',
    queries: [
      {
        expr: `sum by (type, outcome) (rate(fleet_ledger_events_total[${rate}]))`,
        legend: '{{type}} {{outcome}}',
      },
    ],
    unit: 'ops',
    stacked: true,
  },
  {
    type: 'timeseries',
    title: 'Money posted per second by account',
    description:
      'Minor units posted per second by account, currency and side. A capture debits assets:payment_clearing and credits revenue by purpose (a deposit: liabilities:customer_deposits); a refund reverses it.',
    queries: [
      {
        expr: `sum by (account, currency, side) (rate(fleet_ledger_posted_minor_total[${rate}]))`,
        legend: '{{side}} {{account}} {{currency}}',
      },
    ],
    unit: 'short',
  },
  {
    type: 'timeseries',
    title: 'Debits minus credits per currency',
    description:
      'What the ledger debited minus what it credited, per currency, over the rate window: 0 at all times, because the database refuses any posting set that does not balance. Anything else means a metric was lost, not money: check the trial balance view fleet.ledger_account_balances.',
    queries: [
      {
        expr: `sum by (currency) (rate(fleet_ledger_posted_minor_total{side="debit"}[${rate}])) - sum by (currency) (rate(fleet_ledger_posted_minor_total{side="credit"}[${rate}]))`,
        legend: '{{currency}}',
      },
    ],
    unit: 'short',
  },
  {
    type: 'timeseries',
    title: 'Ledger handler duration p50 / p99',
    description: `Time the ledger spends per event of ${rentalEventsTopic}: validation and one READ COMMITTED transaction through the postgres breaker.`,
    queries: quantiles('fleet_consumer_handler_duration_seconds', `topic="${rentalEventsTopic}"`, '', ''),
    unit: 's',
  },
];

const notificationPanels: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Customer notifications by template and outcome',
    description:
      'Messages the provider took per second: sent, duplicate (a retried or replayed decision the provider recognised by its idempotency key; the customer was told once) or conflict (the key was known with other words). docs/notifier.md.',
    queries: [
      {
        expr: `sum by (template, outcome) (rate(fleet_notifier_notifications_total[${rate}]))`,
        legend: '{{template}} {{outcome}}',
      },
    ],
    unit: 'ops',
    stacked: true,
  },
  {
    type: 'timeseries',
    title: 'Provider call duration p50 / p99 by outcome',
    description:
      'Duration of calls to the notification provider by outcome: ok, rejected (the message itself was refused and dead-lettered), unavailable (the partition paused; the provider breaker counts these).',
    queries: quantiles('fleet_notifier_provider_call_duration_seconds', '', 'outcome', '{{outcome}}'),
    unit: 's',
  },
  {
    type: 'timeseries',
    title: 'Decisions not yet told',
    description: `Lag of the notifier's group on ${eventsTopic}, in seconds: how long the newest decision has waited for its message. It grows while the provider is down (partitions paused), and falls back by itself when it recovers.`,
    queries: [
      {
        expr: 'max by (consumergroup) (kafka_consumergroup_group_lag_seconds{consumergroup="fleet.notifier"})',
        legend: '{{consumergroup}}',
      },
    ],
    unit: 's',
  },
];

export const ledgerAndNotifications: DashboardSpec = {
  uid: 'ledger-and-notifications',
  title: 'fleetstream / Ledger and notifications',
  description:
    'The rental ledger (events recorded, money posted, the balance that must be zero) and the customer notifications (messages by template, provider latency, how long decisions wait to be told).',
  tags: ['fleetstream', 'ledger', 'notifier'],
  rows: [
    { title: 'Rental ledger', panels: ledgerPanels },
    { title: 'Customer notifications', panels: notificationPanels },
  ],
};

/** Every dashboard, in the order of the committed files. */
export const fleetDashboards: readonly DashboardSpec[] = [
  fleetOverview,
  kafkaLag,
  reservations,
  dlqAndBreakers,
  ledgerAndNotifications,
];
