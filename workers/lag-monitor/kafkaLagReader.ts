import { KafkaJS } from '@confluentinc/kafka-javascript';
import { librdkafkaCodes, toKafkaClientError } from '../runtime/kafka/librdkafkaErrors.ts';
import {
  type ClusterSample,
  type GroupObservation,
  type PollStage,
  partitionKey,
  type ReadProblem,
  type TopicObservation,
} from './clusterSample.ts';
import type { KafkaAdmin } from './kafkaAdmin.ts';
import { LagReadError } from './lagErrors.ts';

/** The admin calls a lag read makes. */
export type LagAdmin = Pick<
  KafkaAdmin,
  'listGroups' | 'describeGroups' | 'fetchOffsets' | 'fetchTopicOffsets'
>;

/** Group state names by the numeric ConsumerGroupStates of the client (types/rdkafka.d.ts). */
const groupStateNames = ['UNKNOWN', 'PREPARING_REBALANCE', 'COMPLETING_REBALANCE', 'STABLE', 'DEAD', 'EMPTY'];

export interface KafkaLagReaderOptions {
  admin: LagAdmin;
  /** Which groups to read (LAG_GROUP_PATTERN). */
  groupPattern: RegExp;
  /** Per-request timeout of every admin call. */
  timeoutMs: number;
  /** Clock for the sample time; default Date.now. */
  now?: () => number;
}

/**
 * Reads, per poll, the committed offsets of every matching group and the log-end offsets of
 * their topics. Committed offsets are read before log ends, so a lag is never under-reported
 * by a commit landing between the two reads. A failed group listing fails the whole poll
 * (a partial list would make groups look gone); any other failed read is recorded as a
 * problem and leaves only what it concerns unknown.
 */
export class KafkaLagReader {
  private readonly options: KafkaLagReaderOptions;
  /**
   * Each group's topics as its last good offset read listed them: a failed read (a coordinator
   * moving) of a group without members would otherwise list none, and the topics' log ends
   * would go unread, their time-lag history and the partitions' status windows forgotten.
   */
  private readonly knownTopics = new Map<string, readonly string[]>();

  constructor(options: KafkaLagReaderOptions) {
    this.options = options;
  }

