/** The admin reads one poll makes, named as the `stage` label of fleet_lag_poll_errors_total. */
export const pollStages = ['list_groups', 'describe_groups', 'fetch_offsets', 'topic_offsets'] as const;
export type PollStage = (typeof pollStages)[number];

/** A read that failed inside an otherwise good poll: what it leaves unknown. */
export interface ReadProblem {
  stage: PollStage;
  /** The group or topic it concerns. */
  subject: string;
  message: string;
  retriable: boolean;
}

/** What one poll saw of a consumer group. */
export interface GroupObservation {
  groupId: string;
  /** Broker's group state (STABLE, EMPTY, …); undefined when the description failed. */
  state: string | undefined;
  /** Live members; undefined when the description failed. */
  members: number | undefined;
  /** `topic:partition` owned by a live member; undefined when the description listed no assignments. */
  owned: ReadonlySet<string> | undefined;
  /** Each live member's `topic:partition` assignment (a member may own none); undefined when the description listed none. */
  assignments?: readonly ReadonlySet<string>[];
  /** Committed offsets by topic and partition; undefined when the read failed. */
  committed: ReadonlyMap<string, ReadonlyMap<number, number>> | undefined;
  /** Partitions whose committed offset the broker could not read (a per-partition error): unknown, not "never committed". */
  unreadable?: ReadonlyMap<string, ReadonlySet<number>>;
  /** Topics the group consumes: those it committed on plus those assigned to its members. */
  topics: readonly string[];
}

/** What one poll saw of a topic: its partitions' log-end and log-start offsets, undefined when the read failed. */
export interface TopicObservation {
  topic: string;
  logEnd: ReadonlyMap<number, number> | undefined;
  logStart: ReadonlyMap<number, number> | undefined;
  /**
   * Partitions whose offsets the broker could not give (no leader, a per-partition error: the
   * client reports -1): absent from `logEnd`/`logStart`, unknown rather than empty.
   */
  unreadable?: ReadonlySet<number>;
}

/** One good poll of the cluster (the group listing worked; single reads may still have failed). */
export interface ClusterSample {
  /** When the log-end offsets were read, ms since epoch. */
  time: number;
  groups: readonly GroupObservation[];
  topics: ReadonlyMap<string, TopicObservation>;
  problems: readonly ReadProblem[];
}

/** The key of a partition in sets and maps. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** The topic of a `partitionKey`. */
export function topicOf(key: string): string {
  return key.slice(0, key.lastIndexOf(':'));
}
