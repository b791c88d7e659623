import { describe, expect, it } from 'vitest';
import { LagTracker } from './lagTracker.ts';
import { FakeCluster, testTrackerSettings } from './testing/fakeCluster.ts';

describe('LagTracker', () => {
  it('reports lag = log end − committed per partition and summed per group', () => {
    const cluster = new FakeCluster({ partitions: 3 });
    cluster.logEnd.splice(0, 3, 100, 50, 10);
    cluster.committed.splice(0, 3, 40, 50, 3);
    const snapshot = new LagTracker(testTrackerSettings()).observe(cluster.sample());
    const group = snapshot.groups[0]!;
    expect(group.partitions.map((p) => p.lag)).toEqual([60, 0, 7]);
    expect(group.lag).toBe(67);
    expect(snapshot.up).toBe(true);
  });

  it('interpolates lag seconds from the log-end history, unknown (null) until it has two points', () => {
    const cluster = new FakeCluster({ partitions: 1 });
    const tracker = new LagTracker(testTrackerSettings());
    const first = tracker.observe(cluster.sample());
    expect(first.groups[0]!.partitions[0]!.lagSeconds).toBe(0);
    // 100 records/s for 5 s; the consumer stays at 0 + 100 = offset 100 (written 4 s before the last poll).
    let snapshot = first;
    for (let i = 1; i <= 5; i++) {
      cluster.logEnd[0] = i * 100;
      cluster.committed[0] = 100;
      snapshot = tracker.observe(cluster.sample(1000));
    }
    const partition = snapshot.groups[0]!.partitions[0]!;
    expect(partition.lag).toBe(400);
    expect(partition.lagSeconds).toBe(4);
    expect(snapshot.groups[0]!.lagSeconds).toBe(4);

    const fresh = new LagTracker(testTrackerSettings());
    const once = fresh.observe(cluster.sample());
    expect(once.groups[0]!.partitions[0]!.lag).toBe(400);
    expect(once.groups[0]!.partitions[0]!.lagSeconds).toBeNull();
    expect(once.groups[0]!.lagSeconds).toBeNull();
  });

  it('counts a partition the group never committed on from where its consumers would start', () => {
    const cluster = new FakeCluster({ partitions: 2 });
    cluster.logEnd.splice(0, 2, 10, 10);
    cluster.committed.splice(0, 2, 4, undefined);
    const earliest = new LagTracker(testTrackerSettings()).observe(cluster.sample()).groups[0]!;
    expect(earliest.partitions[1]).toMatchObject({ committed: null, lag: 10 });
    expect(earliest.lag).toBe(16);
    const latest = new LagTracker(testTrackerSettings({ offsetReset: 'latest' })).observe(cluster.sample());
    expect(latest.groups[0]!.partitions[1]).toMatchObject({ committed: null, lag: 0 });
    expect(latest.groups[0]!.lag).toBe(6);
  });

  it('counts no deleted records as backlog, and no retention as consumption', () => {
    const cluster = new FakeCluster({ partitions: 2 });
    cluster.members = 0;
    cluster.logEnd.splice(0, 2, 20, 20);
    cluster.committed.splice(0, 2, 15, undefined);
    const tracker = new LagTracker(testTrackerSettings());
    tracker.observe(cluster.sample());
    // Retention deletes everything below 18 on both partitions; nothing is consumed or produced.
    cluster.logStart.splice(0, 2, 18, 18);
    const group = tracker.observe(cluster.sample()).groups[0]!;
    // p0 would restart at 18 (out of range, earliest): 2 behind; p1 from 18 too.
    expect(group.partitions.map((p) => p.lag)).toEqual([2, 2]);
    expect(group.topics[0]!.consumeRate).toBe(0);
    expect(group.autoscale.drainSeconds).not.toBe(0);
  });

  it('computes consume and produce rates over the window', () => {
    const cluster = new FakeCluster({ partitions: 1 });
    const tracker = new LagTracker(testTrackerSettings());
    let snapshot = tracker.observe(cluster.sample());
    for (let i = 1; i <= 3; i++) {
      cluster.logEnd[0] = i * 50;
      cluster.committed[0] = i * 20;
      snapshot = tracker.observe(cluster.sample(1000));
    }
    expect(snapshot.groups[0]!.topics[0]).toEqual({ topic: cluster.topic, consumeRate: 20, produceRate: 50 });
    expect(snapshot.topics[0]!.produceRate).toBe(50);
  });

  it('marks a stuck partition STALL, leaves it out of the autoscale signal, and KEDA still counts it', () => {
    const cluster = new FakeCluster({ partitions: 3 });
    const tracker = new LagTracker(testTrackerSettings({ statusWindow: 4, scaleWindow: 1 }));
    cluster.logEnd[0] = 5000;
    let snapshot = tracker.observe(cluster.sample());
    for (let i = 1; i <= 6; i++) {
      // Partitions 1 and 2 keep up with 40 records/s; partition 0 never moves past offset 0.
      cluster.logEnd[1] = i * 40;
      cluster.logEnd[2] = i * 40;
      cluster.committed[1] = i * 40;
      cluster.committed[2] = i * 40;
      snapshot = tracker.observe(cluster.sample(1000));
    }
    const group = snapshot.groups[0]!;
    expect(group.partitions.map((p) => p.status)).toEqual(['STALL', 'OK', 'OK']);
    expect(group.status).toBe('STALL');
    expect(group.autoscale.excluded).toEqual([{ topic: cluster.topic, partition: 0 }]);
    // Its backlog raised the signal to 3 before it stalled; left out since, it no longer raises
    // it, but the signal does not go below what that backlog will need once it moves again.
    expect(group.autoscale).toMatchObject({
      desiredReplicas: 3,
      reason: 'hold-while-stalled',
      kedaReplicas: 3,
    });
  });

  it('holds its signal while every partition stalls (an outage must not read as an idle group)', () => {
    const cluster = new FakeCluster({ partitions: 8 });
    const tracker = new LagTracker(testTrackerSettings({ statusWindow: 3, scaleWindow: 2 }));
    cluster.members = 8;
    const poll = () => tracker.observe(cluster.sample()).groups[0]!.autoscale;
    // Eight busy replicas drain a deep backlog at 50/s each: the capacity is learned.
    for (let i = 0; i < 6; i++) {
      for (let p = 0; p < 8; p++) {
        cluster.logEnd[p] = 100_000 + i * 50;
        cluster.committed[p] = i * 50;
      }
      poll();
    }
    expect(poll()).toMatchObject({ desiredReplicas: 8 });
    // The dependency goes down: every partition pauses while records keep arriving.
    const during: (number | null)[] = [];
    for (let i = 0; i < 10; i++) {
      for (let p = 0; p < 8; p++) cluster.logEnd[p] = (cluster.logEnd[p] ?? 0) + 50;
      const autoscale = poll();
      during.push(autoscale.desiredReplicas);
    }
    expect(tracker.observe(cluster.sample()).groups[0]!.status).toBe('STALL');
    expect(during.every((d) => d === 8)).toBe(true);
  });

  it('counts a committed offset beyond the log end as out of range: the consumer resets', () => {
    const cluster = new FakeCluster({ partitions: 1 });
    cluster.logEnd[0] = 100;
    cluster.committed[0] = 1000;
    const earliest = new LagTracker(testTrackerSettings()).observe(cluster.sample()).groups[0]!;
    expect(earliest.partitions[0]).toMatchObject({ committed: 1000, lag: 100 });
    const latest = new LagTracker(testTrackerSettings({ offsetReset: 'latest' })).observe(cluster.sample());
    expect(latest.groups[0]!.partitions[0]).toMatchObject({ committed: 1000, lag: 0 });
  });

  it('leaves the group unknown when a partition of its topic has no readable log end', () => {
    const cluster = new FakeCluster({ partitions: 2 });
    cluster.logEnd.splice(0, 2, 500, 500);
    const sample = cluster.sample();
    const observation = sample.topics.get(cluster.topic)!;
    const group = new LagTracker(testTrackerSettings()).observe({
      ...sample,
      topics: new Map([
        [
          cluster.topic,
          {
            ...observation,
            logEnd: new Map([[0, 500]]),
            logStart: new Map([[0, 0]]),
            unreadable: new Set([1]),
          },
        ],
      ]),
    }).groups[0]!;
    expect(group.partitions[1]).toMatchObject({ logEnd: null, lag: null });
    expect(group.lag).toBeNull();
    expect(group.autoscale.desiredReplicas).toBeNull();
  });

  it('reports the oldest known lag age of a group although one lagging partition has none yet', () => {
    const cluster = new FakeCluster({ partitions: 2 });
    // A monitor (re)started while partition 1 is idle with 50 unread records: nobody saw when
    // they were written. Partition 0 advances; its consumer stays at 0.
    cluster.logEnd[1] = 50;
    const tracker = new LagTracker(testTrackerSettings());
    tracker.observe(cluster.sample());
    for (let i = 1; i <= 3; i++) {
      cluster.logEnd[0] = i * 100;
      tracker.observe(cluster.sample());
    }
    const group = tracker.observe(cluster.sample()).groups[0]!;
    expect(group.partitions[1]!.lagSeconds).toBeNull();
    expect(group.partitions[0]!.lagSeconds).toBeGreaterThan(0);
    expect(group.lagSeconds).toBe(group.partitions[0]!.lagSeconds);
  });

  it('says STOP when the group has no members and the committed offset stands still with lag', () => {
    const cluster = new FakeCluster({ partitions: 1 });
    cluster.logEnd[0] = 100;
    cluster.committed[0] = 30;
    cluster.members = 0;
    const tracker = new LagTracker(testTrackerSettings({ statusWindow: 3 }));
    const statuses = Array.from({ length: 5 }, () => tracker.observe(cluster.sample()).groups[0]!.status);
    // Two samples are needed for any status, and the window must slide past the last commit.
    expect(statuses).toEqual([null, 'OK', 'OK', 'STOP', 'STOP']);
  });

  it('says STOP from the second sample of a one-shot read, unless the offset moved or a member owns it', () => {
    const cluster = new FakeCluster({ partitions: 1 });
    cluster.logEnd[0] = 100;
    cluster.committed[0] = 30;
    cluster.members = 0;
    const oneShot = () =>
      new LagTracker(testTrackerSettings({ statusWindow: 2, commitsPredateFirstPoll: true }));
    const stopped = oneShot();
    expect(
      [stopped.observe(cluster.sample()), stopped.observe(cluster.sample())].map((s) => s.groups[0]!.status),
    ).toEqual([null, 'STOP']);
    const moving = oneShot();
    moving.observe(cluster.sample());
    cluster.committed[0] = 40;
    expect(moving.observe(cluster.sample()).groups[0]!.status).toBe('OK');
    cluster.members = 1;
    const owned = oneShot();
    owned.observe(cluster.sample());
    expect(owned.observe(cluster.sample()).groups[0]!.status).toBe('STALL');
  });

  it('raises the autoscale signal with a backlog, lowers it after the drain, never above the partition count', () => {
    const cluster = new FakeCluster({ partitions: 4 });
    const tracker = new LagTracker(
      testTrackerSettings({ targetDrainSeconds: 5, scaleWindow: 2, scaleDownStep: 1, statusWindow: 3 }),
    );
    const signal: (number | null)[] = [];
    cluster.logEnd.splice(0, 4, 1000, 1000, 1000, 1000);
    signal.push(tracker.observe(cluster.sample()).groups[0]!.autoscale.desiredReplicas);
    // One replica drains 50/s per partition (200/s in all): 4000 behind is 20 s, the target 5 s.
    for (let i = 1; i <= 4; i++) {
      for (let p = 0; p < 4; p++) cluster.committed[p] = i * 50;
      signal.push(tracker.observe(cluster.sample()).groups[0]!.autoscale.desiredReplicas);
    }
    // Drained.
    for (let i = 0; i < 6; i++) {
      for (let p = 0; p < 4; p++) cluster.committed[p] = 1000;
      signal.push(tracker.observe(cluster.sample()).groups[0]!.autoscale.desiredReplicas);
    }
    expect(signal[0]).toBeNull();
    expect(signal.slice(1, 5)).toEqual([4, 4, 4, 4]);
    expect(signal[signal.length - 1]).toBe(1);
    expect(Math.max(...signal.map((v) => v ?? 0))).toBeLessThanOrEqual(4);
  });

  it('learns no per-replica capacity from a rate window that spans a change of replicas', () => {
    const cluster = new FakeCluster({ partitions: 4 });
    const tracker = new LagTracker(testTrackerSettings({ statusWindow: 3, targetDrainSeconds: 5 }));
    // A deep backlog throughout: every replica is busy. Each replica consumes 40 msgs/s.
    const poll = (replicas: number) => {
      cluster.members = replicas;
      for (let p = 0; p < 4; p++) {
        cluster.logEnd[p] = (cluster.logEnd[p] ?? 0) + 1000;
        cluster.committed[p] = (cluster.committed[p] ?? 0) + (40 * replicas) / 4;
      }
      return tracker.observe(cluster.sample()).groups[0]!.autoscale;
    };
    for (let i = 0; i < 4; i++) poll(1);
    expect(poll(1).capacityPerReplica).toBe(40);
    // Two more replicas join: until the window holds three replicas only, the mixed rate ÷ 3 is no capacity.
    const mixed = [poll(3), poll(3)];
    expect(mixed.map((a) => a.capacityPerReplica)).toEqual([40, 40]);
    expect(poll(3).capacityPerReplica).toBe(40);
  });

  it('holds its signal through a rollout while no capacity is known: the surge pod is not made real', () => {
    const cluster = new FakeCluster({ partitions: 12 });
    const tracker = new LagTracker(testTrackerSettings({ statusWindow: 3, scaleWindow: 2 }));
    // A quiet group (caught up: no busy backlog, so no capacity is ever measured) of 3 replicas.
    cluster.members = 3;
    const poll = () => {
      for (let p = 0; p < 12; p++) {
        cluster.logEnd[p] = (cluster.logEnd[p] ?? 0) + 1;
        cluster.committed[p] = cluster.logEnd[p];
      }
      return tracker.observe(cluster.sample()).groups[0]!.autoscale;
    };
    for (let i = 0; i < 2; i++) poll();
    // Keeping up without a capacity figure: one fewer is proposed, the window still holds 3.
    expect(poll()).toMatchObject({ desiredReplicas: 3, reason: 'probe-down-unknown-capacity' });
    // A rolling update: a surge pod joins, old ones drain; 4 members for a while.
    cluster.members = 4;
    const during = [poll(), poll(), poll()].map((a) => a.desiredReplicas);
    cluster.members = 3;
    const signal = [...during, poll().desiredReplicas];
    // Never the surge's 4: the signal steps down from what it published, one replica at a time.
    expect(signal).toEqual([2, 2, 1, 1]);
  });

  it('steps a quiet group without a capacity figure down to one replica, then learns when a backlog builds', () => {
    const cluster = new FakeCluster({ partitions: 12 });
    const tracker = new LagTracker(testTrackerSettings({ statusWindow: 3, scaleWindow: 2 }));
    cluster.members = 6;
    const poll = () => tracker.observe(cluster.sample()).groups[0]!.autoscale;
    const signal: (number | null)[] = [];
    for (let i = 0; i < 14; i++) {
      for (let p = 0; p < 12; p++) {
        cluster.logEnd[p] = (cluster.logEnd[p] ?? 0) + 1;
        cluster.committed[p] = cluster.logEnd[p];
      }
      signal.push(poll().desiredReplicas);
    }
    expect(signal.at(-1)).toBe(1);
    // Each value at most one below the one before: the smoothing paces the probe.
    expect(signal.slice(1).every((v, i) => (signal[i] ?? 0) - (v ?? 0) <= 1)).toBe(true);
  });

  it('divides the measured throughput among the members that own partitions that count, not a STALL owner', () => {
    const cluster = new FakeCluster({ partitions: 3 });
    const tracker = new LagTracker(testTrackerSettings({ statusWindow: 4, targetDrainSeconds: 5 }));
    // Three members: the third owns only partition 0, which never moves (STALL); the other two
    // drain a deep backlog at 40 msgs/s each.
    cluster.members = 3;
    cluster.assignments = [[1], [2], [0]];
    cluster.logEnd.splice(0, 3, 5000, 100_000, 100_000);
    let autoscale = tracker.observe(cluster.sample()).groups[0]!.autoscale;
    for (let i = 1; i <= 6; i++) {
      cluster.committed[1] = i * 40;
      cluster.committed[2] = i * 40;
      const group = tracker.observe(cluster.sample()).groups[0]!;
      autoscale = group.autoscale;
      if (i === 6) expect(group.partitions.map((p) => p.status)).toEqual(['STALL', 'OK', 'OK']);
    }
    expect(autoscale.excluded).toEqual([{ topic: cluster.topic, partition: 0 }]);
    expect(autoscale.capacityPerReplica).toBe(40);
    // Without the members' assignments every member is taken to share the work.
    cluster.assignments = undefined;
    cluster.committed[1] = 7 * 40;
    cluster.committed[2] = 7 * 40;
    expect(tracker.observe(cluster.sample()).groups[0]!.autoscale.capacityPerReplica).toBeCloseTo(80 / 3);
  });

  it('reports every figure unknown after a failed poll and keeps the history for the next good one', () => {
    const cluster = new FakeCluster({ partitions: 1 });
    const tracker = new LagTracker(testTrackerSettings());
    tracker.observe(cluster.sample());
    cluster.logEnd[0] = 100;
    tracker.observe(cluster.sample());
    const failed = tracker.failed('Local: Timed out', cluster.time + 1000);
    expect(failed.up).toBe(false);
    expect(failed.error).toBe('Local: Timed out');
    expect(failed.groups).toHaveLength(1);
    expect(failed.groups[0]).toMatchObject({
      group: cluster.group,
      lag: null,
      lagSeconds: null,
      status: null,
    });
    expect(failed.groups[0]!.autoscale.desiredReplicas).toBeNull();
    cluster.logEnd[0] = 200;
    const recovered = tracker.observe(cluster.sample(2000));
    // The two points from before the failure still place offset 0 (written at the first poll, 3 s ago).
    expect(recovered.groups[0]!.partitions[0]!.lagSeconds).toBe(3);
  });

  it('leaves a partition whose offset read failed unknown instead of counting its whole log as lag', () => {
    const cluster = new FakeCluster({ partitions: 2 });
    cluster.logEnd.splice(0, 2, 1000, 1000);
    cluster.committed.splice(0, 2, 995, undefined);
    const sample = cluster.sample();
    const unreadable = new Map([[cluster.topic, new Set([1])]]);
    const group = new LagTracker(testTrackerSettings()).observe({
      ...sample,
      groups: sample.groups.map((g) => ({ ...g, unreadable })),
    }).groups[0]!;
    expect(group.partitions[1]).toMatchObject({ committed: null, lag: null });
    expect(group.lag).toBeNull();
  });

  it('keeps status windows and time-lag history through a poll whose offset read failed', () => {
    const cluster = new FakeCluster({ partitions: 1 });
    cluster.members = 0;
    const tracker = new LagTracker(testTrackerSettings());
    let snapshot = tracker.observe(cluster.sample());
    for (let i = 1; i <= 4; i++) {
      cluster.logEnd[0] = i * 10;
      snapshot = tracker.observe(cluster.sample());
    }
    expect(snapshot.groups[0]!.status).toBe('STOP');
    const before = snapshot.groups[0]!.partitions[0]!.lagSeconds;
    expect(before).toBeGreaterThan(0);
    // The committed offsets could not be read (the reader still lists the topic it knew).
    const failed = cluster.sample();
    const unknown = tracker.observe({
      ...failed,
      groups: failed.groups.map((g) => ({ ...g, committed: undefined })),
    });
    expect(unknown.groups[0]!.lag).toBeNull();
    // The next good poll continues where the history stood: same stop, a lag age that kept growing.
    const after = tracker.observe(cluster.sample()).groups[0]!;
    expect(after.status).toBe('STOP');
    expect(after.partitions[0]!.lagSeconds).toBeGreaterThan(before!);
  });

  it('leaves the group unknown when a topic read fails, and says why', () => {
    const cluster = new FakeCluster({ partitions: 1 });
    const tracker = new LagTracker(testTrackerSettings());
    const sample = cluster.sample();
    const broken = {
      ...sample,
      topics: new Map([[cluster.topic, { topic: cluster.topic, logEnd: undefined, logStart: undefined }]]),
      problems: [
        { stage: 'topic_offsets' as const, subject: cluster.topic, message: 'timed out', retriable: true },
      ],
    };
    const group = tracker.observe(broken).groups[0]!;
    expect(group.lag).toBeNull();
    expect(group.status).toBeNull();
    expect(group.autoscale.desiredReplicas).toBeNull();
    expect(group.errors).toEqual([`topic_offsets ${cluster.topic}: timed out`]);
  });
});
