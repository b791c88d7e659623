/** What the autoscale signal of one group is computed from (partitions in STALL already left out). */
export interface AutoscaleInputs {
  /** Members of the group now (describeGroups). */
  currentReplicas: number;
  /**
   * What to hold while no capacity is known: the signal already published (default
   * currentReplicas). Not the member count of the moment: during a rollout it includes the surge
   * pod and pods still draining, and an autoscaler following it would make the extra replica real,
   * a ratchet nothing without a capacity figure would ever undo.
   */
  heldReplicas?: number;
  /**
   * Members that own at least one partition that counts (default currentReplicas): the measured
   * throughput is theirs alone, so a member holding only STALL partitions does not dilute it.
   */
  activeReplicas?: number;
  /** Partitions of the group's topics: more replicas than this would sit idle. */
  partitionCount: number;
  /** Backlog in messages over the partitions that count. */
  lag: number;
  /** Committed-offset advance over the rate window, msgs/s, over the same partitions. */
  consumeRate: number;
  /** Log-end advance over the rate window, msgs/s, over the same partitions. */
  produceRate: number;
  /** Per-replica throughput learned while the group was busy (msgs/s); undefined until seen. */
  learnedCapacity: number | undefined;
  /** LAG_TARGET_DRAIN_SECONDS: a backlog should drain within this. */
  targetDrainSeconds: number;
  /** A backlog that takes at least this long to drain keeps every replica busy (capacity is measurable). */
  busyDrainSeconds: number;
  /** Relative dead band around the current replica count (like the HPA's 10%). */
  tolerance: number;
  /**
   * Whether the member count held over the whole rate window: a rate measured across a replica
   * change divided by today's count is no per-replica capacity (default true).
   */
  steadyReplicas?: boolean;
  /**
   * Whether some of the group's partitions are in STALL (left out of the inputs above): the signal
   * then does not go down, since their backlog needs the replicas once they move again, and an
   * outage that stalls every partition must not read as an idle group (default false).
   */
  stalled?: boolean;
}

/** The raw (unsmoothed) recommendation and how it was reached. */
export interface AutoscaleDecision {
  desired: number;
  /** Backlog ÷ consume rate, seconds; Infinity when nothing is consumed. */
  drainSeconds: number;
  /** Per-replica throughput measured now, when the group is busy (the caller learns it). */
  measuredCapacity: number | undefined;
  /** Per-replica throughput the decision used. */
  capacityUsed: number | undefined;
  /** One of: hold-unknown-capacity, probe-down-unknown-capacity, hold-while-stalled, within-tolerance, scale. */
  reason:
    | 'hold-unknown-capacity'
    | 'probe-down-unknown-capacity'
    | 'hold-while-stalled'
    | 'within-tolerance'
    | 'scale';
}

/**
 * Replicas needed to keep up with arrivals and drain the backlog within the target, at the
 * per-replica throughput the group shows: `need = (produceRate + lag / target) / capacity`.
 * With no arrivals this is the time-to-drain rule `n × drain / target`; with arrivals it also
 * counts the records still coming, which `n × drain / target` forgets (at produce = consume a
 * backlog never drains, yet that rule would hold steady). Capacity is measured (consumeRate / n)
 * only while the backlog keeps every replica busy; otherwise the last busy measurement is used,
 * which is what lets the signal go below the current count. Without any capacity figure the
 * signal holds what it said before (the current count at first) while there is a backlog, and
 * probes one replica below it while the group keeps up (a backlog that builds then measures the
 * capacity): it never invents a number, and a quiet group is not held at a count it never
 * needed. While partitions are in STALL it does not go down. Always within [1, partitionCount].
 */
export function recommendReplicas(inputs: AutoscaleInputs): AutoscaleDecision {
  const decision = recommendForCountedPartitions(inputs);
  const held = Math.min(
    Math.max(1, inputs.partitionCount),
    Math.max(1, inputs.heldReplicas ?? inputs.currentReplicas),
  );
  if (inputs.stalled === true && decision.desired < held) {
    return { ...decision, desired: held, reason: 'hold-while-stalled' };
  }
  return decision;
}

function recommendForCountedPartitions(inputs: AutoscaleInputs): AutoscaleDecision {
  const n = inputs.currentReplicas;
  const drainSeconds =
    inputs.lag === 0
      ? 0
      : inputs.consumeRate > 0
        ? inputs.lag / inputs.consumeRate
        : Number.POSITIVE_INFINITY;
  const active = Math.min(n, inputs.activeReplicas ?? n);
  const busy =
    inputs.steadyReplicas !== false &&
    active > 0 &&
    inputs.consumeRate > 0 &&
    drainSeconds >= inputs.busyDrainSeconds;
  const measuredCapacity = busy ? inputs.consumeRate / active : undefined;
  const capacityUsed = measuredCapacity ?? inputs.learnedCapacity;
  const cap = (replicas: number) => Math.min(Math.max(1, inputs.partitionCount), Math.max(1, replicas));
  if (capacityUsed === undefined || capacityUsed <= 0) {
    const held = inputs.heldReplicas ?? n;
    // Keeping up (a shallow backlog at most) says the held count suffices, not that it is needed.
    // Only from a published signal on: a restarted monitor first repeats the current count.
    const keepingUp = inputs.heldReplicas !== undefined && drainSeconds < inputs.busyDrainSeconds;
    return {
      desired: cap(keepingUp ? held - 1 : held),
      drainSeconds,
      measuredCapacity,
      capacityUsed,
      reason: keepingUp ? 'probe-down-unknown-capacity' : 'hold-unknown-capacity',
    };
  }
  const need = (inputs.produceRate + inputs.lag / inputs.targetDrainSeconds) / capacityUsed;
  if (n > 0 && Math.abs(need / n - 1) <= inputs.tolerance) {
    return { desired: cap(n), drainSeconds, measuredCapacity, capacityUsed, reason: 'within-tolerance' };
  }
  return { desired: cap(Math.ceil(need)), drainSeconds, measuredCapacity, capacityUsed, reason: 'scale' };
}

/** KEDA's Kafka scaler for comparison: `ceil(totalLag / lagThreshold)`, capped at the partition count. */
export function kedaReplicas(totalLag: number, lagThreshold: number, partitionCount: number): number {
  return Math.min(partitionCount, Math.ceil(totalLag / lagThreshold));
}

/** The smoothing state of one group's signal. */
export interface ScaleSmoothing {
  /** The last raw recommendations, oldest first. */
  recent: readonly number[];
  /** The signal last published; undefined before the first. */
  current: number | undefined;
}

/**
 * Smooths raw recommendations: up at once (the new value is in the window's max), down only
 * after the window's max has dropped (every recommendation of the last `window` evaluations was
 * lower) and then by at most `downStep` replicas per evaluation, so a drained burst does not
 * trigger a rebalance storm of scale-downs.
 */
export function smoothReplicas(
  state: ScaleSmoothing,
  raw: number,
  window: number,
  downStep: number,
): { state: ScaleSmoothing; value: number } {
  const recent = [...state.recent, raw].slice(-window);
  const peak = Math.max(...recent);
  const value =
    state.current === undefined || peak >= state.current ? peak : Math.max(peak, state.current - downStep);
  return { state: { recent, current: value }, value };
}
