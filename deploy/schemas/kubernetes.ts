import { z } from 'zod';

/**
 * The parts of the Kubernetes and KEDA schemas our manifests use, as zod schemas, so a unit test
 * catches what `kubectl apply --validate=strict` or KEDA's admission webhook would refuse — without
 * a cluster. Sources:
 * - KEDA v2.x CRD `keda.sh_scaledobjects.yaml` (ScaledObjectSpec, ScaleTriggers, Fallback,
 *   AdvancedConfig) and its webhook rules (fallback needs AverageValue triggers; min ≤ max);
 * - Kubernetes API `autoscaling/v2` (HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
 *   HPAScalingRules: periodSeconds 1…1800, stabilizationWindowSeconds 0…3600);
 * - `apps/v1` Deployment (the fields we set, including topologySpreadConstraints and lifecycle
 *   hooks), `v1` Service and `policy/v1` PodDisruptionBudget (only one of minAvailable and
 *   maxUnavailable; minDomains only with DoNotSchedule);
 * - prometheus-operator's `monitoring.coreos.com/v1` PodMonitor CRD (podMetricsEndpoints,
 *   RelabelConfig, Duration pattern);
 * - prometheus-adapter's `externalRules` config, and the prometheus-community Helm chart's values
 *   that carry it.
 * Objects we model completely are strict, so a misspelt field fails instead of being ignored.
 */

const int32 = z.int32();

/** resource.Quantity: an integer or a string such as "1", "500m", "1.5", "2Gi" (pattern from the CRDs). */
const quantityPattern =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
const quantity = z.union([z.int(), z.string().regex(quantityPattern, 'not a Kubernetes quantity')]);

/** RFC 1123 subdomain (object names) and label (namespaces). */
const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'not an RFC 1123 subdomain');
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'not an RFC 1123 label');

const stringMap = z.record(z.string(), z.string());

export const objectMeta = z.looseObject({
  name: dnsSubdomain,
  namespace: dnsLabel.optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
});

export const labelSelector = z.strictObject({
  matchLabels: stringMap.optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string().min(1),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

// ---- autoscaling/v2 ----------------------------------------------------------------------------

const hpaScalingPolicy = z.strictObject({
  type: z.enum(['Pods', 'Percent']),
  value: int32.min(1),
  periodSeconds: z.int().min(1).max(1800),
});

export const hpaScalingRules = z.strictObject({
  stabilizationWindowSeconds: z.int().min(0).max(3600).optional(),
  selectPolicy: z.enum(['Max', 'Min', 'Disabled']).optional(),
  policies: z.array(hpaScalingPolicy).min(1).optional(),
  tolerance: quantity.optional(),
});

export const hpaBehavior = z.strictObject({
  scaleUp: hpaScalingRules.optional(),
  scaleDown: hpaScalingRules.optional(),
});

const metricTarget = z
  .strictObject({
    type: z.enum(['Utilization', 'Value', 'AverageValue']),
    value: quantity.optional(),
    averageValue: quantity.optional(),
    averageUtilization: int32.min(1).optional(),
  })
  .refine(
    (t) =>
      (t.type === 'Value' && t.value !== undefined) ||
      (t.type === 'AverageValue' && t.averageValue !== undefined) ||
      (t.type === 'Utilization' && t.averageUtilization !== undefined),
    { message: 'the target must set the field of its type (value, averageValue or averageUtilization)' },
  );

const metricIdentifier = z.strictObject({ name: z.string().min(1), selector: labelSelector.optional() });

const crossVersionObjectReference = z.strictObject({
  apiVersion: z.string().min(1).optional(),
  kind: z.string().min(1),
  name: dnsSubdomain,
});

const metricSpec = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('External'),
    external: z.strictObject({ metric: metricIdentifier, target: metricTarget }),
  }),
  z.strictObject({
    type: z.literal('Pods'),
    pods: z.strictObject({ metric: metricIdentifier, target: metricTarget }),
  }),
  z.strictObject({
    type: z.literal('Object'),
    object: z.strictObject({
      describedObject: crossVersionObjectReference,
      metric: metricIdentifier,
      target: metricTarget,
    }),
  }),
  z.strictObject({
    type: z.literal('Resource'),
    resource: z.strictObject({ name: z.string().min(1), target: metricTarget }),
  }),
  z.strictObject({
    type: z.literal('ContainerResource'),
    containerResource: z.strictObject({
      name: z.string().min(1),
      container: z.string().min(1),
      target: metricTarget,
    }),
  }),
]);

