import { type DesiredTopic, managedConfigNames } from './desiredTopics.ts';

/** A topic as the cluster has it; `configs` holds effective values (a missing key counts as unknown). */
export interface ObservedTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Readonly<Record<string, string | null>>;
}

/** A change the tool makes. */
export type TopicAction =
  | {
      kind: 'create-topic';
      topic: string;
      partitions: number;
      replicationFactor: number;
      configs: Readonly<Record<string, string>>;
    }
  | { kind: 'add-partitions'; topic: string; from: number; to: number }
  | { kind: 'alter-config'; topic: string; config: string; from: string | null; to: string };

/** A difference the tool will not resolve by itself, with the reason a human must. */
export interface TopicRefusal {
  kind: 'shrink-partitions' | 'change-replication-factor' | 'delete-topic' | 'alter-config';
  topic: string;
  /** The config concerned, for `alter-config`. */
  config?: string;
  from: string | null;
  to: string | null;
  reason: string;
}

/** The difference between the catalog and a cluster. */
export interface TopicPlan {
  actions: readonly TopicAction[];
  refusals: readonly TopicRefusal[];
  /** Desired topics that already match. */
  inSync: readonly string[];
}

/** Why a min.insync.replicas change from `from` to `to` must not be applied; undefined when it may. */
function minInsyncRefusal(from: string | null, to: string, replicationFactor: number): string | undefined {
  if (Number(to) > replicationFactor) {
    return `the topic has ${replicationFactor} replica(s), so acks=all writes would all fail`;
  }
  if (from !== null && Number(to) < Number(from)) {
    return 'fewer in-sync replicas would acknowledge acks=all writes: one broker lost could lose them. Lower it by hand (kafka-configs) if that is really meant';
  }
  return undefined;
}

/** Which cluster topics the catalog answers for. */
export interface PlanScope {
  /** Cluster topics under this prefix that the catalog does not list are reported (never deleted). */
  fleetPrefix: string;
}

/**
 * Diffs the desired topics against the observed cluster (pure: no I/O). Creates what is missing,
 * raises partition counts and aligns managed configs; refuses what Kafka cannot undo or what
 * could lose data or block writes: fewer partitions, deleting topics, a min.insync.replicas above
 * the topic's actual replication factor or below its current one, and every change of a topic
 * whose replication factor is not the profile's (the wrong --profile for this cluster).
 */
export function planTopics(
  desired: readonly DesiredTopic[],
  observed: readonly ObservedTopic[],
  scope: PlanScope,
): TopicPlan {
  const actions: TopicAction[] = [];
  const refusals: TopicRefusal[] = [];
  const inSync: string[] = [];
  const observedByName = new Map(observed.map((topic) => [topic.name, topic]));

  for (const want of desired) {
    const have = observedByName.get(want.name);
    if (!have) {
      actions.push({
        kind: 'create-topic',
        topic: want.name,
        partitions: want.partitions,
        replicationFactor: want.replicationFactor,
        configs: { ...want.configs },
      });
      continue;
    }
    const before = actions.length + refusals.length;

    // Another replication factor than the catalog's profile says is, in practice, the wrong
    // profile for this cluster (the local one against production): nothing of it may be applied
    // to the topic, least of all its min.insync.replicas.
    if (want.replicationFactor !== have.replicationFactor) {
      refusals.push({
        kind: 'change-replication-factor',
        topic: want.name,
        from: String(have.replicationFactor),
        to: String(want.replicationFactor),
        reason:
          'needs a partition reassignment (kafka-reassign-partitions) planned by an operator; nothing else of this topic is changed either — is this the right --profile for this cluster?',
      });
      continue;
    }

    if (want.partitions > have.partitions) {
      actions.push({ kind: 'add-partitions', topic: want.name, from: have.partitions, to: want.partitions });
    } else if (want.partitions < have.partitions) {
      refusals.push({
        kind: 'shrink-partitions',
        topic: want.name,
        from: String(have.partitions),
        to: String(want.partitions),
        reason:
          'Kafka cannot remove partitions; keep the catalog at the current count, or create a new topic version and migrate',
      });
    }

    for (const config of managedConfigNames) {
      const to = want.configs[config];
      const from = have.configs[config] ?? null;
      if (from !== null && sameConfigValue(config, from, to)) continue;
      const refused =
        config === 'min.insync.replicas' ? minInsyncRefusal(from, to, have.replicationFactor) : undefined;
      if (refused !== undefined) {
        refusals.push({ kind: 'alter-config', topic: want.name, config, from, to, reason: refused });
        continue;
      }
      actions.push({ kind: 'alter-config', topic: want.name, config, from, to });
    }

    if (actions.length + refusals.length === before) inSync.push(want.name);
  }

  const desiredNames = new Set(desired.map((topic) => topic.name));
  const unlisted = observed
    .filter((topic) => topic.name.startsWith(scope.fleetPrefix) && !desiredNames.has(topic.name))
    .map((topic) => topic.name)
    .sort();
  for (const topic of unlisted) {
    refusals.push({
      kind: 'delete-topic',
      topic,
      from: null,
      to: null,
      reason:
        'on the cluster but not in the catalog; not deleted: check that nothing reads it, then delete it by hand',
    });
  }

  return { actions, refusals, inSync };
}

/** True when the plan changes nothing and refuses nothing. */
export function isEmptyPlan(plan: TopicPlan): boolean {
  return plan.actions.length === 0 && plan.refusals.length === 0;
}

/** Compares config values by meaning: `delete,compact` and `compact,delete` are one policy. */
export function sameConfigValue(config: string, a: string, b: string): boolean {
  return normalizeConfig(config, a) === normalizeConfig(config, b);
}

function normalizeConfig(config: string, value: string): string {
  const trimmed = value.trim();
  if (config === 'cleanup.policy') {
    return trimmed
      .split(',')
      .map((part) => part.trim())
      .sort()
      .join(',');
  }
  return trimmed;
}
