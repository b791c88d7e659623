import { KafkaJS } from '@confluentinc/kafka-javascript';
import { librdkafkaCodes, toKafkaClientError } from '../runtime/kafka/librdkafkaErrors.ts';
import {
  type ClusterSample,
  type GroupObservation,
  type PollStage,
  partitionKey,
  type ReadProblem,
  type TopicObservation,
  topicOf,
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

/**
 * Consecutive UNKNOWN_TOPIC_OR_PART answers from which a topic counts as deleted. Brokers give
 * that answer briefly for a topic that exists (one just created answered it 5 reads in a row,
 * half a second apart; a broker whose metadata lags behind); taken at once, it silently dropped
 * the topic from its groups' figures and forgot its history. Three polls apart is longer than
 * that, and still frees a really deleted topic's groups within seconds.
 */
const unknownTopicAnswersBeforeDeleted = 3;

/** What the group description says of one group. */
interface GroupDescription {
  state: string;
  members: number;
  assignments: Set<string>[] | undefined;
}

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
   * Every topic it committed on, also those a stable group no longer consumes: should the group
   * empty (its consumers die) while its offset read fails, their backlog is its again.
   */
  private readonly knownTopics = new Map<string, readonly string[]>();
  /** Consecutive UNKNOWN_TOPIC_OR_PART answers by topic, for the topics the last poll read. */
  private readonly unknownTopicAnswers = new Map<string, number>();

  constructor(options: KafkaLagReaderOptions) {
    this.options = options;
  }

  /** One poll; rejects with LagReadError when the groups cannot be listed. */
  async read(): Promise<ClusterSample> {
    const problems: ReadProblem[] = [];
    const groupIds = await this.listMatchingGroups();
    const descriptions = await this.describeGroups(groupIds, problems);
    const groups = await Promise.all(
      groupIds.map((groupId) => this.readGroup(groupId, descriptions.get(groupId), problems)),
    );
    for (const groupId of [...this.knownTopics.keys()]) {
      if (!groupIds.includes(groupId)) this.knownTopics.delete(groupId);
    }
    const topicNames = [...new Set(groups.flatMap((g) => g.topics))].sort();
    for (const topic of [...this.unknownTopicAnswers.keys()]) {
      if (!topicNames.includes(topic)) this.unknownTopicAnswers.delete(topic);
    }
    const deleted = new Set<string>();
    const observations = await Promise.all(
      topicNames.map((topic) => this.readTopic(topic, deleted, problems)),
    );
    const now = this.options.now ?? Date.now;
    return {
      time: now(),
      groups: groups.map((g) => (deleted.size === 0 ? g : withoutTopics(g, deleted))),
      topics: new Map(observations.filter((o) => !deleted.has(o.topic)).map((o) => [o.topic, o])),
      problems,
    };
  }

  /** The descriptions of `groupIds`; a group whose description failed is absent (and a problem). */
  private async describeGroups(
    groupIds: readonly string[],
    problems: ReadProblem[],
  ): Promise<Map<string, GroupDescription>> {
    const descriptions = new Map<string, GroupDescription>();
    if (groupIds.length === 0) return descriptions;
    try {
      const described = await this.options.admin.describeGroups([...groupIds], {
        timeout: this.options.timeoutMs,
      });
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
    return descriptions;
  }

  /** One group's committed offsets and topics, narrowed to what it consumes now when that is known. */
  private async readGroup(
    groupId: string,
    description: GroupDescription | undefined,
    problems: ReadProblem[],
  ): Promise<GroupObservation> {
    const { admin, timeoutMs } = this.options;
    const consumed = consumedTopics(description);
    let committed: Map<string, Map<number, number>> | undefined;
    const unreadable = new Map<string, Set<number>>();
    try {
      const fetched = await admin.fetchOffsets({ groupId, timeout: timeoutMs });
      committed = new Map();
      for (const { topic, partitions } of fetched) {
        const byPartition = new Map<number, number>();
        for (const p of partitions) {
          if (p.error) {
            // A topic the group left is dropped below: its failed read concerns nothing.
            if (consumed && !consumed.has(topic)) continue;
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
    const assignedTopics = [...(owned ?? [])].map(topicOf);
    const readTopics = committed?.keys() ?? this.knownTopics.get(groupId) ?? [];
    const topics = [...new Set([...readTopics, ...assignedTopics])].sort();
    if (committed) this.knownTopics.set(groupId, topics);
    const observation: GroupObservation = {
      groupId,
      state: description?.state,
      members: description?.members,
      owned,
      ...(description?.assignments ? { assignments: description.assignments } : {}),
      committed,
      ...(unreadable.size > 0 ? { unreadable } : {}),
      topics,
    };
    if (!consumed) return observation;
    // Old commits on a topic the group unsubscribed from would page (STOP) and inflate its
    // partition count and backlog until they expire, 7 days later.
    const left = new Set(topics.filter((t) => !consumed.has(t)));
    return left.size === 0 ? observation : withoutTopics(observation, left);
  }

  /** One topic's offsets; a topic in `deleted` once it answered UNKNOWN_TOPIC_OR_PART often enough. */
  private async readTopic(
    topic: string,
    deleted: Set<string>,
    problems: ReadProblem[],
  ): Promise<TopicObservation> {
    try {
      const offsets = await this.options.admin.fetchTopicOffsets(topic, {
        timeout: this.options.timeoutMs,
        isolationLevel: KafkaJS.IsolationLevel.READ_UNCOMMITTED,
      });
      this.unknownTopicAnswers.delete(topic);
      return topicObservation(topic, offsets, problems);
    } catch (error) {
      if ((error as { code?: unknown }).code === librdkafkaCodes.UNKNOWN_TOPIC_OR_PART) {
        const answers = (this.unknownTopicAnswers.get(topic) ?? 0) + 1;
        this.unknownTopicAnswers.set(topic, answers);
        // A deleted topic keeps its groups' commits until they expire: not a failed read.
        if (answers >= unknownTopicAnswersBeforeDeleted) {
          deleted.add(topic);
          return { topic, logEnd: undefined, logStart: undefined };
        }
      }
      // Any other failure leaves the count as it is: it says nothing of whether the topic exists.
      problems.push(problem('topic_offsets', topic, error));
      return { topic, logEnd: undefined, logStart: undefined };
    }
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

/**
 * The topics a group consumes now, when its description says so for sure: a STABLE group whose
 * members hold at least one partition. Undefined otherwise: an EMPTY group (how a dead consumer
 * shows its backlog), a rebalance, or unknown assignments keep every topic it committed on.
 */
function consumedTopics(description: GroupDescription | undefined): ReadonlySet<string> | undefined {
  if (description?.state !== 'STABLE' || description.members === 0 || !description.assignments) {
    return undefined;
  }
  const topics = new Set(description.assignments.flatMap((a) => [...a].map(topicOf)));
  return topics.size > 0 ? topics : undefined;
}

/**
 * A topic's observation from its offsets. The client does not throw when one partition's
 * lookup fails (no leader, a per-partition error): it drops the error and reports -1 for it
 * (lib/kafkajs/_admin.js fetchTopicOffsets), which read as a log end would make lag negative.
 */
function topicObservation(
  topic: string,
  offsets: Awaited<ReturnType<LagAdmin['fetchTopicOffsets']>>,
  problems: ReadProblem[],
): TopicObservation {
  const logEnd = new Map<number, number>();
  const logStart = new Map<number, number>();
  const unreadable = new Set<number>();
  for (const o of offsets) {
    const high = Number(o.high);
    const low = Number(o.low);
    // The error field no client version gives yet, should one start to.
    const failed = 'error' in o && o.error != null;
    if (failed || !isOffset(high) || !isOffset(low)) {
      unreadable.add(o.partition);
      continue;
    }
    logEnd.set(o.partition, high);
    logStart.set(o.partition, low);
  }
  if (unreadable.size === 0) return { topic, logEnd, logStart };
  const listed = [...unreadable].sort((a, b) => a - b).join(', ');
  problems.push({
    stage: 'topic_offsets',
    subject: topic,
    message: `topic offsets failed for ${topic}: no offsets for partition(s) ${listed} (no leader or a partition error)`,
    retriable: true,
  });
  return { topic, logEnd, logStart, unreadable };
}

/** Whether `value` is a real offset (the client's -1 and unparsable strings are not). */
function isOffset(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/** The group as if it had never consumed `topics`. */
function withoutTopics(group: GroupObservation, topics: ReadonlySet<string>): GroupObservation {
  const committed = group.committed
    ? new Map([...group.committed].filter(([topic]) => !topics.has(topic)))
    : undefined;
  const unreadable = group.unreadable && [...group.unreadable].filter(([topic]) => !topics.has(topic));
  const { unreadable: _, ...rest } = group;
  return {
    ...rest,
    committed,
    ...(unreadable && unreadable.length > 0 ? { unreadable: new Map(unreadable) } : {}),
    topics: group.topics.filter((t) => !topics.has(t)),
  };
}

function problem(stage: PollStage, subject: string, error: unknown): ReadProblem {
  const typed = toKafkaClientError(error, `${stage.replace('_', ' ')} failed for ${subject}`, LagReadError);
  return { stage, subject, message: typed.message, retriable: typed.retriable };
}
