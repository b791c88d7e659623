import { randomUUID } from 'node:crypto';
import { RdKafka } from '@confluentinc/kafka-javascript';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultKafkaClientSettings } from '../runtime/kafka/clientConfig.ts';
import { TestTopics } from '../runtime/kafka/testTopics.ts';
import { bootstrap, waitUntil } from '../runtime/testing/kafkaTestKit.ts';
import type { GroupObservation } from './clusterSample.ts';
import { openKafkaAdmin } from './kafkaAdmin.ts';
import { KafkaLagReader } from './kafkaLagReader.ts';
import { exactGroupPattern } from './lagMonitorConfig.ts';
import { deleteGroups } from './testing/lagTestKit.ts';
import { TestGroupConsumer } from './testing/testGroupConsumer.ts';

const topics = new TestTopics(bootstrap);
const groups: string[] = [];

afterAll(async () => {
  await deleteGroups(bootstrap, groups);
  await topics.close();
});

/** Commits `offset` on every partition of `topic` for `groupId` without joining the group. */
async function commitWithoutJoining(groupId: string, topic: string, partitions: number, offset: number) {
  const consumer = new RdKafka.KafkaConsumer(
    { 'bootstrap.servers': bootstrap, 'group.id': groupId, 'enable.auto.commit': false },
    {},
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve())),
  );
  try {
    // Synchronous, and throws when the broker refused the commit.
    consumer.commitSync(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset })));
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

describe('KafkaLagReader against the real broker', () => {
  it("drops a topic a stable group left (old commits only) from the group's topics", async () => {
    const consumedTopic = await topics.create('lag-reader-now', 2);
    const leftTopic = await topics.create('lag-reader-left', 3);
    const group = `fleet.test-lag-reader-left-${randomUUID().slice(0, 8)}`;
    groups.push(group);
    await commitWithoutJoining(group, leftTopic, 3, 5);

    const admin = await openKafkaAdmin(defaultKafkaClientSettings(bootstrap, 'lag-reader-test'));
    const reader = new KafkaLagReader({ admin, groupPattern: exactGroupPattern(group), timeoutMs: 5000 });
    let consumer: TestGroupConsumer | undefined;
    try {
      const observe = async (): Promise<GroupObservation | undefined> =>
        (await reader.read()).groups.find((g) => g.groupId === group);
      // No member yet (EMPTY, how a dead consumer looks): the old commits count.
      expect((await observe())?.topics).toEqual([leftTopic]);

      consumer = await TestGroupConsumer.start({
        bootstrap,
        groupId: group,
        topic: consumedTopic,
        commit: 'each',
      });
      let observed: GroupObservation | undefined;
      let sampledTopics: string[] = [];
      await waitUntil(
        async () => {
          const sample = await reader.read();
          observed = sample.groups.find((g) => g.groupId === group);
          sampledTopics = [...sample.topics.keys()];
          return observed?.state === 'STABLE' && (observed.owned?.size ?? 0) === 2;
        },
        30_000,
        `${group} to be STABLE with both partitions of ${consumedTopic} assigned`,
      );
      expect(observed?.topics).toEqual([consumedTopic]);
      expect(observed?.committed?.has(leftTopic)).toBe(false);
      expect(sampledTopics).toEqual([consumedTopic]);
    } finally {
      await consumer?.stop();
      await admin.disconnect();
    }
  });
});