export const horizontalPodAutoscalerV2 = z.strictObject({
  apiVersion: z.literal('autoscaling/v2'),
  kind: z.literal('HorizontalPodAutoscaler'),
  metadata: objectMeta,
  spec: z
    .strictObject({
      scaleTargetRef: crossVersionObjectReference,
      minReplicas: int32.min(1).optional(),
      maxReplicas: int32.min(1),
      metrics: z.array(metricSpec).min(1).optional(),
      behavior: hpaBehavior.optional(),
    })
    .refine((s) => (s.minReplicas ?? 1) <= s.maxReplicas, {
      message: 'minReplicas must not exceed maxReplicas',
    }),
});

// ---- keda.sh/v1alpha1 ScaledObject -------------------------------------------------------------

/** KEDA trigger metadata values are strings; numbers must still parse as numbers. */
const numericString = z.string().regex(/^-?\d+(\.\d+)?$/, 'must be a number in a string, e.g. "1"');

/** The Prometheus scaler's parameters (keda.sh/docs/2.x/scalers/prometheus). */
export const kedaPrometheusMetadata = z.looseObject({
  serverAddress: z.url({ protocol: /^https?$/ }),
  query: z.string().min(1),
  threshold: numericString,
  activationThreshold: numericString.optional(),
  ignoreNullValues: z.enum(['true', 'false']).optional(),
  unsafeSsl: z.enum(['true', 'false']).optional(),
  namespace: z.string().optional(),
  customHeaders: z.string().optional(),
  queryParameters: z.string().optional(),
});

export const kedaTrigger = z
  .strictObject({
    type: z.string().min(1),
    name: z.string().min(1).optional(),
    metricType: z.enum(['AverageValue', 'Value', 'Utilization']).optional(),
    useCachedMetrics: z.boolean().optional(),
    metadata: stringMap,
    authenticationRef: z
      .strictObject({
        name: z.string().min(1),
        kind: z.enum(['TriggerAuthentication', 'ClusterTriggerAuthentication']).optional(),
      })
      .optional(),
  })
  .superRefine((trigger, ctx) => {
    if (trigger.type !== 'prometheus') return;
    const parsed = kedaPrometheusMetadata.safeParse(trigger.metadata);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', message: issue.message, path: ['metadata', ...issue.path] });
      }
    }
  });

export const scaledObject = z.strictObject({
  apiVersion: z.literal('keda.sh/v1alpha1'),
  kind: z.literal('ScaledObject'),
  metadata: objectMeta,
  spec: z
    .strictObject({
      scaleTargetRef: z.strictObject({
        name: dnsSubdomain,
        apiVersion: z.string().min(1).optional(),
        kind: z.string().min(1).optional(),
        envSourceContainerName: z.string().optional(),
      }),
      pollingInterval: int32.min(1).optional(),
      cooldownPeriod: int32.min(0).optional(),
      initialCooldownPeriod: int32.min(0).optional(),
      idleReplicaCount: int32.min(0).optional(),
      minReplicaCount: int32.min(0).optional(),
      maxReplicaCount: int32.min(1).optional(),
      fallback: z
        .strictObject({
          failureThreshold: int32.min(1),
          replicas: int32.min(0),
          behavior: z
            .enum(['static', 'currentReplicas', 'currentReplicasIfHigher', 'currentReplicasIfLower'])
            .optional(),
        })
        .optional(),
      advanced: z
        .strictObject({
          restoreToOriginalReplicaCount: z.boolean().optional(),
          horizontalPodAutoscalerConfig: z
            .strictObject({ name: dnsSubdomain.optional(), behavior: hpaBehavior.optional() })
            .optional(),
          scalingModifiers: z
            .strictObject({
              formula: z.string().min(1),
              target: numericString,
              activationTarget: numericString.optional(),
              metricType: z.enum(['AverageValue', 'Value']).optional(),
            })
            .optional(),
        })
        .optional(),
      triggers: z.array(kedaTrigger).min(1),
    })
    .refine((s) => (s.minReplicaCount ?? 0) <= (s.maxReplicaCount ?? 100), {
      message: 'minReplicaCount must not exceed maxReplicaCount',
    })
    .refine(
      (s) => !s.fallback || s.triggers.every((t) => (t.metricType ?? 'AverageValue') === 'AverageValue'),
      {
        message: 'fallback is only supported with AverageValue triggers',
      },
    )
    .refine((s) => !s.fallback || s.fallback.replicas <= (s.maxReplicaCount ?? 100), {
      message: 'fallback replicas must not exceed maxReplicaCount',
    }),
});

// ---- apps/v1 Deployment (the fields we use) ------------------------------------------------------

const probe = z.looseObject({
  httpGet: z.strictObject({
    path: z.string().startsWith('/'),
    port: z.union([z.int().min(1).max(65535), dnsLabel.max(15)]),
    scheme: z.enum(['HTTP', 'HTTPS']).optional(),
  }),
  initialDelaySeconds: int32.min(0).optional(),
  periodSeconds: int32.min(1).optional(),
  failureThreshold: int32.min(1).optional(),
  timeoutSeconds: int32.min(1).optional(),
});

