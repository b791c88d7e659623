import { describe, expect, it } from 'vitest';
import { KafkaLagReader, type LagAdmin } from './kafkaLagReader.ts';
import { LagReadError } from './lagErrors.ts';

/** A librdkafka-style error as the KafkaJS admin rejects with. */
function kafkaError(message: string, code: number): Error {
  return Object.assign(new Error(message), { code });
}

/** A committed offset as the admin lists it. */
function commit(partition: number, offset: string, error: Error | null = null) {
  return { partition, offset, metadata: null, leaderEpoch: null, error };
}

/**
 * A describeGroups answering every group in `state` (numeric ConsumerGroupStates), with one
 * member per entry of `assignments` (`topic:partition` keys; undefined: the member lists none).
 */
function describedAs(state: number, assignments: (string[] | undefined)[]) {
  return async (ids: string[]) => ({
    groups: ids.map((groupId) => ({
      groupId,
      state,
      type: 1,
      members: assignments.map((keys, i) => ({
        memberId: `m${i}`,
        ...(keys
          ? {
              assignment: {
                topicPartitions: keys.map((key) => ({
                  topic: key.slice(0, key.lastIndexOf(':')),
                  partition: Number(key.slice(key.lastIndexOf(':') + 1)),
                })),
              },
            }
          : {}),
      })),
    })),
  });
}

const STABLE = 3;
const EMPTY = 5;
const PREPARING_REBALANCE = 1;

/** A fake admin: two fleet groups and one other; topic reads scripted per topic. */
function fakeAdmin(overrides: Record<string, unknown> = {}): LagAdmin {
  const admin = {
    listGroups: async () => ({
      groups: ['fleet.settler', 'fleet.ops.dlq-replay.x.dlq', 'other.group'].map((groupId) => ({
        groupId,
        protocolType: 'consumer',
        isSimpleConsumerGroup: false,
        state: 3,
        type: 1,
      })),
      errors: [],
    }),
    describeGroups: async (ids: string[]) => ({
      groups: ids.map((groupId) => ({
        groupId,
        members: [
          {
            clientHost: '/127.0.0.1',
            clientId: 'w',
            memberId: 'm',
            memberAssignment: null,
            memberMetadata: null,
            assignment: {
              topicPartitions: [
                { topic: 'fleet.a.v1', partition: 0 },
                { topic: 'fleet.slow.v1', partition: 0 },
              ],
            },
          },
        ],
        isSimpleConsumerGroup: false,
        protocolType: 'consumer',
        protocol: 'uniform',
        partitionAssignor: 'uniform',
        state: 3,
        type: 1,
        coordinator: { id: 1, host: '127.0.0.1', port: 9092 },
      })),
    }),
    fetchOffsets: async () => [
      {
        topic: 'fleet.a.v1',
        partitions: [{ partition: 0, offset: '7', metadata: null, leaderEpoch: null, error: null }],
      },
      {
        topic: 'fleet.gone.v1',
        partitions: [{ partition: 0, offset: '3', metadata: null, leaderEpoch: null, error: null }],
      },
      {
        topic: 'fleet.slow.v1',
        partitions: [{ partition: 0, offset: '-1', metadata: null, leaderEpoch: null, error: null }],
      },
    ],
    fetchTopicOffsets: async (topic: string) => {
      if (topic === 'fleet.gone.v1') throw kafkaError('Broker: Unknown topic or partition', 3);
      if (topic === 'fleet.slow.v1') throw kafkaError('Local: Timed out', -185);
      return [{ partition: 0, offset: '10', high: '10', low: '2' }];
    },
    ...overrides,
  };
  return admin as unknown as LagAdmin;
}

