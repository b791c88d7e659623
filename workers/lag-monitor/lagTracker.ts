import { kedaReplicas, recommendReplicas, type ScaleSmoothing, smoothReplicas } from './autoscale.ts';
import { type ClusterSample, type GroupObservation, partitionKey, topicOf } from './clusterSample.ts';
import type {
  GroupAutoscale,
  GroupLag,
  GroupTopicRates,
  LagSnapshot,
  PartitionLag,
  SnapshotSettings,
  TopicProduction,
} from './lagSnapshot.ts';
import { appendLogEnd, lagSeconds, type OffsetPoint } from './offsetTimeline.ts';
import { evaluatePartitionStatus, type StatusSample, worstStatus } from './partitionStatus.ts';

/** How the tracker judges and scales (see lagMonitorConfig.ts for the variables). */
export interface LagTrackerSettings {
  pollIntervalMs: number;
  /** Evaluations per status window (Burrow's window); also the window of the rates. */
  statusWindow: number;
  /** Log-end points kept per partition for the time-lag interpolation. */
  timelinePoints: number;
  targetDrainSeconds: number;
  /** Evaluations whose maximum the autoscale signal holds before it may go down. */
  scaleWindow: number;
  /** Replicas the signal may drop per evaluation once the window allows it. */
  scaleDownStep: number;
  /** Dead band around the current replica count. */
  scaleTolerance: number;
  kedaLagThreshold: number;
  /**
   * Where a group without a committed offset on a partition of a topic it consumes would start
   * (its consumers' auto.offset.reset, like KEDA's offsetResetPolicy): `earliest` counts the
   * whole log as lag, `latest` none.
   */
  offsetReset: 'earliest' | 'latest';
  /**
   * For one-shot reads (`ops lag` without `--from`): a committed offset first seen is taken as
   * unmoved since before the first poll, so a partition with lag that no live member owns and
   * whose offset did not move during the samples reads STOP. A running monitor leaves this off
   * and learns how long an offset has stood; a one-shot read otherwise could never say STOP.
   */
  commitsPredateFirstPoll?: boolean;
}

/** Busy-capacity measurements kept per group; their median is the learned per-replica throughput. */
const capacitySamples = 5;

interface WindowSample extends StatusSample {
  logEnd: number;
}

interface PartitionState {
  window: WindowSample[];
  lastCommitted: number;
  committedSince: number;
}

interface GroupState {
  partitions: Map<string, PartitionState>;
  smoothing: ScaleSmoothing;
  capacities: number[];
  /** Member counts of the last `statusWindow` evaluations (the rate window), oldest first. */
  memberCounts: number[];
}

interface TopicPoll {
  time: number;
  logEnd: ReadonlyMap<number, number>;
}

/**
 * Turns polls of the cluster into lag figures, statuses and autoscale signals. Pure state: no
 * I/O, no clock (every sample carries its time), shared by the lag monitor and `ops lag`.
 * A failed poll adds nothing and reports everything unknown; the history survives it.
 */
export class LagTracker {
  private readonly settings: LagTrackerSettings;
  private readonly timelines = new Map<string, OffsetPoint[]>();
  private readonly topicPolls = new Map<string, TopicPoll[]>();
  private readonly groups = new Map<string, GroupState>();

  constructor(settings: LagTrackerSettings) {
    this.settings = settings;
  }

  /** Adds a good poll and returns the figures it yields. */
  observe(sample: ClusterSample): LagSnapshot {
    const { time } = sample;
    for (const [topic, observation] of sample.topics) {
      if (!observation.logEnd) continue;
      for (const [partition, offset] of observation.logEnd) {
        const key = partitionKey(topic, partition);
        this.timelines.set(
          key,
          appendLogEnd(this.timelines.get(key) ?? [], { offset, time }, this.settings.timelinePoints),
        );
      }
      const polls = [...(this.topicPolls.get(topic) ?? []), { time, logEnd: observation.logEnd }];
      this.topicPolls.set(topic, polls.slice(-this.settings.statusWindow));
    }
    this.forgetWhatIsGone(sample);
    const groups = sample.groups.map((group) => this.evaluateGroup(group, sample));
    const topics: TopicProduction[] = [...sample.topics.keys()]
      .sort()
      .map((topic) => this.topicProduction(topic));
    return this.snapshot(time, true, null, groups, topics);
  }

