import { describe, expect, it } from 'vitest';
import { KafkaLagReader, type LagAdmin } from './kafkaLagReader.ts';
import { LagReadError } from './lagErrors.ts';

/** A librdkafka-style error as the KafkaJS admin rejects with. */
function kafkaError(message: string, code: number): Error {
  return Object.assign(new Error(message), { code });
}

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
            assignment: { topicPartitions: [{ topic: 'fleet.a.v1', partition: 0 }] },
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

  it('reads matching groups, drops deleted topics, and records other failed reads as problems', async () => {
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
    expect([...(group!.owned ?? [])]).toEqual(['fleet.a.v1:0']);
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
});
