import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { shippedPartitions } from '../topics/loadCatalog.ts';
import { workerNodeOptions, workerProcessEnv } from '../workers/runtime/worker/workerNodeOptions.ts';
import {
  deploymentV1,
  horizontalPodAutoscalerV2,
  prometheusAdapterExternalRules,
  scaledObject,
} from './schemas/kubernetes.ts';

/** Parses a manifest file: exactly one YAML document, no parse errors. */
function manifest(path: string): unknown {
  const text = readFileSync(new URL(path, import.meta.url), 'utf8');
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length !== 1) throw new Error(`${path}: expected one YAML document`);
  const [doc] = docs;
  if (doc === undefined || doc.errors.length > 0) throw new Error(`${path}: ${doc?.errors.join('; ')}`);
  return doc.toJS();
}

/** A deep copy to break on purpose. */
function copy<T>(value: T): T {
  return structuredClone(value);
}

function issues(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const deployment = deploymentV1.parse(manifest('./base/reservation-settler-deployment.yaml'));
const keda = manifest('./keda/scaledobject-reservation-settler.yaml');
const hpa = manifest('./hpa/reservation-settler-hpa.yaml');
const adapter = manifest('./hpa/prometheus-adapter-rules.yaml');

const commandPartitions = shippedPartitions('fleet.reservation.commands.v1');

describe('KEDA ScaledObject', () => {
  it('is a valid keda.sh/v1alpha1 ScaledObject', () => {
    expect(issues(scaledObject, keda)).toEqual([]);
  });

  const so = scaledObject.parse(keda);

  it('scales the settler Deployment on the desired-replicas signal with threshold 1', () => {
    expect(so.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(so.spec.triggers).toHaveLength(1);
    const [trigger] = so.spec.triggers;
    expect(trigger?.type).toBe('prometheus');
    expect(trigger?.metricType).toBe('AverageValue');
    expect(trigger?.metadata.query).toContain(
      'fleet_autoscale_desired_replicas{consumergroup="fleet.reservation-settler"}',
    );
    expect(trigger?.metadata.threshold).toBe('1');
    // An empty answer must reach the fallback, not read as 0 replicas.
    expect(trigger?.metadata.ignoreNullValues).toBe('false');
  });

  it('never scales to zero nor beyond the partitions of the command topic, and scales down slowly', () => {
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(so.spec.maxReplicaCount).toBe(commandPartitions);
    expect(so.spec.cooldownPeriod).toBeGreaterThan(0);
    const down = so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown;
    expect(down?.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
    expect(down?.policies?.every((p) => p.type === 'Pods' && p.value === 1)).toBe(true);
  });

  it('rejects a wrong apiVersion or kind', () => {
    const wrongVersion = { ...copy(keda as object), apiVersion: 'keda.sh/v1' };
    expect(issues(scaledObject, wrongVersion).join()).toMatch(/apiVersion/);
    const wrongKind = { ...copy(keda as object), kind: 'ScaledJob' };
    expect(issues(scaledObject, wrongKind).join()).toMatch(/kind/);
  });

  it('rejects a missing or empty trigger list', () => {
    const noTriggers = copy(so);
    delete (noTriggers.spec as { triggers?: unknown }).triggers;
    expect(issues(scaledObject, noTriggers).join()).toMatch(/triggers/);
    const empty = copy(so);
    empty.spec.triggers = [];
    expect(issues(scaledObject, empty).join()).toMatch(/triggers/);
  });

  it('rejects a non-numeric threshold, a missing query and a misspelt field', () => {
    const words = copy(so);
    const [trigger] = words.spec.triggers;
    if (trigger) trigger.metadata.threshold = 'one';
    expect(issues(scaledObject, words).join()).toMatch(/triggers\.0\.metadata\.threshold/);

    const number = copy(keda) as { spec: { triggers: Array<{ metadata: Record<string, unknown> }> } };
    const [first] = number.spec.triggers;
    if (first) first.metadata.threshold = 1;
    expect(issues(scaledObject, number).join()).toMatch(/threshold/);

    const noQuery = copy(so);
    if (noQuery.spec.triggers[0]) delete noQuery.spec.triggers[0].metadata.query;
    expect(issues(scaledObject, noQuery).join()).toMatch(/query/);

    const typo = { ...copy(keda as object), spec: { ...copy(so.spec), minReplicas: 1 } };
    expect(issues(scaledObject, typo).join()).toMatch(/minReplicas/);
  });

  it('rejects min above max and a fallback on a Value trigger', () => {
    const inverted = copy(so);
    inverted.spec.minReplicaCount = 20;
    expect(issues(scaledObject, inverted).join()).toMatch(/minReplicaCount must not exceed/);
    const valueTrigger = copy(so);
    if (valueTrigger.spec.triggers[0]) valueTrigger.spec.triggers[0].metricType = 'Value';
    expect(issues(scaledObject, valueTrigger).join()).toMatch(/fallback is only supported/);
  });
});

describe('autoscaling/v2 HPA with prometheus-adapter', () => {
  it('is a valid autoscaling/v2 HorizontalPodAutoscaler', () => {
    expect(issues(horizontalPodAutoscalerV2, hpa)).toEqual([]);
  });

  const h = horizontalPodAutoscalerV2.parse(hpa);

  it('targets the settler Deployment on the External desired-replicas metric at 1 per pod', () => {
    expect(h.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    const [metric] = h.spec.metrics ?? [];
    expect(metric).toEqual({
      type: 'External',
      external: {
        metric: {
          name: 'fleet_autoscale_desired_replicas',
          selector: { matchLabels: { consumergroup: 'fleet.reservation-settler' } },
        },
        target: { type: 'AverageValue', averageValue: '1' },
      },
    });
  });

  it('matches the KEDA bounds and behaviour, so switching autoscalers changes nothing else', () => {
    const so = scaledObject.parse(keda);
    expect(h.spec.minReplicas).toBe(so.spec.minReplicaCount);
    expect(h.spec.maxReplicas).toBe(so.spec.maxReplicaCount);
    expect(h.spec.behavior).toEqual(so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior);
  });

  it('is served by an adapter rule exposing exactly that metric name', () => {
    expect(issues(prometheusAdapterExternalRules, adapter)).toEqual([]);
    const rules = prometheusAdapterExternalRules.parse(adapter);
    const [rule] = rules.externalRules;
    expect(rule?.seriesQuery).toContain('fleet_autoscale_desired_replicas');
    expect(rule?.name?.as).toBe('fleet_autoscale_desired_replicas');
    expect(rule?.metricsQuery).toContain('<<.LabelMatchers>>');
  });

  it('rejects a beta apiVersion, a target without its value, and a scaling period over 30 minutes', () => {
    expect(
      issues(horizontalPodAutoscalerV2, { ...copy(hpa as object), apiVersion: 'autoscaling/v2beta2' }).join(),
    ).toMatch(/apiVersion/);
    const noValue = copy(h);
    const [metric] = noValue.spec.metrics ?? [];
    if (metric?.type === 'External') delete metric.external.target.averageValue;
    expect(issues(horizontalPodAutoscalerV2, noValue).join()).toMatch(/must set the field of its type/);
    const longPeriod = copy(h);
    const policy = longPeriod.spec.behavior?.scaleDown?.policies?.[0];
    if (policy) policy.periodSeconds = 3600;
    expect(issues(horizontalPodAutoscalerV2, longPeriod).join()).toMatch(/periodSeconds/);
  });
});

describe('settler Deployment', () => {
  const [container] = deployment.spec.template.spec.containers;

  it('leaves the replica count to the autoscaler', () => {
    expect(deployment.spec.replicas).toBeUndefined();
  });

  it('serves probes and metrics on the settler port 9101, bound to the pod network', () => {
    expect(container?.ports).toEqual([{ name: 'metrics', containerPort: 9101, protocol: 'TCP' }]);
    expect(container?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ METRICS_HOST: '0.0.0.0', METRICS_PORT: '9101' });
  });

  it('gives the drain more time than WORKER_DRAIN_TIMEOUT_MS', () => {
    const drainMs = Number(container?.env?.find((e) => e.name === 'WORKER_DRAIN_TIMEOUT_MS')?.value);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(drainMs / 1000);
  });

  it('rejects a selector that does not match the pod labels', () => {
    const mismatched = copy(deployment);
    mismatched.spec.selector.matchLabels = { 'app.kubernetes.io/name': 'other' };
    expect(issues(deploymentV1, mismatched).join()).toMatch(/selector must match/);
  });
});

/** Every worker Deployment with the port its worker module declares (defaultMetricsPort). */
const workerDeployments = [
  {
    file: './base/reservation-settler-deployment.yaml',
    entry: 'workers/reservation-settler/main.ts',
    port: 9101,
    secret: 'DATABASE_URL',
  },
  {
    file: './base/rental-ledger-deployment.yaml',
    entry: 'workers/rental-ledger/main.ts',
    port: 9102,
    secret: 'DATABASE_URL',
  },
  {
    file: './base/notifier-deployment.yaml',
    entry: 'workers/notifier/main.ts',
    port: 9103,
    secret: 'NOTIFIER_PROVIDER_TOKEN',
  },
];

describe.each(workerDeployments)('worker Deployment $file', ({ file, entry, port, secret }) => {
  const worker = deploymentV1.parse(manifest(file));
  const [container] = worker.spec.template.spec.containers;
  const env = container?.env ?? [];

  it('runs its worker and serves probes and metrics on its port, bound to the pod network', () => {
    expect(container?.command).toEqual(['node', entry]);
    expect(container?.ports).toEqual([{ name: 'metrics', containerPort: port, protocol: 'TCP' }]);
    expect(container?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(Object.fromEntries(env.map((e) => [e.name, e.value]))).toMatchObject({
      METRICS_HOST: '0.0.0.0',
      METRICS_PORT: String(port),
    });
    expect(worker.spec.template.metadata.annotations?.['prometheus.io/port']).toBe(String(port));
  });

  it('runs Node with the V8 and allocator settings the memory bound (P6) was measured with', () => {
    const values = Object.fromEntries(env.map((e) => [e.name, e.value]));
    const measured = workerProcessEnv({});
    expect(values.NODE_OPTIONS).toBe(workerNodeOptions);
    expect(values.MALLOC_ARENA_MAX).toBe(measured.MALLOC_ARENA_MAX);
    // The old space fits the container's memory limit with room for buffers and native memory.
    const limit = container?.resources?.limits?.memory ?? '';
    const limitMiB = Number(/^(\d+)Mi$/.exec(limit)?.[1]);
    const oldSpaceMiB = Number(/--max-old-space-size=(\d+)/.exec(workerNodeOptions)?.[1]);
    expect(oldSpaceMiB).toBeLessThan(limitMiB / 2);
  });

  it('drains within the grace period and takes its credential from a Secret, never a literal', () => {
    const drainMs = Number(env.find((e) => e.name === 'WORKER_DRAIN_TIMEOUT_MS')?.value);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(drainMs / 1000);
    const credentials = env.filter((e) => e.name === 'DATABASE_URL' || e.name.endsWith('TOKEN'));
    expect(credentials.map((e) => e.name)).toEqual([secret]);
    for (const variable of credentials) {
      expect(variable.value, variable.name).toBeUndefined();
      expect(variable.valueFrom?.secretKeyRef, variable.name).toBeDefined();
    }
  });
});