/** A lifecycle hook: exactly one action. `sleep` (Kubernetes ≥ 1.30) needs no binary in the image. */
const lifecycleHandler = z
  .strictObject({
    exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
    httpGet: z
      .looseObject({ path: z.string().startsWith('/'), port: z.union([z.int(), dnsLabel.max(15)]) })
      .optional(),
    sleep: z.strictObject({ seconds: z.int().min(1) }).optional(),
  })
  .refine((h) => [h.exec, h.httpGet, h.sleep].filter((a) => a !== undefined).length === 1, {
    message: 'a lifecycle handler sets exactly one of exec, httpGet and sleep',
  });

const container = z.looseObject({
  name: dnsLabel,
  image: z.string().min(1),
  command: z.array(z.string()).optional(),
  ports: z
    .array(
      z.strictObject({
        name: dnsLabel.max(15).optional(),
        containerPort: z.int().min(1).max(65535),
        protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
      }),
    )
    .optional(),
  env: z
    .array(
      z
        .strictObject({
          name: z.string().min(1),
          value: z.string().optional(),
          valueFrom: z.looseObject({}).optional(),
        })
        .refine((e) => (e.value === undefined) !== (e.valueFrom === undefined), {
          message: 'an env var sets exactly one of value and valueFrom',
        }),
    )
    .optional(),
  readinessProbe: probe.optional(),
  livenessProbe: probe.optional(),
  lifecycle: z
    .strictObject({ preStop: lifecycleHandler.optional(), postStart: lifecycleHandler.optional() })
    .optional(),
  resources: z
    .strictObject({
      requests: z.strictObject({ cpu: z.string().optional(), memory: z.string().optional() }).optional(),
      limits: z.strictObject({ cpu: z.string().optional(), memory: z.string().optional() }).optional(),
    })
    .optional(),
});

export const topologySpreadConstraint = z
  .strictObject({
    maxSkew: int32.min(1),
    topologyKey: z.string().min(1),
    whenUnsatisfiable: z.enum(['DoNotSchedule', 'ScheduleAnyway']),
    labelSelector: labelSelector.optional(),
    matchLabelKeys: z.array(z.string().min(1)).optional(),
    minDomains: int32.min(1).optional(),
    nodeAffinityPolicy: z.enum(['Honor', 'Ignore']).optional(),
    nodeTaintsPolicy: z.enum(['Honor', 'Ignore']).optional(),
  })
  .refine((c) => c.minDomains === undefined || c.whenUnsatisfiable === 'DoNotSchedule', {
    message: 'minDomains is only allowed with whenUnsatisfiable: DoNotSchedule',
  });

/** Whether a label selector selects an object with these labels (matchLabels and matchExpressions ANDed). */
export function selects(selector: z.infer<typeof labelSelector>, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const value = labels[key];
    if (operator === 'In') return value !== undefined && values.includes(value);
    if (operator === 'NotIn') return value === undefined || !values.includes(value);
    return operator === 'Exists' ? value !== undefined : value === undefined;
  });
  return byLabels && byExpressions;
}

export const deploymentV1 = z.strictObject({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('Deployment'),
  metadata: objectMeta,
  spec: z
    .looseObject({
      replicas: int32.min(0).optional(),
      selector: labelSelector,
      template: z.looseObject({
        metadata: z.looseObject({ labels: stringMap, annotations: stringMap.optional() }),
        spec: z.looseObject({
          containers: z.array(container).min(1),
          terminationGracePeriodSeconds: z.int().min(0).optional(),
          topologySpreadConstraints: z.array(topologySpreadConstraint).optional(),
        }),
      }),
    })
    .refine(
      (s) =>
        Object.entries(s.selector.matchLabels ?? {}).every(
          ([key, value]) => s.template.metadata.labels[key] === value,
        ),
      { message: 'the selector must match the pod template labels' },
    )
    .refine(
      (s) =>
        (s.template.spec.topologySpreadConstraints ?? []).every(
          (c) => c.labelSelector !== undefined && selects(c.labelSelector, s.template.metadata.labels),
        ),
      { message: "a topology spread constraint's labelSelector must select the Deployment's own pods" },
    ),
});

// ---- v1 Service and policy/v1 PodDisruptionBudget ----------------------------------------------

const intOrString = z.union([z.int().min(0), z.string().regex(/^(\d+%?)$/, 'an integer or a percentage')]);

