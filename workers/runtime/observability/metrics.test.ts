import { readFileSync } from 'node:fs';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  createConsumerMetrics,
  createMetricsRegistry,
  createProducerMetrics,
  forbiddenLabelNames,
} from './metrics.ts';

const docsPath = new URL('../../../docs/metrics.md', import.meta.url);

/** The sections of docs/metrics.md that document what the runtime's registry itself exports. */
const runtimeSections = new Set(['## Consumer engine', '## Producer']);

/** Metrics documented in the runtime's sections of docs/metrics.md: name → {type, label names}. */
function documentedFleetMetrics(): Map<string, { type: string; labels: string[] }> {
  const documented = new Map<string, { type: string; labels: string[] }>();
  let inRuntimeSection = false;
  for (const line of readFileSync(docsPath, 'utf8').split('\n')) {
    if (line.startsWith('## ')) inRuntimeSection = runtimeSections.has(line.trim());
    if (!inRuntimeSection) continue;
    const cells = line.split('|').map((cell) => cell.trim());
    const name = /^`(fleet_[a-z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!name) continue;
    const labels = (cells[3] ?? '')
      .split(',')
      .map((part) => part.trim().split(' ')[0] ?? '')
      .filter((label) => /^[a-z_]+$/.test(label));
    documented.set(name, { type: cells[2] ?? '', labels });
  }
  return documented;
}

function fullRegistry(): Registry {
  const registry = createMetricsRegistry({ worker: 'test-worker' });
  createConsumerMetrics(registry);
  createProducerMetrics(registry);
  return registry;
}

describe('metrics registry', () => {
  it('renders every documented metric, and documents every fleet metric it renders', async () => {
    const registry = fullRegistry();
    const text = await registry.metrics();
    const rendered = new Set([...text.matchAll(/^# TYPE (fleet_\w+) /gm)].map((m) => m[1]));
    const documented = documentedFleetMetrics();
    expect(documented.size).toBeGreaterThanOrEqual(22);
    expect([...rendered].sort()).toEqual([...documented.keys()].sort());
  });

  it('has the documented type and label names for each metric', async () => {
    const registry = fullRegistry();
    const documented = documentedFleetMetrics();
    const json = await registry.getMetricsAsJSON();
    const fleetMetrics = registry.getMetricsAsArray().filter((metric) => metric.name.startsWith('fleet_'));
    expect(fleetMetrics.length).toBe(documented.size);
    for (const metric of fleetMetrics) {
      const labelNames = (metric as unknown as { labelNames: string[] }).labelNames;
      const type = String(json.find((m) => m.name === metric.name)?.type);
      expect({ name: metric.name, type, labels: [...labelNames].sort() }).toEqual({
        name: metric.name,
        type: documented.get(metric.name)?.type,
        labels: [...(documented.get(metric.name)?.labels ?? ['(undocumented)'])].sort(),
      });
    }
  });

  it('labels every series with the worker and includes event-loop lag', async () => {
    const registry = fullRegistry();
    createConsumerMetrics(registry).messagesConsumed.inc({ topic: 'fleet.x.v1' });
    const text = await registry.metrics();
    expect(text).toContain(
      'fleet_consumer_messages_consumed_total{topic="fleet.x.v1",worker="test-worker"} 1',
    );
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{worker="test-worker"\} /m);
  });

  it('puts 0.05 s and 1 s buckets in the end-to-end latency histogram', async () => {
    const registry = fullRegistry();
    createConsumerMetrics(registry).endToEndLatency.observe({ topic: 't' }, 0.04);
    const text = await registry.metrics();
    expect(text).toContain(
      'fleet_consumer_end_to_end_latency_seconds_bucket{le="0.05",worker="test-worker",topic="t"} 1',
    );
    expect(text).toContain(
      'fleet_consumer_end_to_end_latency_seconds_bucket{le="1",worker="test-worker",topic="t"} 1',
    );
  });

  it('returns the same handles when asked twice for one registry', () => {
    const registry = createMetricsRegistry({ worker: 'w', collectDefaultMetrics: false });
    expect(createConsumerMetrics(registry)).toBe(createConsumerMetrics(registry));
    expect(createProducerMetrics(registry)).toBe(createProducerMetrics(registry));
  });
});

describe('label cardinality guard', () => {
  it('finds no key/vehicle/customer/reservation/offset label in the fleet registry', () => {
    expect(forbiddenLabelNames(fullRegistry())).toEqual([]);
  });

  it('flags a metric labelled by an entity or offset', () => {
    const registry = new Registry();
    new Counter({
      name: 'bad_total',
      help: 'x',
      labelNames: ['vehicle_id', 'offset', 'topic'],
      registers: [registry],
    });
    expect(forbiddenLabelNames(registry)).toEqual(['bad_total{vehicle_id}', 'bad_total{offset}']);
  });
});