  /** A poll that failed: every figure unknown, history kept for the next good poll. */
  failed(error: string, time: number): LagSnapshot {
    const groups = [...this.groups.keys()].sort().map((group) => unknownGroup(group, [error]));
    const topics = [...this.topicPolls.keys()]
      .sort()
      .map((topic) => ({ topic, partitions: null, produceRate: null }));
    return this.snapshot(time, false, error, groups, topics);
  }

  private snapshot(
    time: number,
    up: boolean,
    error: string | null,
    groups: GroupLag[],
    topics: TopicProduction[],
  ): LagSnapshot {
    const s = this.settings;
    const settings: SnapshotSettings = {
      pollIntervalMs: s.pollIntervalMs,
      statusWindow: s.statusWindow,
      targetDrainSeconds: s.targetDrainSeconds,
      scaleWindow: s.scaleWindow,
      kedaLagThreshold: s.kedaLagThreshold,
    };
    return { version: 1, at: new Date(time).toISOString(), time, up, error, settings, groups, topics };
  }

  /** Drops state of groups no longer listed and of topics no group reads any more. */
  private forgetWhatIsGone(sample: ClusterSample): void {
    const listed = new Set(sample.groups.map((g) => g.groupId));
    for (const group of [...this.groups.keys()]) if (!listed.has(group)) this.groups.delete(group);
    for (const topic of [...this.topicPolls.keys()])
      if (!sample.topics.has(topic)) this.topicPolls.delete(topic);
    for (const key of [...this.timelines.keys()]) {
      const topic = topicOf(key);
      if (!sample.topics.has(topic)) this.timelines.delete(key);
    }
  }

  private evaluateGroup(observation: GroupObservation, sample: ClusterSample): GroupLag {
    const { time } = sample;
    const state = this.groups.get(observation.groupId) ?? {
      partitions: new Map<string, PartitionState>(),
      smoothing: { recent: [], current: undefined },
      capacities: [],
      memberCounts: [],
    };
    this.groups.set(observation.groupId, state);
    const errors = sample.problems
      .filter((p) => p.subject === observation.groupId || observation.topics.includes(p.subject))
      .map((p) => `${p.stage} ${p.subject}: ${p.message}`);
    let readFailed =
      observation.committed === undefined ||
      observation.members === undefined ||
      (observation.unreadable?.size ?? 0) > 0;
    let partitionCount = 0;
    const partitions: PartitionLag[] = [];
    const seen = new Set<string>();
    for (const topic of [...observation.topics].sort()) {
      const logEnd = sample.topics.get(topic)?.logEnd;
      const logStart = sample.topics.get(topic)?.logStart;
      if (!logEnd || (sample.topics.get(topic)?.unreadable?.size ?? 0) > 0) readFailed = true;
      partitionCount += logEnd?.size ?? 0;
      const committed = observation.committed?.get(topic);
      const ids = new Set<number>([...(logEnd?.keys() ?? []), ...(committed?.keys() ?? [])]);
      for (const partition of [...ids].sort((a, b) => a - b)) {
        const key = partitionKey(topic, partition);
        seen.add(key);
        partitions.push(this.evaluatePartition(state, observation, topic, partition, logEnd, logStart, time));
      }
    }
    for (const key of [...state.partitions.keys()]) if (!seen.has(key)) state.partitions.delete(key);

    const topics = [...observation.topics].sort().map((topic) => this.groupTopicRates(state, topic));
    if (readFailed) {
      return {
        ...unknownGroup(observation.groupId, errors),
        state: observation.state ?? null,
        members: observation.members ?? null,
        partitions,
        topics,
      };
    }
    const known = partitions.filter((p) => p.lag !== null);
    const lag = known.reduce((sum, p) => sum + (p.lag ?? 0), 0);
    // The oldest known age: one lagging partition of unknown age (an idle one after a restart)
    // must not hide the others' from the alert. Unknown only when no lagging partition's age is.
    const aged = known.filter((p) => p.lagSeconds !== null || (p.lag ?? 0) === 0);
    const agedLagging = aged.some((p) => (p.lag ?? 0) > 0);
    const anyLagging = known.some((p) => (p.lag ?? 0) > 0);
    const groupLagSeconds =
      known.length === 0 || (anyLagging && !agedLagging)
        ? null
        : Math.max(...aged.map((p) => p.lagSeconds ?? 0));
    return {
      group: observation.groupId,
      state: observation.state ?? null,
      members: observation.members ?? null,
      status: worstStatus(partitions.map((p) => p.status ?? undefined)) ?? null,
      lag: known.length === 0 ? null : lag,
      lagSeconds: groupLagSeconds,
      topics,
      partitions,
      autoscale: this.autoscale(state, observation, partitionCount, partitions),
      errors,
    };
  }

