import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { shippedPartitions } from '../topics/loadCatalog.ts';
import { loadIngressConfig } from '../workers/ingress/ingressConfig.ts';
import { lagMonitorDefaultPort, readLagMonitorSettings } from '../workers/lag-monitor/lagMonitorConfig.ts';
import { lagMonitorName } from '../workers/lag-monitor/startLagMonitor.ts';
import { EnvReader } from '../workers/runtime/config/envReader.ts';
import { readStackEndpoints } from '../workers/runtime/config/stackEndpoints.ts';
import { readKafkaClientSettings } from '../workers/runtime/kafka/clientConfig.ts';
import { readHealthServerSettings } from '../workers/runtime/observability/healthServer.ts';
import { readLogLevel } from '../workers/runtime/observability/logger.ts';
import { workerNodeOptions, workerProcessEnv } from '../workers/runtime/worker/workerNodeOptions.ts';
import {
  deploymentV1,
  horizontalPodAutoscalerV2,
  podDisruptionBudgetV1,
  podMonitorV1,
  prometheusAdapterExternalRules,
  prometheusAdapterHelmValues,
  scaledObject,
  selects,
  serviceV1,
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

type Deployment = z.infer<typeof deploymentV1>;
type EnvVar = NonNullable<Deployment['spec']['template']['spec']['containers'][number]['env']>[number];

/** Variables that hold or guard a credential: never a literal in a manifest. */
function isCredential(name: string): boolean {
  return /^(DATABASE_URL|JWT_SECRET|JWT_PUBLIC_KEY)$|(TOKEN|PASSWORD|SECRET)$/.test(name);
}

/** The credentials are exactly `names`, each from a Secret. */
function expectCredentialsFromSecrets(env: EnvVar[], names: string[]): void {
  const credentials = env.filter((e) => isCredential(e.name));
  expect(credentials.map((e) => e.name)).toEqual(names);
  for (const variable of credentials) {
    expect(variable.value, variable.name).toBeUndefined();
    expect(variable.valueFrom?.secretKeyRef, variable.name).toBeDefined();
  }
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
const adapterValues = manifest('./prometheus-adapter/values.yaml');

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

  it('is served by an adapter rule exposing exactly that metric name, from the Prometheus KEDA queries', () => {
    expect(issues(prometheusAdapterHelmValues, adapterValues)).toEqual([]);
    const values = prometheusAdapterHelmValues.parse(adapterValues);
    // The list is also the adapter's own config.yaml `externalRules`.
    expect(issues(prometheusAdapterExternalRules, { externalRules: values.rules.external })).toEqual([]);
    const server = scaledObject.parse(keda).spec.triggers[0]?.metadata.serverAddress;
    expect(`${values.prometheus.url}:${values.prometheus.port}`).toBe(server);
    const [rule] = values.rules.external;
    expect(rule?.seriesQuery).toContain('fleet_autoscale_desired_replicas');
    expect(rule?.name?.as).toBe('fleet_autoscale_desired_replicas');
    expect(rule?.metricsQuery).toContain('<<.LabelMatchers>>');
  });

  it('keeps the Helm values out of the directories applied with kubectl', () => {
    for (const dir of ['./base/', './hpa/', './keda/', './monitoring/']) {
      for (const file of readdirSync(new URL(dir, import.meta.url))) {
        const doc = manifest(`${dir}${file}`) as { apiVersion?: unknown; kind?: unknown };
        expect(typeof doc.apiVersion === 'string' && typeof doc.kind === 'string', `${dir}${file}`).toBe(
          true,
        );
      }
    }
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

  it('drains within the grace period and takes its credential from a Secret, never a literal', () => {
    const drainMs = Number(env.find((e) => e.name === 'WORKER_DRAIN_TIMEOUT_MS')?.value);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(drainMs / 1000);
    expectCredentialsFromSecrets(env, [secret]);
  });
});

/**
 * Every Deployment of deploy/base: its name (= its pods' app.kubernetes.io/name = the worker name
 * its series carry), and the container port Prometheus scrapes for /metrics.
 */
const allDeployments = [
  { name: 'reservation-settler', scrapePort: 'metrics' },
  { name: 'rental-ledger', scrapePort: 'metrics' },
  { name: 'notifier', scrapePort: 'metrics' },
  { name: 'lag-monitor', scrapePort: 'metrics' },
  { name: 'ingress', scrapePort: 'http' },
].map((d) => ({ ...d, deployment: deploymentV1.parse(manifest(`./base/${d.name}-deployment.yaml`)) }));

const podLabelsOf = (d: Deployment) => d.spec.template.metadata.labels;
const containerOf = (d: Deployment) => d.spec.template.spec.containers[0];
const envOf = (d: Deployment): EnvVar[] => containerOf(d)?.env ?? [];
const literalsOf = (d: Deployment) =>
  Object.fromEntries(envOf(d).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])));

