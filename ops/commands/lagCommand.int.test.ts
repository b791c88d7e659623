import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { LagSnapshot } from '../../workers/lag-monitor/lagSnapshot.ts';
import {
  deleteGroups,
  startTestMonitor,
  waitForSnapshot,
} from '../../workers/lag-monitor/testing/lagTestKit.ts';
import { TestGroupConsumer } from '../../workers/lag-monitor/testing/testGroupConsumer.ts';
import { TestTopics } from '../../workers/runtime/kafka/testTopics.ts';
import { bootstrap, produceRecords } from '../../workers/runtime/testing/kafkaTestKit.ts';
import { ops } from '../testing/opsTestKit.ts';

const topics = new TestTopics(bootstrap);
const group = `fleet.test-ops-lag-${randomUUID().slice(0, 8)}`;

afterAll(async () => {
  await deleteGroups(bootstrap, [group]).catch(() => undefined);
  await topics.close();
});

describe('ops lag (real broker)', () => {
  it('shows N − K directly from the Admin API and from a running lag monitor; a group nobody consumes reads STOP at once', async () => {
    const topic = await topics.create('ops-lag', 2);
    await produceRecords(
      topic,
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    const consumer = await TestGroupConsumer.start({
      bootstrap,
      groupId: group,
      topic,
      commit: 'each',
      limit: 20,
    });
    await consumer.waitForHandled(20);
    await consumer.stop();
    await consumer.waitForCommitted(20);

    const direct = await ops('lag', '--group', group, '--json', '--interval-ms', '200');
    expect(direct.code, direct.err.join('\n')).toBe(0);
    const snapshot = JSON.parse(direct.out.join('\n')) as LagSnapshot;
    expect(snapshot.groups).toHaveLength(1);
    expect(snapshot.groups[0]).toMatchObject({ group, members: 0, lag: 30 });

    const table = await ops('lag', '--group', group, '--interval-ms', '200');
    expect(table.code, table.err.join('\n')).toBe(0);
    const row = table.out[1]?.split(/\s+/);
    // Nobody consumes and 30 wait: stopped, and a one-shot read must say so (it read OK before).
    expect(row?.slice(0, 4)).toEqual([group, 'STOP', '0', '30']);
    expect(snapshot.groups[0]?.status).toBe('STOP');

    const monitor = await startTestMonitor(group);
    try {
      await waitForSnapshot(monitor.port, (s) => s.groups.some((g) => g.group === group && g.lag !== null));
      const remote = await ops(
        'lag',
        '--from',
        `http://127.0.0.1:${monitor.port}`,
        '--group',
        group,
        '--json',
      );
      expect(remote.code, remote.err.join('\n')).toBe(0);
      expect((JSON.parse(remote.out.join('\n')) as LagSnapshot).groups[0]).toMatchObject({ group, lag: 30 });
    } finally {
      await monitor.stop();
    }

    const unknown = await ops('lag', '--group', `${group}-nope`, '--interval-ms', '200');
    expect(unknown.code, unknown.err.join('\n')).toBe(1);
    expect(unknown.err).toEqual([`no consumer group named ${group}-nope`]);
  });
});