  private evaluatePartition(
    state: GroupState,
    observation: GroupObservation,
    topic: string,
    partition: number,
    logEnd: ReadonlyMap<number, number> | undefined,
    logStart: ReadonlyMap<number, number> | undefined,
    time: number,
  ): PartitionLag {
    const key = partitionKey(topic, partition);
    const end = logEnd?.get(partition);
    const reported = observation.committed?.get(topic)?.get(partition);
    const readable =
      observation.committed !== undefined && !observation.unreadable?.get(topic)?.has(partition);
    const position = readable
      ? resumePosition(reported, logStart?.get(partition), end, this.settings.offsetReset)
      : undefined;
    const owned =
      observation.owned !== undefined
        ? observation.owned.has(key)
        : observation.members === undefined
          ? undefined
          : observation.members > 0;
    if (position === undefined || end === undefined) {
      return {
        topic,
        partition,
        committed: reported ?? null,
        logEnd: end ?? null,
        lag: null,
        lagSeconds: null,
        status: null,
        ownedByLiveMember: owned ?? null,
      };
    }
    const lag = Math.max(0, end - position);
    let partitionState = state.partitions.get(key);
    // Status and consume rate follow what the group committed; a position the monitor derived
    // (nothing committed: the reset point, which retention or production move) stays where it
    // was first seen, so it never reads as consumption.
    const committed = reported ?? partitionState?.lastCommitted ?? position;
    if (!partitionState) {
      partitionState = {
        window: [],
        lastCommitted: committed,
        committedSince: this.settings.commitsPredateFirstPoll ? Number.NEGATIVE_INFINITY : time,
      };
      state.partitions.set(key, partitionState);
    } else if (partitionState.lastCommitted !== committed) {
      partitionState.lastCommitted = committed;
      partitionState.committedSince = time;
    }
    partitionState.window = [...partitionState.window, { time, committed, lag, logEnd: end }].slice(
      -this.settings.statusWindow,
    );
    const status =
      owned === undefined
        ? undefined
        : evaluatePartitionStatus({
            window: partitionState.window,
            windowSize: this.settings.statusWindow,
            committedSince: partitionState.committedSince,
            ownedByLiveMember: owned,
          });
    return {
      topic,
      partition,
      committed: reported ?? null,
      logEnd: end,
      lag,
      lagSeconds: lagSeconds(this.timelines.get(key) ?? [], position, time) ?? null,
      status: status ?? null,
      ownedByLiveMember: owned ?? null,
    };
  }

  private groupTopicRates(state: GroupState, topic: string): GroupTopicRates {
    const windows = [...state.partitions.entries()]
      .filter(([key]) => topicOf(key) === topic)
      .map(([, p]) => p.window);
    const rates = windowRates(windows);
    return { topic, consumeRate: rates?.consume ?? null, produceRate: rates?.produce ?? null };
  }

