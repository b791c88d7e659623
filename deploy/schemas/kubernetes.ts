import { z } from 'zod';

/**
 * The parts of the Kubernetes and KEDA schemas our manifests use, as zod schemas, so a unit test
 * catches what `kubectl apply --validate=strict` or KEDA's admission webhook would refuse — without
 * a cluster. Sources:
 * - KEDA v2.x CRD `keda.sh_scaledobjects.yaml` (ScaledObjectSpec, ScaleTriggers, Fallback,
 *   AdvancedConfig) and its webhook rules (fallback needs AverageValue triggers; min ≤ max);
 * - Kubernetes API `autoscaling/v2` (HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
 *   HPAScalingRules: periodSeconds 1…1800, stabilizationWindowSeconds 0…3600);
 * - `apps/v1` Deployment (the fields we set);
 * - prometheus-adapter's `externalRules` config.
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
  resources: z
    .strictObject({
      requests: z.strictObject({ cpu: z.string().optional(), memory: z.string().optional() }).optional(),
      limits: z.strictObject({ cpu: z.string().optional(), memory: z.string().optional() }).optional(),
    })
    .optional(),
});

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
        }),
      }),
    })
    .refine(
      (s) =>
        Object.entries(s.selector.matchLabels ?? {}).every(
          ([key, value]) => s.template.metadata.labels[key] === value,
        ),
      { message: 'the selector must match the pod template labels' },
    ),
});

// ---- prometheus-adapter ---------------------------------------------------------------------------

export const prometheusAdapterExternalRules = z.strictObject({
  externalRules: z
    .array(
      z.strictObject({
        seriesQuery: z.string().min(1),
        seriesFilters: z.array(z.looseObject({})).optional(),
        resources: z
          .strictObject({
            namespaced: z.boolean().optional(),
            template: z.string().optional(),
            overrides: z
              .record(
                z.string(),
                z.strictObject({ group: z.string().optional(), resource: z.string().min(1) }),
              )
              .optional(),
          })
          .optional(),
        name: z.strictObject({ matches: z.string().min(1), as: z.string().optional() }).optional(),
        metricsQuery: z.string().includes('<<.Series>>'),
      }),
    )
    .min(1),
});