/** Set by the deployment for Node and glibc, not read by the application's config. */
const processVariables = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'];

/** Runs a config reader on the Deployment's env (secrets replaced by stand-ins) and returns the names it read. */
function namesRead(
  d: Deployment,
  secrets: Record<string, string>,
  read: (env: Record<string, string | undefined>) => unknown,
): Set<string> {
  const names = new Set<string>();
  const env = new Proxy<Record<string, string | undefined>>(
    { ...literalsOf(d), ...secrets },
    {
      get(target, key) {
        if (typeof key === 'string') names.add(key);
        return Reflect.get(target, key);
      },
    },
  );
  read(env);
  return names;
}

/** The names of the Deployment's env that none of `read` looked up (typos, variables of another process). */
function unreadNames(d: Deployment, read: Set<string>): string[] {
  return envOf(d)
    .map((e) => e.name)
    .filter((name) => !read.has(name) && !processVariables.includes(name));
}

/** The `worker` label a process puts on every series — the job name the rules select by — read from its code. */
function workerLabelOf(name: string): string | undefined {
  if (name === lagMonitorName) return lagMonitorName;
  const source = name === 'ingress' ? 'ingress/ingressService.ts' : `${name}/main.ts`;
  const text = readFileSync(new URL(`../workers/${source}`, import.meta.url), 'utf8');
  const match = /runWorkerMain\('([^']+)'|createMetricsRegistry\(\{ worker: '([^']+)' \}\)/.exec(text);
  return match?.[1] ?? match?.[2];
}

/** The job names the Prometheus rules select by: `job="x"` and `job=~"x|y"`. */
function jobsInRules(): Set<string> {
  const dir = new URL('../dashboards/prometheus/rules/', import.meta.url);
  const jobs = new Set<string>();
  for (const file of readdirSync(dir)) {
    for (const [, operator, value = ''] of readFileSync(new URL(file, dir), 'utf8').matchAll(
      /\bjob(=~?)"([^"]+)"/g,
    )) {
      for (const job of operator === '=~' ? value.split('|') : [value]) jobs.add(job);
    }
  }
  return jobs;
}

type PodMonitor = z.infer<typeof podMonitorV1>;

/**
 * The `job` label of a pod's series: prometheus-operator's default (`<namespace>/<PodMonitor>`),
 * then the endpoint's relabelings applied to the pod's discovery labels as Prometheus does
 * (only `replace` is simulated; anything else fails the test until it is).
 */
function scrapedJob(monitor: PodMonitor, podLabels: Record<string, string>): string | undefined {
  const labels: Record<string, string> = { job: `${monitor.metadata.namespace}/${monitor.metadata.name}` };
  for (const [key, value] of Object.entries(podLabels)) {
    labels[`__meta_kubernetes_pod_label_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`] = value;
  }
  for (const rule of monitor.spec.podMetricsEndpoints[0]?.relabelings ?? []) {
    if ((rule.action ?? 'replace').toLowerCase() !== 'replace') throw new Error(`simulate ${rule.action}`);
    const source = (rule.sourceLabels ?? []).map((l) => labels[l] ?? '').join(rule.separator ?? ';');
    const match = new RegExp(`^(?:${rule.regex ?? '(.*)'})$`).exec(source);
    if (!match || rule.targetLabel === undefined) continue;
    const result = (rule.replacement ?? '$1').replace(
      /\$(?:(\d+)|\{(\d+)\})/g,
      (_, plain, braced) => match[Number(plain ?? braced)] ?? '',
    );
    if (result === '') delete labels[rule.targetLabel];
    else labels[rule.targetLabel] = result;
  }
  return labels.job;
}