describe('KafkaLagReader', () => {
  const pattern = /^fleet\.(?!ops\.)/;

  it('reads matching groups, drops topics a stable group left, and records failed reads as problems', async () => {
    const sample = await new KafkaLagReader({
      admin: fakeAdmin(),
      groupPattern: pattern,
      timeoutMs: 100,
      now: () => 42,
    }).read();
    expect(sample.time).toBe(42);
    expect(sample.groups.map((g) => g.groupId)).toEqual(['fleet.settler']);
    const [group] = sample.groups;
    expect(group).toMatchObject({ state: 'STABLE', members: 1, topics: ['fleet.a.v1', 'fleet.slow.v1'] });
    expect([...(group!.owned ?? [])]).toEqual(['fleet.a.v1:0', 'fleet.slow.v1:0']);
    // fleet.gone.v1: old commits of a topic no member is assigned.
    expect([...(group!.committed?.keys() ?? [])]).toEqual(['fleet.a.v1', 'fleet.slow.v1']);
    // -1 means nothing committed there.
    expect(group!.committed?.get('fleet.slow.v1')?.size).toBe(0);
    expect(group!.committed?.get('fleet.a.v1')?.get(0)).toBe(7);
    expect([...sample.topics.keys()]).toEqual(['fleet.a.v1', 'fleet.slow.v1']);
    expect(sample.topics.get('fleet.a.v1')).toMatchObject({
      logEnd: new Map([[0, 10]]),
      logStart: new Map([[0, 2]]),
    });
    expect(sample.topics.get('fleet.slow.v1')?.logEnd).toBeUndefined();
    expect(sample.problems).toEqual([
      {
        stage: 'topic_offsets',
        subject: 'fleet.slow.v1',
        message: 'topic offsets failed for fleet.slow.v1: Local: Timed out (ERR__TIMED_OUT)',
        retriable: true,
      },
    ]);
  });

  it('fails the whole poll, retriably, when the groups cannot be listed or the listing is incomplete', async () => {
    const down = fakeAdmin({ listGroups: async () => Promise.reject(kafkaError('Local: Timed out', -185)) });
    const failure = new KafkaLagReader({ admin: down, groupPattern: pattern, timeoutMs: 100 }).read();
    await expect(failure).rejects.toBeInstanceOf(LagReadError);
    await expect(failure).rejects.toMatchObject({ retriable: true, code: 'ERR__TIMED_OUT' });

    const partial = fakeAdmin({
      listGroups: async () => ({ groups: [], errors: [kafkaError('Broker: Coordinator not available', 15)] }),
    });
    await expect(
      new KafkaLagReader({ admin: partial, groupPattern: pattern, timeoutMs: 100 }).read(),
    ).rejects.toThrow(/listing is incomplete/);
  });

  it('marks a partition whose offset read failed unreadable, not "never committed"', async () => {
    const admin = fakeAdmin({
      fetchOffsets: async () => [
        {
          topic: 'fleet.a.v1',
          partitions: [
            {
              partition: 0,
              offset: '-1',
              metadata: null,
              leaderEpoch: null,
              error: kafkaError('Broker: Topic authorization failed', 29),
            },
          ],
        },
      ],
    });
    const [group] = (await new KafkaLagReader({ admin, groupPattern: pattern, timeoutMs: 100 }).read())
      .groups;
    expect(group!.committed?.get('fleet.a.v1')?.has(0)).toBe(false);
    expect([...(group!.unreadable?.get('fleet.a.v1') ?? [])]).toEqual([0]);
  });

  it("keeps reading a group's topics when its offset read fails, so their history goes on", async () => {
    let failing = false;
    const admin = fakeAdmin({
      // A stopped group: no members, so no assignment names its topics either.
      describeGroups: async (ids: string[]) => ({
        groups: ids.map((groupId) => ({ groupId, members: [], state: 5, type: 1 })),
      }),
      fetchOffsets: async () => {
        if (failing) throw kafkaError('Broker: Not coordinator', 16);
        return [
          {
            topic: 'fleet.a.v1',
            partitions: [{ partition: 0, offset: '7', metadata: null, leaderEpoch: null, error: null }],
          },
        ];
      },
    });
    const reader = new KafkaLagReader({ admin, groupPattern: pattern, timeoutMs: 100 });
    expect((await reader.read()).groups[0]!.topics).toEqual(['fleet.a.v1']);
    failing = true;
    const sample = await reader.read();
    expect(sample.groups[0]).toMatchObject({ committed: undefined, topics: ['fleet.a.v1'] });
    expect(sample.topics.get('fleet.a.v1')?.logEnd).toEqual(new Map([[0, 10]]));
  });

  it('leaves a group it cannot describe without members (unknown), with one problem per group', async () => {
    const admin = fakeAdmin({
      describeGroups: async () => Promise.reject(kafkaError('Local: Timed out', -185)),
    });
    const sample = await new KafkaLagReader({ admin, groupPattern: pattern, timeoutMs: 100 }).read();
    expect(sample.groups[0]).toMatchObject({ members: undefined, state: undefined });
    expect(sample.problems.filter((p) => p.stage === 'describe_groups').map((p) => p.subject)).toEqual([
      'fleet.settler',
    ]);
  });

  it('leaves partitions the client reported -1 for out of the log offsets, unreadable, with a problem', async () => {
    const admin = fakeAdmin({
      // What fetchTopicOffsets returns for a partition without a leader: no error, just -1.
      fetchTopicOffsets: async (topic: string) =>
        topic === 'fleet.a.v1'
          ? [
              { partition: 0, offset: '10', high: '10', low: '2' },
              { partition: 1, offset: '-1', high: '-1', low: '-1' },
              { partition: 2, offset: '5', high: '5', low: '-1' },
            ]
          : [{ partition: 0, offset: '4', high: '4', low: '0' }],
    });
    const sample = await new KafkaLagReader({ admin, groupPattern: pattern, timeoutMs: 100 }).read();
    const a = sample.topics.get('fleet.a.v1');
    expect(a?.logEnd).toEqual(new Map([[0, 10]]));
    expect(a?.logStart).toEqual(new Map([[0, 2]]));
    expect([...(a?.unreadable ?? [])]).toEqual([1, 2]);
    expect(sample.topics.get('fleet.slow.v1')).not.toHaveProperty('unreadable');
    expect(sample.problems).toEqual([
      {
        stage: 'topic_offsets',
        subject: 'fleet.a.v1',
        message: expect.stringMatching(/fleet\.a\.v1.*partition\(s\) 1, 2\b/),
        retriable: true,
      },
    ]);
  });

  describe('topics a group committed on but no longer consumes', () => {
    const oldCommits = async () => [
      { topic: 'fleet.a.v1', partitions: [commit(0, '7')] },
      // Unsubscribed long ago; one partition's commit unreadable on top.
      { topic: 'fleet.old.v1', partitions: [commit(0, '3'), commit(1, '-1', kafkaError('Broker: x', 29))] },
    ];

    it('are dropped for a STABLE group whose members hold assignments, and not read', async () => {
      const read: string[] = [];
      const admin = fakeAdmin({
        describeGroups: describedAs(STABLE, [['fleet.a.v1:0'], []]),
        fetchOffsets: oldCommits,
        fetchTopicOffsets: async (topic: string) => {
          read.push(topic);
          return [{ partition: 0, offset: '10', high: '10', low: '0' }];
        },
      });
      const sample = await new KafkaLagReader({ admin, groupPattern: pattern, timeoutMs: 100 }).read();
      const [group] = sample.groups;
      expect(group!.topics).toEqual(['fleet.a.v1']);
      expect([...(group!.committed?.keys() ?? [])]).toEqual(['fleet.a.v1']);
      expect(group!.unreadable).toBeUndefined();
      expect(read).toEqual(['fleet.a.v1']);
      expect(sample.problems).toEqual([]);
    });

    it.each([
      ['an EMPTY group (a dead consumer: its backlog must show)', EMPTY, []],
      ['a rebalancing group', PREPARING_REBALANCE, [['fleet.a.v1:0']]],
      ['a STABLE group whose assignments are unknown', STABLE, [undefined]],
      ['a STABLE group whose members hold no partition', STABLE, [[]]],
    ] as const)('are kept for %s', async (_, state, assignments) => {
      const admin = fakeAdmin({
        describeGroups: describedAs(
          state,
          assignments.map((a) => a && [...a]),
        ),
        fetchOffsets: oldCommits,
      });
      const [group] = (await new KafkaLagReader({ admin, groupPattern: pattern, timeoutMs: 100 }).read())
        .groups;
      expect(group!.topics).toEqual(['fleet.a.v1', 'fleet.old.v1']);
      expect([...(group!.committed?.keys() ?? [])]).toEqual(['fleet.a.v1', 'fleet.old.v1']);
      expect([...(group!.unreadable?.get('fleet.old.v1') ?? [])]).toEqual([1]);
    });

    it('are kept when the group later empties while its offset read fails', async () => {
      let stable = true;
      const admin = fakeAdmin({
        describeGroups: (ids: string[]) =>
          stable ? describedAs(STABLE, [['fleet.a.v1:0']])(ids) : describedAs(EMPTY, [])(ids),
        fetchOffsets: async () => {
          if (!stable) throw kafkaError('Broker: Not coordinator', 16);
          return oldCommits();
        },
      });
      const reader = new KafkaLagReader({ admin, groupPattern: pattern, timeoutMs: 100 });
      expect((await reader.read()).groups[0]!.topics).toEqual(['fleet.a.v1']);
      stable = false;
      expect((await reader.read()).groups[0]!.topics).toEqual(['fleet.a.v1', 'fleet.old.v1']);
    });
  });

  describe('a topic answering "unknown topic or partition"', () => {
    /** A stopped group that committed on fleet.a.v1, whose reads `answers` scripts (true: unknown). */
    function scripted(answers: boolean[], listed: () => boolean = () => true) {
      const admin = fakeAdmin({
        describeGroups: describedAs(EMPTY, []),
        fetchOffsets: async () => (listed() ? [{ topic: 'fleet.a.v1', partitions: [commit(0, '7')] }] : []),
        fetchTopicOffsets: async () => {
          if (answers.shift()) throw kafkaError('Broker: Unknown topic or partition', 3);
          return [{ partition: 0, offset: '10', high: '10', low: '2' }];
        },
      });
      return new KafkaLagReader({ admin, groupPattern: pattern, timeoutMs: 100 });
    }

    /** What one read made of fleet.a.v1: deleted, failed (a problem) or read. */
    async function outcome(reader: KafkaLagReader): Promise<'deleted' | 'failed' | 'read'> {
      const sample = await reader.read();
      const [group] = sample.groups;
      if (!group!.topics.includes('fleet.a.v1')) {
        expect(sample.topics.has('fleet.a.v1')).toBe(false);
        expect(group!.committed?.has('fleet.a.v1')).toBe(false);
        return 'deleted';
      }
      if (sample.topics.get('fleet.a.v1')?.logEnd === undefined) {
        expect(sample.topics.get('fleet.a.v1')?.logStart).toBeUndefined();
        expect(sample.problems).toEqual([
          expect.objectContaining({ stage: 'topic_offsets', subject: 'fleet.a.v1' }),
        ]);
        return 'failed';
      }
      return 'read';
    }

    it('is a failed read twice, and deleted from the 3rd answer in a row on', async () => {
      const reader = scripted([true, true, true, true]);
      const outcomes = [];
      for (let i = 0; i < 4; i++) outcomes.push(await outcome(reader));
      expect(outcomes).toEqual(['failed', 'failed', 'deleted', 'deleted']);
    });

    it('starts counting again after a good read', async () => {
      const reader = scripted([true, true, false, true, true, true]);
      const outcomes = [];
      for (let i = 0; i < 6; i++) outcomes.push(await outcome(reader));
      expect(outcomes).toEqual(['failed', 'failed', 'read', 'failed', 'failed', 'deleted']);
    });

    it('starts counting again once the topic was not read for a poll', async () => {
      let listed = true;
      const reader = scripted([true, true, true], () => listed);
      expect([await outcome(reader), await outcome(reader)]).toEqual(['failed', 'failed']);
      listed = false; // its commits expired: no group lists the topic, so it is not read
      expect((await reader.read()).topics.size).toBe(0);
      listed = true;
      expect(await outcome(reader)).toBe('failed');
    });
  });
});