  private autoscale(
    state: GroupState,
    observation: GroupObservation,
    partitionCount: number,
    partitions: readonly PartitionLag[],
  ): GroupAutoscale {
    const s = this.settings;
    const members = observation.members ?? 0;
    const excluded = partitions
      .filter((p) => p.status === 'STALL')
      .map((p) => ({ topic: p.topic, partition: p.partition }));
    state.memberCounts = [...state.memberCounts, members].slice(-s.statusWindow);
    const counted = partitions.filter((p) => p.lag !== null && p.status !== 'STALL');
    const totalLag = partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0);
    const rates = windowRates(
      counted.map((p) => state.partitions.get(partitionKey(p.topic, p.partition))?.window ?? []),
    );
    const base = {
      currentReplicas: members,
      partitionCount,
      kedaReplicas: partitionCount > 0 ? kedaReplicas(totalLag, s.kedaLagThreshold, partitionCount) : null,
      excluded,
    };
    // Without two samples there is no rate, and a signal without rates would be made up.
    if (partitionCount === 0 || (counted.length > 0 && rates === undefined)) {
      return {
        ...base,
        desiredReplicas: null,
        rawReplicas: null,
        drainSeconds: null,
        capacityPerReplica: null,
        reason: partitionCount === 0 ? 'the group has no partitions' : 'not enough history yet',
      };
    }
    const countedKeys = new Set(counted.map((p) => partitionKey(p.topic, p.partition)));
    const decision = recommendReplicas({
      currentReplicas: members,
      heldReplicas: state.smoothing.current,
      // Unknown assignments: every member is taken to share the work, as before they were known.
      activeReplicas:
        observation.assignments?.filter((owned) => [...owned].some((key) => countedKeys.has(key))).length ??
        members,
      partitionCount,
      lag: counted.reduce((sum, p) => sum + (p.lag ?? 0), 0),
      consumeRate: rates?.consume ?? 0,
      produceRate: rates?.produce ?? 0,
      learnedCapacity: median(state.capacities),
      targetDrainSeconds: s.targetDrainSeconds,
      busyDrainSeconds: Math.max(1, (2 * s.pollIntervalMs) / 1000),
      tolerance: s.scaleTolerance,
      steadyReplicas: state.memberCounts.every((count) => count === members),
      stalled: excluded.length > 0,
    });
    if (decision.measuredCapacity !== undefined) {
      state.capacities = [...state.capacities, decision.measuredCapacity].slice(-capacitySamples);
    }
    const smoothed = smoothReplicas(state.smoothing, decision.desired, s.scaleWindow, s.scaleDownStep);
    state.smoothing = smoothed.state;
    return {
      ...base,
      desiredReplicas: Math.min(smoothed.value, partitionCount),
      rawReplicas: decision.desired,
      drainSeconds: Number.isFinite(decision.drainSeconds) ? decision.drainSeconds : null,
      capacityPerReplica: decision.capacityUsed ?? null,
      reason: decision.reason,
    };
  }

  private topicProduction(topic: string): TopicProduction {
    const polls = this.topicPolls.get(topic) ?? [];
    const last = polls[polls.length - 1];
    const first = polls[0];
    if (!last) return { topic, partitions: null, produceRate: null };
    if (!first || first === last || last.time <= first.time) {
      return { topic, partitions: last.logEnd.size, produceRate: null };
    }
    let advanced = 0;
    for (const [partition, end] of last.logEnd) {
      const start = first.logEnd.get(partition);
      if (start !== undefined) advanced += Math.max(0, end - start);
    }
    return { topic, partitions: last.logEnd.size, produceRate: advanced / ((last.time - first.time) / 1000) };
  }
}

/**
 * Where a group's consumers would read next on a partition whose offsets were read: the committed
 * offset — unless there is none, or it is out of range (retention deleted the records it points
 * at, or it lies beyond the log end), where the offset reset sends them. Deleted records are no
 * backlog; after a reset to earliest the whole log is.
 */
function resumePosition(
  committed: number | undefined,
  logStart: number | undefined,
  logEnd: number | undefined,
  offsetReset: 'earliest' | 'latest',
): number | undefined {
  // Beyond the log end (truncation, a bad reset) is out of range too: the consumer resets.
  const outOfRange =
    committed !== undefined &&
    ((logStart !== undefined && committed < logStart) || (logEnd !== undefined && committed > logEnd));
  if (committed !== undefined && !outOfRange) return committed;
  return offsetReset === 'earliest' ? logStart : logEnd;
}

/** Consume and produce rates (msgs/s) summed over partitions with two samples or more; undefined when none has. */
function windowRates(
  windows: readonly (readonly WindowSample[])[],
): { consume: number; produce: number } | undefined {
  let consume = 0;
  let produce = 0;
  let measured = false;
  for (const window of windows) {
    const first = window[0];
    const last = window[window.length - 1];
    if (!first || !last || last.time <= first.time) continue;
    const seconds = (last.time - first.time) / 1000;
    // A rewind is not negative consumption.
    consume += Math.max(0, last.committed - first.committed) / seconds;
    produce += Math.max(0, last.logEnd - first.logEnd) / seconds;
    measured = true;
  }
  return measured ? { consume, produce } : undefined;
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function unknownGroup(group: string, errors: string[]): GroupLag {
  return {
    group,
    state: null,
    members: null,
    status: null,
    lag: null,
    lagSeconds: null,
    topics: [],
    partitions: [],
    autoscale: {
      desiredReplicas: null,
      rawReplicas: null,
      kedaReplicas: null,
      currentReplicas: null,
      partitionCount: null,
      drainSeconds: null,
      capacityPerReplica: null,
      reason: null,
      excluded: [],
    },
    errors,
  };
}