describe('deploy/base', () => {
  it('lists every Deployment in these tests', () => {
    const files = readdirSync(new URL('./base/', import.meta.url)).filter((f) =>
      f.endsWith('-deployment.yaml'),
    );
    expect(files.sort()).toEqual(allDeployments.map((d) => `${d.name}-deployment.yaml`).sort());
  });
});

describe.each(allDeployments)('Deployment $name', ({ name, scrapePort, deployment: d }) => {
  const container = containerOf(d);

  it('is named after its worker, with that name as its pods app.kubernetes.io/name', () => {
    expect(d.metadata.name).toBe(name);
    expect(podLabelsOf(d)['app.kubernetes.io/name']).toBe(name);
    expect(d.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': name });
    expect(workerLabelOf(name)).toBe(name);
  });

  it('runs Node with the V8 and allocator settings the memory bound (P6) was measured with', () => {
    const values = literalsOf(d);
    const measured = workerProcessEnv({});
    expect(values.NODE_OPTIONS).toBe(workerNodeOptions);
    expect(values.MALLOC_ARENA_MAX).toBe(measured.MALLOC_ARENA_MAX);
    // The old space fits the container's memory limit with room for buffers and native memory.
    const limit = container?.resources?.limits?.memory ?? '';
    const limitMiB = Number(/^(\d+)Mi$/.exec(limit)?.[1]);
    const oldSpaceMiB = Number(/--max-old-space-size=(\d+)/.exec(workerNodeOptions)?.[1]);
    expect(oldSpaceMiB).toBeLessThan(limitMiB / 2);
  });

  it('runs unprivileged with a read-only root and requests what it needs', () => {
    expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(container?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container?.resources?.requests?.cpu).toBeDefined();
    expect(container?.resources?.requests?.memory).toBeDefined();
  });

  it('spreads its replicas across nodes without ever blocking scheduling', () => {
    const constraints = d.spec.template.spec.topologySpreadConstraints ?? [];
    expect(constraints).toContainEqual(
      expect.objectContaining({
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
      }),
    );
    for (const c of constraints) expect(c.whenUnsatisfiable).toBe('ScheduleAnyway');
  });

  it('has a PodDisruptionBudget selecting exactly its pods that never blocks a drain', () => {
    const raw = manifest(`./base/${name}-pdb.yaml`);
    expect(issues(podDisruptionBudgetV1, raw)).toEqual([]);
    const pdb = podDisruptionBudgetV1.parse(raw);
    expect(pdb.metadata.namespace).toBe(d.metadata.namespace);
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeUndefined();
    expect(selects(pdb.spec.selector, podLabelsOf(d))).toBe(true);
    for (const other of allDeployments.filter((o) => o.name !== name)) {
      expect(selects(pdb.spec.selector, podLabelsOf(other.deployment)), other.name).toBe(false);
    }
  });

  it('has a PodMonitor scraping its metrics port under the job name the rules select by', () => {
    const raw = manifest(`./monitoring/${name}-podmonitor.yaml`);
    expect(issues(podMonitorV1, raw)).toEqual([]);
    const monitor = podMonitorV1.parse(raw);
    expect(monitor.metadata.namespace).toBe(d.metadata.namespace);
    expect(selects(monitor.spec.selector, podLabelsOf(d))).toBe(true);
    for (const other of allDeployments.filter((o) => o.name !== name)) {
      expect(selects(monitor.spec.selector, podLabelsOf(other.deployment)), other.name).toBe(false);
    }
    const [endpoint] = monitor.spec.podMetricsEndpoints;
    expect(monitor.spec.podMetricsEndpoints).toHaveLength(1);
    expect(endpoint?.port).toBe(scrapePort);
    expect(endpoint?.path ?? '/metrics').toBe('/metrics');
    const port = container?.ports?.find((p) => p.name === endpoint?.port);
    expect(port, 'a named container port').toBeDefined();
    expect(d.spec.template.metadata.annotations?.['prometheus.io/port']).toBe(String(port?.containerPort));
    const job = scrapedJob(monitor, podLabelsOf(d));
    expect(job).toBe(workerLabelOf(name));
    expect(jobsInRules()).toContain(job);
  });
});

describe('PodMonitors and the Prometheus rules', () => {
  const monitors = allDeployments.map(({ name }) =>
    podMonitorV1.parse(manifest(`./monitoring/${name}-podmonitor.yaml`)),
  );

  it('give every job the rules select by a scraped Deployment (the absent() alerts would fire otherwise)', () => {
    const jobs = allDeployments.map(({ deployment }, i) =>
      scrapedJob(monitors[i] as PodMonitor, podLabelsOf(deployment)),
    );
    expect(new Set(jobs)).toEqual(jobsInRules());
  });

  it('would name the job <namespace>/<name> without the relabeling', () => {
    const bare = copy(monitors[0] as PodMonitor);
    delete bare.spec.podMetricsEndpoints[0]?.relabelings;
    expect(scrapedJob(bare, podLabelsOf(allDeployments[0]!.deployment))).toBe(
      'fleetstream/reservation-settler',
    );
  });

  it('rejects a replace without targetLabel, a bad duration and an endpoint without a port', () => {
    const noTarget = copy(monitors[0] as PodMonitor);
    delete noTarget.spec.podMetricsEndpoints[0]?.relabelings?.[0]?.targetLabel;
    expect(issues(podMonitorV1, noTarget).join()).toMatch(/targetLabel/);
    const badInterval = copy(monitors[0] as PodMonitor);
    if (badInterval.spec.podMetricsEndpoints[0])
      badInterval.spec.podMetricsEndpoints[0].interval = '15 seconds';
    expect(issues(podMonitorV1, badInterval).join()).toMatch(/duration/);
    const noPort = copy(monitors[0] as PodMonitor);
    delete noPort.spec.podMetricsEndpoints[0]?.port;
    expect(issues(podMonitorV1, noPort).join()).toMatch(/port/);
  });
});

describe('PodDisruptionBudget and topology spread schemas', () => {
  const pdb = podDisruptionBudgetV1.parse(manifest('./base/notifier-pdb.yaml'));
  const notifier = allDeployments.find((d) => d.name === 'notifier')!.deployment;

  it('reject both or neither of minAvailable and maxUnavailable', () => {
    expect(
      issues(podDisruptionBudgetV1, { ...copy(pdb), spec: { ...pdb.spec, minAvailable: 1 } }).join(),
    ).toMatch(/exactly one/);
    const neither = copy(pdb);
    delete neither.spec.maxUnavailable;
    expect(issues(podDisruptionBudgetV1, neither).join()).toMatch(/exactly one/);
  });

  it('reject a spread constraint counting other pods, or minDomains with ScheduleAnyway', () => {
    const others = copy(notifier);
    const [constraint] = others.spec.template.spec.topologySpreadConstraints ?? [];
    if (constraint) constraint.labelSelector = { matchLabels: { 'app.kubernetes.io/name': 'ingress' } };
    expect(issues(deploymentV1, others).join()).toMatch(/own pods/);
    const minDomains = copy(notifier);
    const [soft] = minDomains.spec.template.spec.topologySpreadConstraints ?? [];
    if (soft) soft.minDomains = 2;
    expect(issues(deploymentV1, minDomains).join()).toMatch(/minDomains/);
  });
});

describe('lag-monitor Deployment', () => {
  const d = allDeployments.find((x) => x.name === 'lag-monitor')!.deployment;
  const container = containerOf(d);
  /** startLagMonitor's configuration reads (it connects to Kafka right after, so it cannot run here). */
  const readConfig = (env: Record<string, string | undefined>) => {
    const reader = new EnvReader(env);
    const endpoints = readStackEndpoints(reader);
    readKafkaClientSettings(reader, endpoints, lagMonitorName);
    const health = readHealthServerSettings(reader, lagMonitorDefaultPort);
    const settings = readLagMonitorSettings(reader);
    readLogLevel(reader);
    reader.done();
    return { health, settings };
  };

  it('runs one replica of the lag monitor', () => {
    expect(d.spec.replicas).toBe(1);
    expect(container?.command).toEqual(['node', 'workers/lag-monitor/main.ts']);
  });

  it('serves probes and metrics on its default port 9104, bound to the pod network', () => {
    expect(container?.ports).toEqual([
      { name: 'metrics', containerPort: lagMonitorDefaultPort, protocol: 'TCP' },
    ]);
    expect(container?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(readConfig(literalsOf(d)).health).toEqual({ host: '0.0.0.0', port: lagMonitorDefaultPort });
  });

  it('sets only variables its configuration reads, all valid, and no credential', () => {
    expect(unreadNames(d, namesRead(d, {}, readConfig))).toEqual([]);
    expectCredentialsFromSecrets(envOf(d), []);
  });

  it('gives its stop more time than the forced exit of main.ts', () => {
    const main = readFileSync(new URL('../workers/lag-monitor/main.ts', import.meta.url), 'utf8');
    const stopTimeoutMs = Number(/const stopTimeoutMs = ([\d_]+);/.exec(main)?.[1]?.replaceAll('_', ''));
    expect(stopTimeoutMs).toBeGreaterThan(0);
    expect(d.spec.template.spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(stopTimeoutMs / 1000);
  });
});

describe('ingress Deployment and Service', () => {
  const d = allDeployments.find((x) => x.name === 'ingress')!.deployment;
  const container = containerOf(d);
  const values = literalsOf(d);
  const publicKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
    type: 'spki',
    format: 'pem',
  });
  /** Stand-ins for what the Secrets hold. */
  const secrets = {
    DATABASE_URL: 'postgres://fleetstream_app:pw@db.example:5432/fleetstream',
    JWT_PUBLIC_KEY: String(publicKey),
  };

  it('runs at least two replicas, and the rate-limit fallback divides by that count', () => {
    expect(container?.command).toEqual(['node', 'workers/ingress/main.ts']);
    expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(values.RATE_LIMIT_FALLBACK_INSTANCES).toBe(String(d.spec.replicas));
  });

  it('serves the API, probes and metrics on port 8080, bound to the pod network', () => {
    expect(container?.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    // A shared outage must not empty the Service: the ingress answers its own 503 with Retry-After.
    expect(container?.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(values).toMatchObject({ INGRESS_HOST: '0.0.0.0', INGRESS_PORT: '8080', NODE_ENV: 'production' });
  });

  it('sets only variables the ingress reads, and its configuration loads: RS256, no dev secret, trusted proxies', () => {
    let config: ReturnType<typeof loadIngressConfig> | undefined;
    const read = namesRead(d, secrets, (env) => {
      config = loadIngressConfig(env);
    });
    expect(unreadNames(d, read)).toEqual([]);
    expect(config?.host).toBe('0.0.0.0');
    expect(config?.jwt.algorithm).toBe('RS256');
    expect(config?.jwt.usesDevSecret).toBe(false);
    expect(config?.jwt.issuer).not.toBe('fleetstream-dev');
    expect(Array.isArray(config?.trustProxy)).toBe(true);
  });

  it('takes the database URL and the JWT key from Secrets, never literals, and sets no HS256 secret', () => {
    expectCredentialsFromSecrets(envOf(d), ['JWT_PUBLIC_KEY', 'DATABASE_URL']);
  });

  it('leaves the endpoints before the drain, and drains within the grace period', () => {
    const preStopSeconds = container?.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(preStopSeconds).toBeGreaterThanOrEqual(5);
    const shutdownMs = Number(values.INGRESS_SHUTDOWN_TIMEOUT_MS);
    expect(shutdownMs).toBeGreaterThan(0);
    expect(d.spec.template.spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(
      preStopSeconds + shutdownMs / 1000,
    );
  });

  it('rejects a preStop hook with two actions', () => {
    const two = copy(d);
    const hook = two.spec.template.spec.containers[0]?.lifecycle?.preStop;
    if (hook) hook.exec = { command: ['sleep', '10'] };
    expect(issues(deploymentV1, two).join()).toMatch(/exactly one of exec, httpGet and sleep/);
  });

  it('is the backend of a Service selecting exactly its pods on its named port', () => {
    const raw = manifest('./base/ingress-service.yaml');
    expect(issues(serviceV1, raw)).toEqual([]);
    const service = serviceV1.parse(raw);
    expect(service.metadata.namespace).toBe(d.metadata.namespace);
    const selector = { matchLabels: service.spec.selector };
    expect(selects(selector, podLabelsOf(d))).toBe(true);
    for (const other of allDeployments.filter((o) => o.name !== 'ingress')) {
      expect(selects(selector, podLabelsOf(other.deployment)), other.name).toBe(false);
    }
    expect(service.spec.ports).toEqual([
      { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' },
    ]);
  });
});
