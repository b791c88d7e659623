import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteGroups } from '../../workers/lag-monitor/testing/lagTestKit.ts';
import { deadLetterHeaderPrefix } from '../../workers/runtime/resilience/deadLetterRecord.ts';
import {
  bootstrap,
  createTopics,
  deleteTopics,
  produceRecords,
} from '../../workers/runtime/testing/kafkaTestKit.ts';
import {
  commitAsNonMember,
  header,
  letters,
  ops,
  readTopic,
  seedDeadLetters,
} from '../testing/opsTestKit.ts';
import { progressGroupOf } from './dlqReplay.ts';
import { encodeProgress, freshProgress, markPending } from './replayProgress.ts';

const topics: string[] = [];
const groups: string[] = [];

/** A fresh original topic and its DLQ, both with `partitions` partitions. */
async function topicPair(purpose: string, partitions: number): Promise<{ original: string; dlq: string }> {
  const original = `fleet.test-${purpose}-${randomUUID().slice(0, 8)}.v1`;
  const dlq = `${original}.dlq`;
  await createTopics([
    { topic: original, partitions },
    { topic: dlq, partitions },
  ]);
  topics.push(original, dlq);
  groups.push(progressGroupOf(dlq));
  return { original, dlq };
}

afterAll(async () => {
  await deleteGroups(bootstrap, groups).catch(() => undefined);
  await deleteTopics(topics);
});