export const serviceV1 = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: objectMeta,
  spec: z
    .strictObject({
      type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).optional(),
      selector: stringMap,
      ports: z
        .array(
          z.strictObject({
            name: dnsLabel.optional(),
            port: z.int().min(1).max(65535),
            targetPort: z.union([z.int().min(1).max(65535), dnsLabel.max(15)]).optional(),
            protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
            appProtocol: z.string().min(1).optional(),
          }),
        )
        .min(1),
      sessionAffinity: z.enum(['None', 'ClientIP']).optional(),
      internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    })
    .refine((s) => s.ports.length === 1 || s.ports.every((p) => p.name !== undefined), {
      message: 'every port of a multi-port Service needs a name',
    }),
});

export const podDisruptionBudgetV1 = z.strictObject({
  apiVersion: z.literal('policy/v1'),
  kind: z.literal('PodDisruptionBudget'),
  metadata: objectMeta,
  spec: z
    .strictObject({
      selector: labelSelector,
      minAvailable: intOrString.optional(),
      maxUnavailable: intOrString.optional(),
      unhealthyPodEvictionPolicy: z.enum(['IfHealthyBudget', 'AlwaysAllow']).optional(),
    })
    .refine((s) => (s.minAvailable === undefined) !== (s.maxUnavailable === undefined), {
      message: 'set exactly one of minAvailable and maxUnavailable',
    }),
});

// ---- monitoring.coreos.com/v1 PodMonitor (prometheus-operator) ------------------------------------

/** The operator's Duration pattern (e.g. "30s", "1m30s"). */
const promDuration = z
  .string()
  .regex(
    /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/,
    'not a duration',
  );

const relabelActions = [
  'replace',
  'keep',
  'drop',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
  'keepequal',
  'dropequal',
] as const;

export const relabelConfig = z
  .strictObject({
    sourceLabels: z.array(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'not a label name')).optional(),
    separator: z.string().optional(),
    targetLabel: z.string().min(1).optional(),
    regex: z.string().optional(),
    modulus: z.int().min(1).optional(),
    replacement: z.string().optional(),
    action: z
      .enum([...relabelActions, ...relabelActions.map((a) => a.charAt(0).toUpperCase() + a.slice(1))])
      .optional(),
  })
  .refine(
    (r) =>
      !['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(
        (r.action ?? 'replace').toLowerCase(),
      ) || r.targetLabel !== undefined,
    { message: 'this relabel action needs a targetLabel' },
  );

export const podMonitorV1 = z.strictObject({
  apiVersion: z.literal('monitoring.coreos.com/v1'),
  kind: z.literal('PodMonitor'),
  metadata: objectMeta,
  spec: z.strictObject({
    selector: labelSelector,
    namespaceSelector: z
      .strictObject({ any: z.boolean().optional(), matchNames: z.array(dnsLabel).optional() })
      .optional(),
    jobLabel: z.string().optional(),
    podTargetLabels: z.array(z.string()).optional(),
    podMetricsEndpoints: z
      .array(
        z
          .strictObject({
            port: dnsLabel.max(15).optional(),
            portNumber: z.int().min(1).max(65535).optional(),
            path: z.string().startsWith('/').optional(),
            scheme: z.enum(['http', 'https']).optional(),
            interval: promDuration.optional(),
            scrapeTimeout: promDuration.optional(),
            honorLabels: z.boolean().optional(),
            relabelings: z.array(relabelConfig).optional(),
            metricRelabelings: z.array(relabelConfig).optional(),
          })
          .refine((e) => e.port !== undefined || e.portNumber !== undefined, {
            message: 'an endpoint names its port (port) or gives its number (portNumber)',
          }),
      )
      .min(1),
  }),
});

// ---- prometheus-adapter ---------------------------------------------------------------------------

const prometheusAdapterExternalRuleList = z
  .array(
    z.strictObject({
      seriesQuery: z.string().min(1),
      seriesFilters: z.array(z.looseObject({})).optional(),
      resources: z
        .strictObject({
          namespaced: z.boolean().optional(),
          template: z.string().optional(),
          overrides: z
            .record(z.string(), z.strictObject({ group: z.string().optional(), resource: z.string().min(1) }))
            .optional(),
        })
        .optional(),
      name: z.strictObject({ matches: z.string().min(1), as: z.string().optional() }).optional(),
      metricsQuery: z.string().includes('<<.Series>>'),
    }),
  )
  .min(1);

/** prometheus-adapter's own config.yaml (`--config`). */
export const prometheusAdapterExternalRules = z.strictObject({
  externalRules: prometheusAdapterExternalRuleList,
});

/** Values of the prometheus-community/prometheus-adapter Helm chart (the parts we set). */
export const prometheusAdapterHelmValues = z.looseObject({
  prometheus: z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    port: z.int().min(1).max(65535),
    path: z.string().optional(),
  }),
  rules: z.looseObject({ external: prometheusAdapterExternalRuleList }),
});
