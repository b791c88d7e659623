import { type CatalogTopic, dlqSuffix, type TopicCatalog } from './catalogSchema.ts';
import { UnknownProfileError } from './topicsErrors.ts';

/** The topic-level configs the tool owns; any other config on a topic is left as the cluster has it. */
export const managedConfigNames = ['cleanup.policy', 'min.insync.replicas', 'retention.ms'] as const;

/** One of the configs in managedConfigNames. */
export type ManagedConfigName = (typeof managedConfigNames)[number];

/** A topic as it should exist on one cluster: the catalog after profile overrides and name prefix. */
export interface DesiredTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Readonly<Record<ManagedConfigName, string>>;
  /** For a DLQ, the topic whose dead letters it holds. */
  deadLetterOf: string | null;
}

/** How to place the catalog on a cluster. */
export interface PlacementOptions {
  /** A profile of the catalog (e.g. local, production). */
  profile: string;
  /** Prepended to every name; tests use a random one so that runs never share topics. */
  namePrefix?: string;
}

/** The dead-letter topic of a consumed topic (BRIEF §4: `<topic>.dlq`). */
export function deadLetterTopicName(topic: string): string {
  return `${topic}${dlqSuffix}`;
}

/** Lists every topic the catalog wants on the cluster, each consumed topic followed by its DLQ. */
export function resolveDesiredTopics(catalog: TopicCatalog, options: PlacementOptions): DesiredTopic[] {
  const overrides = catalog.profiles[options.profile];
  if (!overrides) {
    throw new UnknownProfileError(options.profile, Object.keys(catalog.profiles));
  }
  const prefix = options.namePrefix ?? '';
  return catalog.topics.flatMap((topic: CatalogTopic): DesiredTopic[] => {
    const replicationFactor = overrides.replicationFactor ?? topic.replicationFactor;
    const minInsyncReplicas = String(overrides.minInsyncReplicas ?? topic.minInsyncReplicas);
    const main: DesiredTopic = {
      name: `${prefix}${topic.name}`,
      partitions: topic.partitions,
      replicationFactor,
      configs: {
        'cleanup.policy': topic.cleanupPolicy,
        'min.insync.replicas': minInsyncReplicas,
        'retention.ms': String(topic.retentionMs),
      },
      deadLetterOf: null,
    };
    if (topic.dlqRetentionMs === null) return [main];
    // Same partition count, so a replay from the DLQ lands a key where its siblings are; always
    // `delete`, because compaction would silently drop all but the last dead letter of a key.
    const dlq: DesiredTopic = {
      name: deadLetterTopicName(main.name),
      partitions: topic.partitions,
      replicationFactor,
      configs: {
        'cleanup.policy': 'delete',
        'min.insync.replicas': minInsyncReplicas,
        'retention.ms': String(topic.dlqRetentionMs),
      },
      deadLetterOf: main.name,
    };
    return [main, dlq];
  });
}