  /** One poll; rejects with LagReadError when the groups cannot be listed. */
  async read(): Promise<ClusterSample> {
    const { admin, timeoutMs } = this.options;
    const problems: ReadProblem[] = [];
    const groupIds = await this.listMatchingGroups();
    const descriptions = new Map<
      string,
      { state: string; members: number; assignments: Set<string>[] | undefined }
    >();
    if (groupIds.length > 0) {
      try {
        const described = await admin.describeGroups(groupIds, { timeout: timeoutMs });
        for (const group of described.groups) {
          if (group.error) {
            problems.push(problem('describe_groups', group.groupId, group.error));
            continue;
          }
          descriptions.set(group.groupId, {
            state: groupStateNames[group.state] ?? String(group.state),
            members: group.members.length,
            assignments: memberAssignments(group.members),
          });
        }
      } catch (error) {
        for (const groupId of groupIds) problems.push(problem('describe_groups', groupId, error));
      }
    }
    const groups = await Promise.all(
      groupIds.map(async (groupId): Promise<GroupObservation> => {
        const description = descriptions.get(groupId);
        let committed: Map<string, Map<number, number>> | undefined;
        const unreadable = new Map<string, Set<number>>();
        try {
          const fetched = await admin.fetchOffsets({ groupId, timeout: timeoutMs });
          committed = new Map();
          for (const { topic, partitions } of fetched) {
            const byPartition = new Map<number, number>();
            for (const p of partitions) {
              if (p.error) {
                // Not "never committed" (that would count the whole log as lag): unknown.
                problems.push(problem('fetch_offsets', groupId, p.error));
                unreadable.set(topic, (unreadable.get(topic) ?? new Set()).add(p.partition));
                continue;
              }
              const offset = Number(p.offset);
              // -1: nothing committed for this partition.
              if (Number.isSafeInteger(offset) && offset >= 0) byPartition.set(p.partition, offset);
            }
            committed.set(topic, byPartition);
          }
        } catch (error) {
          problems.push(problem('fetch_offsets', groupId, error));
        }
        const owned = description?.assignments && new Set(description.assignments.flatMap((a) => [...a]));
        const assignedTopics = [...(owned ?? [])].map((key) => key.slice(0, key.lastIndexOf(':')));
        const readTopics = committed?.keys() ?? this.knownTopics.get(groupId) ?? [];
        const topics = [...new Set([...readTopics, ...assignedTopics])].sort();
        if (committed) this.knownTopics.set(groupId, topics);
        return {
          groupId,
          state: description?.state,
          members: description?.members,
          owned,
          ...(description?.assignments ? { assignments: description.assignments } : {}),
          committed,
          ...(unreadable.size > 0 ? { unreadable } : {}),
          topics,
        };
      }),
    );
    for (const groupId of [...this.knownTopics.keys()]) {
      if (!groupIds.includes(groupId)) this.knownTopics.delete(groupId);
    }
    const topicNames = [...new Set(groups.flatMap((g) => g.topics))].sort();
    const deleted = new Set<string>();
    const observations = await Promise.all(
      topicNames.map(async (topic): Promise<TopicObservation> => {
        try {
          const offsets = await admin.fetchTopicOffsets(topic, {
            timeout: timeoutMs,
            isolationLevel: KafkaJS.IsolationLevel.READ_UNCOMMITTED,
          });
          return {
            topic,
            logEnd: new Map(offsets.map((o) => [o.partition, Number(o.high)])),
            logStart: new Map(offsets.map((o) => [o.partition, Number(o.low)])),
          };
        } catch (error) {
          // A deleted topic keeps its groups' commits until they expire: not a failed read.
          if ((error as { code?: unknown }).code === librdkafkaCodes.UNKNOWN_TOPIC_OR_PART)
            deleted.add(topic);
          else problems.push(problem('topic_offsets', topic, error));
          return { topic, logEnd: undefined, logStart: undefined };
        }
      }),
    );
    const now = this.options.now ?? Date.now;
    return {
      time: now(),
      groups: groups.map((g) => (deleted.size === 0 ? g : withoutTopics(g, deleted))),
      topics: new Map(observations.filter((o) => !deleted.has(o.topic)).map((o) => [o.topic, o])),
      problems,
    };
  }

  private async listMatchingGroups(): Promise<string[]> {
    let listed: Awaited<ReturnType<LagAdmin['listGroups']>>;
    try {
      listed = await this.options.admin.listGroups({ timeout: this.options.timeoutMs });
    } catch (error) {
      throw toKafkaClientError(error, 'could not list consumer groups', LagReadError);
    }
    if (listed.errors.length > 0) {
      throw toKafkaClientError(
        listed.errors[0],
        `the consumer group listing is incomplete (${listed.errors.length} broker error(s))`,
        LagReadError,
      );
    }
    return listed.groups
      .map((g) => g.groupId)
      .filter((id) => this.options.groupPattern.test(id))
      .sort();
  }
}

/** Each member's current assignment as `topic:partition` keys; undefined when no member lists one. */
function memberAssignments(
  members: readonly { assignment?: { topicPartitions?: readonly { topic: string; partition: number }[] } }[],
): Set<string>[] | undefined {
  if (members.length === 0) return [];
  let listed = false;
  const assignments = members.map((member) => {
    const partitions = member.assignment?.topicPartitions;
    if (partitions) listed = true;
    return new Set((partitions ?? []).map((tp) => partitionKey(tp.topic, tp.partition)));
  });
  return listed ? assignments : undefined;
}

/** The group as if it had never consumed `topics`. */
function withoutTopics(group: GroupObservation, topics: ReadonlySet<string>): GroupObservation {
  const committed = group.committed
    ? new Map([...group.committed].filter(([topic]) => !topics.has(topic)))
    : undefined;
  return { ...group, committed, topics: group.topics.filter((t) => !topics.has(t)) };
}

function problem(stage: PollStage, subject: string, error: unknown): ReadProblem {
  const typed = toKafkaClientError(error, `${stage.replace('_', ' ')} failed for ${subject}`, LagReadError);
  return { stage, subject, message: typed.message, retriable: typed.retriable };
}
