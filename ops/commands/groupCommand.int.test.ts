import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteGroups } from '../../workers/lag-monitor/testing/lagTestKit.ts';
import { TestGroupConsumer } from '../../workers/lag-monitor/testing/testGroupConsumer.ts';
import {
  bootstrap,
  committedOffsets,
  createTopics,
  deleteTopics,
  produceRecords,
} from '../../workers/runtime/testing/kafkaTestKit.ts';
import { ops } from '../testing/opsTestKit.ts';

const topic = `fleet.test-reset-${randomUUID().slice(0, 8)}.v1`;
const group = `fleet.test-reset-${randomUUID().slice(0, 8)}`;

afterAll(async () => {
  await deleteGroups(bootstrap, [group]).catch(() => undefined);
  await deleteTopics([topic]);
});

describe('ops group reset-offsets (real broker)', () => {
  it('refuses while the group has members, plans on a dry run, and commits with --execute', async () => {
    await createTopics([{ topic, partitions: 2 }]);
    await produceRecords(
      topic,
      [0, 1].flatMap((partition) => [0, 1, 2].map((i) => ({ key: null, value: `old-${i}`, partition }))),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const cut = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await produceRecords(
      topic,
      [0, 1].flatMap((partition) => [0, 1].map((i) => ({ key: null, value: `new-${i}`, partition }))),
    );

    const consumer = await TestGroupConsumer.start({ bootstrap, groupId: group, topic, commit: 'each' });
    try {
      await consumer.waitForHandled(10);
      await consumer.waitForCommitted(10);
      const refused = await ops(
        'group',
        'reset-offsets',
        '--group',
        group,
        '--topic',
        topic,
        '--to-datetime',
        cut,
        '--execute',
      );
      expect(refused.code, refused.err.join('\n')).toBe(3);
      expect(refused.err.join('\n')).toMatch(/has 1 active member\(s\).*stop its consumers first/);
    } finally {
      await consumer.stop();
    }

    const dry = await ops('group', 'reset-offsets', '--group', group, '--topic', topic, '--to-datetime', cut);
    expect(dry.code, dry.err.join('\n')).toBe(0);
    expect(dry.out[0]).toContain('(dry run: nothing committed; add --execute)');
    expect(dry.out.slice(1).map((line) => line.split(/\s+/))).toEqual([
      ['PARTITION', 'CURRENT', 'TARGET', 'DELTA'],
      ['0', '5', '3', '-2'],
      ['1', '5', '3', '-2'],
    ]);
    expect([...(await committedOffsets(group, topic)).values()]).toEqual([5, 5]);

    const executed = await ops(
      'group',
      'reset-offsets',
      '--group',
      group,
      '--topic',
      topic,
      '--to-datetime',
      cut,
      '--execute',
    );
    expect(executed.code, executed.err.join('\n')).toBe(0);
    expect(executed.out.at(-1)).toBe(`committed 2 partition offset(s) of ${group}`);
    const committed = await committedOffsets(group, topic);
    expect([committed.get(0), committed.get(1)]).toEqual([3, 3]);
  });

  it('refuses a group with no offsets on the topic (a typo would create a new group), unless --create', async () => {
    const typo = `${group}-typo`;
    const args = [
      'group',
      'reset-offsets',
      '--group',
      typo,
      '--topic',
      topic,
      '--to-datetime',
      new Date(0).toISOString(),
    ];
    const refused = await ops(...args, '--execute');
    expect(refused.code, refused.err.join('\n')).toBe(3);
    expect(refused.err.join('\n')).toMatch(/has no committed offset on .*mistyped/);
    expect((await committedOffsets(typo, topic)).size).toBe(0);
    try {
      const created = await ops(...args, '--execute', '--create');
      expect(created.code, created.err.join('\n')).toBe(0);
      const committed = await committedOffsets(typo, topic);
      expect([committed.get(0), committed.get(1)]).toEqual([0, 0]);
    } finally {
      await deleteGroups(bootstrap, [typo]).catch(() => undefined);
    }
  });
});
