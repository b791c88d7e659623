import type { ClusterSample, GroupObservation, ReadProblem } from '../clusterSample.ts';
import { partitionKey } from '../clusterSample.ts';
import type { LagTrackerSettings } from '../lagTracker.ts';

/** Test helper: a cluster of one topic and one group whose offsets a test moves by hand. */
export class FakeCluster {
  readonly topic: string;
  readonly group: string;
  readonly logEnd: number[];
  /** Log-start offset per partition (what retention kept); default 0. */
  readonly logStart: number[];
  /** Committed offset per partition; undefined = nothing committed. */
  readonly committed: (number | undefined)[];
  members = 1;
  /** Partitions owned by live members; default all while members > 0. */
  owned: number[] | undefined;
  /** Each live member's partitions, when a test needs them told apart; default unlisted. */
  assignments: number[][] | undefined;
  time = 1_000_000;
  problems: ReadProblem[] = [];

  constructor(options: { topic?: string; group?: string; partitions: number }) {
    this.topic = options.topic ?? 'fleet.test.events.v1';
    this.group = options.group ?? 'fleet.test-group';
    this.logEnd = Array.from({ length: options.partitions }, () => 0);
    this.logStart = Array.from({ length: options.partitions }, () => 0);
    this.committed = Array.from({ length: options.partitions }, () => 0);
  }

  /** Moves the clock and returns the sample a poll would read now. */
  sample(advanceMs = 1000): ClusterSample {
    this.time += advanceMs;
    const owned = this.members === 0 ? [] : (this.owned ?? this.logEnd.map((_, p) => p));
    const committed = new Map<number, number>();
    this.committed.forEach((offset, partition) => {
      if (offset !== undefined) committed.set(partition, offset);
    });
    const group: GroupObservation = {
      groupId: this.group,
      state: this.members > 0 ? 'STABLE' : 'EMPTY',
      members: this.members,
      owned: new Set(owned.map((p) => partitionKey(this.topic, p))),
      ...(this.assignments
        ? { assignments: this.assignments.map((ps) => new Set(ps.map((p) => partitionKey(this.topic, p)))) }
        : {}),
      committed: new Map([[this.topic, committed]]),
      topics: [this.topic],
    };
    return {
      time: this.time,
      groups: [group],
      topics: new Map([
        [
          this.topic,
          {
            topic: this.topic,
            logEnd: new Map(this.logEnd.map((o, p) => [p, o])),
            logStart: new Map(this.logStart.map((o, p) => [p, o])),
          },
        ],
      ]),
      problems: this.problems,
    };
  }
}

/** Tracker settings for tests: 1 s polls, short windows. */
export function testTrackerSettings(overrides: Partial<LagTrackerSettings> = {}): LagTrackerSettings {
  return {
    pollIntervalMs: 1000,
    statusWindow: 4,
    timelinePoints: 100,
    targetDrainSeconds: 10,
    scaleWindow: 3,
    scaleDownStep: 1,
    scaleTolerance: 0.1,
    kedaLagThreshold: 10,
    offsetReset: 'earliest',
    ...overrides,
  };
}