describe('ops dlq replay (real broker)', () => {
  it('moves each dead letter back exactly once across runs; a dry run moves nothing', async () => {
    const { original, dlq } = await topicPair('replay', 4);
    // Letter i goes to partition i % 4; every third is a PermanentError, so a filtered replay
    // leaves replayed records above unreplayed ones (partitions 1 and 2).
    const seeded = letters(12, 4);
    await seedDeadLetters(original, seeded, 4);

    const dry = await ops('dlq', 'replay', dlq, '--dry-run');
    expect(dry.code, dry.err.join('\n')).toBe(0);
    expect(dry.out.filter((l) => l.startsWith('would move '))).toHaveLength(12);
    expect(dry.out.at(-1)).toBe(
      `dry run of ${dlq}: would move 12; already replayed 0, not selected 0, unreadable 0; nothing was sent or committed`,
    );
    expect(await readTopic(original)).toHaveLength(0);

    // A filtered run first: only the PermanentErrors (every third letter).
    const permanent = await ops('dlq', 'replay', dlq, '--error-class', 'PermanentError', '--rate', '500/s');
    expect(permanent.code, permanent.err.join('\n')).toBe(0);
    expect(permanent.out.filter((l) => l.startsWith('moved '))).toHaveLength(4);
    expect(await readTopic(original)).toHaveLength(4);

    const rest = await ops('dlq', 'replay', dlq, '--rate', '500/s');
    expect(rest.code, rest.err.join('\n')).toBe(0);
    expect(rest.out.at(-1)).toBe(
      `replay of ${dlq}: moved 8; already replayed 2, not selected 0, unreadable 0`,
    );

    // Everything is below the committed offsets now: nothing is even read again.
    const again = await ops('dlq', 'replay', dlq, '--rate', '500/s');
    expect(again.code, again.err.join('\n')).toBe(0);
    expect(again.out.at(-1)).toBe(
      `replay of ${dlq}: moved 0; already replayed 0, not selected 0, unreadable 0`,
    );
    const dryAfter = await ops('dlq', 'replay', dlq, '--dry-run');
    expect(dryAfter.out.filter((l) => l.startsWith('would move '))).toHaveLength(0);

    const replayed = await readTopic(original);
    expect(replayed).toHaveLength(12);
    const markers = replayed.map((m) => header(m, 'fleet.replay.of'));
    expect(new Set(markers).size).toBe(12);
    for (const message of replayed) {
      const i = Number(header(message, 'correlation-id')?.replace('corr-', ''));
      expect(message.key?.toString()).toBe(seeded[i]!.key);
      expect(message.value).toEqual(seeded[i]!.value);
      // Back on the partition it was read from, whatever this tool's partitioner would choose.
      expect(message.partition).toBe(seeded[i]!.partition);
      expect(header(message, 'fleet.replay.at')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      // The replay continues the original trace.
      expect(header(message, 'traceparent')?.split('-')[1]).toBe(seeded[i]!.traceparent.split('-')[1]);
      expect((message.headers ?? []).some((h) => Object.keys(h)[0]!.startsWith(deadLetterHeaderPrefix))).toBe(
        false,
      );
    }

    const listed = await ops('dlq', 'list', dlq, '--json');
    expect(listed.code, listed.err.join('\n')).toBe(0);
    expect(listed.out.map((l) => JSON.parse(l) as { replayed: boolean }).every((e) => e.replayed)).toBe(true);
  });

  it('settles a send interrupted by a crash: sent once whether or not it had landed', async () => {
    const { original, dlq } = await topicPair('replay-crash', 2);
    // Partition 0 gets letters 0, 2, 4; partition 1 gets 1, 3, 5.
    await seedDeadLetters(original, letters(6, 2), 2);
    const group = progressGroupOf(dlq);
    const at = Date.now() - 1000;
    // Partition 0: an earlier run sent offset 0 and died before recording it (the marker is on the original topic).
    await produceRecords(original, [
      {
        key: 'vehicle-0',
        value: 'payload-0',
        headers: { 'fleet.replay.of': `${dlq}/0/0`, 'correlation-id': 'corr-0' },
      },
    ]);
    const landed = encodeProgress(markPending(freshProgress(0), 0, at, original));
    await commitAsNonMember(group, dlq, 0, landed.offset, landed.metadata);
    // Partition 1: an earlier run died before its send of offset 0 reached the broker.
    const lost = encodeProgress(markPending(freshProgress(0), 0, at, original));
    await commitAsNonMember(group, dlq, 1, lost.offset, lost.metadata);

    const run = await ops('dlq', 'replay', dlq, '--rate', '500/s');
    expect(run.code, run.err.join('\n')).toBe(0);
    expect(run.out).toContain(
      `pending send of ${dlq}/0/0 from an earlier run had landed: counted as replayed`,
    );
    expect(run.out).toContain(
      `pending send of ${dlq}/1/0 from an earlier run had not landed: it will be sent`,
    );
    expect(run.out.at(-1)).toBe(
      `replay of ${dlq}: moved 5; already replayed 1, not selected 0, unreadable 0; 1 interrupted send(s) found delivered`,
    );
    const markers = (await readTopic(original)).map((m) => header(m, 'fleet.replay.of')).sort();
    expect(markers).toEqual(
      [`${dlq}/0/0`, `${dlq}/0/1`, `${dlq}/0/2`, `${dlq}/1/0`, `${dlq}/1/1`, `${dlq}/1/2`].sort(),
    );
  });

  it('refuses a second replay of the same DLQ while one is running (exit 3)', async () => {
    const { original, dlq } = await topicPair('replay-lock', 1);
    await seedDeadLetters(original, letters(6, 1), 1);
    // One record per second: the first run is still a member of the progress group when the second starts.
    const first = ops('dlq', 'replay', dlq, '--rate', '2/s');
    // Once the first record landed, the first run is a member of the progress group.
    while ((await readTopic(original)).length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await ops('dlq', 'replay', dlq, '--rate', '500/s');
    expect(second.code, second.err.join('\n')).toBe(3);
    expect(second.err.join('\n')).toMatch(/another replay of .* is running/);
    const result = await first;
    expect(result.code, result.err.join('\n')).toBe(0);
    expect(result.out.at(-1)).toBe(
      `replay of ${dlq}: moved 6; already replayed 0, not selected 0, unreadable 0`,
    );
    expect(await readTopic(original)).toHaveLength(6);
  });
});
