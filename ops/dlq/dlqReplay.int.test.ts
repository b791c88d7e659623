import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openKafkaAdmin } from '../../workers/lag-monitor/kafkaAdmin.ts';
import { PermanentError } from '../../workers/runtime/errors/processingErrors.ts';
import { deadLetterHeaderPrefix } from '../../workers/runtime/resilience/deadLetterRecord.ts';
import {
  createTopics,
  deleteTopics,
  produceRecords,
  waitUntil,
} from '../../workers/runtime/testing/kafkaTestKit.ts';
import {
  commitAsNonMember,
  header,
  letters,
  ops,
  readTopic,
  seedDeadLetters,
  testClient,
} from '../testing/opsTestKit.ts';
import { progressGroupOf } from './dlqReplay.ts';
import { pendingSearchRanges, pendingSearchSlackMs } from './pendingRecovery.ts';
import { encodeProgress, freshProgress, markPending } from './replayProgress.ts';
import { deleteProgressGroups, produceAt } from './replayTestKit.ts';

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
  await deleteProgressGroups(groups);
  await deleteTopics(topics);
}, 60_000);

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
    const permanent = await ops(
      'dlq',
      'replay',
      dlq,
      '--error-class',
      'PermanentError',
      '--rate',
      '500/s',
      '--yes',
    );
    expect(permanent.code, permanent.err.join('\n')).toBe(0);
    expect(permanent.out.filter((l) => l.startsWith('moved '))).toHaveLength(4);
    expect(await readTopic(original)).toHaveLength(4);

    const rest = await ops('dlq', 'replay', dlq, '--rate', '500/s', '--yes');
    expect(rest.code, rest.err.join('\n')).toBe(0);
    expect(rest.out.at(-1)).toBe(
      `replay of ${dlq}: moved 8; already replayed 2, not selected 0, unreadable 0`,
    );

    // Everything is below the committed offsets now: nothing is even read again.
    const again = await ops('dlq', 'replay', dlq, '--rate', '500/s', '--yes');
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
    const listedLetters = listed.out.map((l) => JSON.parse(l) as { replayed: boolean });
    expect(listedLetters).toHaveLength(12);
    expect(listedLetters.filter((e) => !e.replayed)).toEqual([]);
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
        partition: 0,
        headers: { 'fleet.replay.of': `${dlq}/0/0`, 'correlation-id': 'corr-0' },
      },
    ]);
    const until = at + 50_000;
    const landed = encodeProgress(
      markPending(freshProgress(0), 0, { at, topic: original, partition: 0, until }),
    );
    await commitAsNonMember(group, dlq, 0, landed.offset, landed.metadata);
    // Partition 1: an earlier run died before its send of offset 0 reached the broker.
    const lost = encodeProgress(
      markPending(freshProgress(0), 0, { at, topic: original, partition: 1, until }),
    );
    await commitAsNonMember(group, dlq, 1, lost.offset, lost.metadata);

    const run = await ops('dlq', 'replay', dlq, '--rate', '500/s', '--yes');
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
    const first = ops('dlq', 'replay', dlq, '--rate', '2/s', '--yes');
    // Once the first record landed, the first run is a member of the progress group.
    while ((await readTopic(original)).length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await ops('dlq', 'replay', dlq, '--rate', '500/s', '--yes');
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

describe('ops dlq replay: one run at a time (real broker)', () => {
  it('lets exactly one of two replays started together move everything; the other refuses (exit 3)', async () => {
    const { original, dlq } = await topicPair('replay-race', 4);
    await seedDeadLetters(original, letters(40, 4), 4);
    // Started in the same tick: both reach the group while the other is still joining or working.
    const [a, b] = await Promise.all([
      ops('dlq', 'replay', dlq, '--rate', '40/s', '--max', '1000'),
      ops('dlq', 'replay', dlq, '--rate', '40/s', '--max', '1000'),
    ]);
    const runs = [a, b].sort((x, y) => x.code - y.code);
    const [winner, loser] = runs as [typeof a, typeof a];
    expect(
      runs.map((r) => r.code),
      runs.map((r) => r.err.join('\n')).join('\n---\n'),
    ).toEqual([0, 3]);
    expect(winner.out.at(-1)).toBe(
      `replay of ${dlq}: moved 40; already replayed 0, not selected 0, unreadable 0`,
    );
    expect(loser.out.filter((l) => l.startsWith('moved '))).toHaveLength(0);
    expect(loser.err.join('\n')).toMatch(/another replay of .* is running/);
    const markers = (await readTopic(original)).map((m) => header(m, 'fleet.replay.of'));
    expect(markers).toHaveLength(40);
    expect(new Set(markers).size).toBe(40);
  });

  it('after a replay was SIGKILLed, refuses with a message that the holder may be dead and when the lock frees; then finishes exactly once', async () => {
    const { original, dlq } = await topicPair('replay-killed', 2);
    await seedDeadLetters(original, letters(8, 2), 2);
    const child = spawn(
      process.execPath,
      ['ops/cli.ts', 'dlq', 'replay', dlq, '--rate', '2/s', '--max', '100'],
      {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: process.env,
        stdio: 'ignore',
      },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitUntil(async () => (await readTopic(original)).length > 0, 30_000, 'the first replayed record');
    child.kill('SIGKILL');
    await exited;

    const refused = await ops('dlq', 'replay', dlq, '--rate', '500/s', '--max', '100');
    expect(refused.code, refused.err.join('\n')).toBe(3);
    const message = refused.err.join('\n');
    expect(message).toMatch(/another replay of .* is running/);
    expect(message).toMatch(/may be a run that died/);
    expect(message).toMatch(/group\.consumer\.session\.timeout\.ms/);

    // Once the dead member's session expired the lock is free; every letter ends up moved once.
    let last = refused;
    await waitUntil(
      async () => {
        last = await ops('dlq', 'replay', dlq, '--rate', '500/s', '--max', '100');
        return last.code !== 3;
      },
      90_000,
      'the lock of the killed run to expire',
    );
    expect(last.code, last.err.join('\n')).toBe(0);
    const markers = (await readTopic(original)).map((m) => header(m, 'fleet.replay.of'));
    expect(markers).toHaveLength(8);
    expect(new Set(markers).size).toBe(8);
  });
});

describe('ops dlq replay --error-code (real broker)', () => {
  it('moves only the dead letters with that fleet.dlq.error-code, AND-ed with the other filters', async () => {
    const { original, dlq } = await topicPair('replay-code', 2);
    const codes = [
      'REFUND_OF_UNKNOWN_PAYMENT',
      'REFUND_MISMATCH',
      'REFUND_EXCEEDS_PAYMENT',
      'PAYMENT_CONFLICT',
    ];
    // Letter i has code codes[i % 4]; letters 0-3 are keyed rental-a, 4-7 rental-b.
    const seeded = letters(8, 2).map((letter, i) => ({
      ...letter,
      key: i < 4 ? 'rental-a' : 'rental-b',
      error: new PermanentError(`refused ${i}`, { code: codes[i % 4]! }),
    }));
    await seedDeadLetters(original, seeded, 2);

    const listed = await ops('dlq', 'list', dlq, '--error-code', 'REFUND_OF_UNKNOWN_PAYMENT', '--json');
    expect(listed.code, listed.err.join('\n')).toBe(0);
    expect(listed.out.map((l) => (JSON.parse(l) as { errorCode: string }).errorCode)).toEqual([
      'REFUND_OF_UNKNOWN_PAYMENT',
      'REFUND_OF_UNKNOWN_PAYMENT',
    ]);

    const narrowed = await ops(
      'dlq',
      'replay',
      dlq,
      '--error-code',
      'REFUND_OF_UNKNOWN_PAYMENT',
      '--key',
      'rental-b',
      '--rate',
      '500/s',
      '--yes',
    );
    expect(narrowed.code, narrowed.err.join('\n')).toBe(0);
    expect(narrowed.out.at(-1)).toBe(
      `replay of ${dlq}: moved 1; already replayed 0, not selected 7, unreadable 0`,
    );
    const codeOf = (m: { headers?: unknown }) =>
      seeded[Number(header(m as never, 'correlation-id')?.replace('corr-', ''))]!.error as PermanentError;
    expect((await readTopic(original)).map((m) => [header(m, 'fleet.replay.of'), codeOf(m).code])).toEqual([
      [`${dlq}/0/2`, 'REFUND_OF_UNKNOWN_PAYMENT'],
    ]);

    const rest = await ops('dlq', 'replay', dlq, '--error-code', 'REFUND_OF_UNKNOWN_PAYMENT', '--yes');
    expect(rest.code, rest.err.join('\n')).toBe(0);
    expect(rest.out.at(-1)).toBe(
      `replay of ${dlq}: moved 1; already replayed 1, not selected 6, unreadable 0`,
    );
    expect((await readTopic(original)).map((m) => codeOf(m).code)).toEqual([
      'REFUND_OF_UNKNOWN_PAYMENT',
      'REFUND_OF_UNKNOWN_PAYMENT',
    ]);
  });
});

describe('settling a pending send (real broker)', () => {
  it('searches only the partition it was sent to, from just before it started to just after its deadline', async () => {
    const { original, dlq } = await topicPair('pending-window', 2);
    // The earlier run died an hour ago; the topic stayed busy before, during and after.
    const at = Date.now() - 3_600_000;
    const until = at + 50_000;
    const before = at - pendingSearchSlackMs - 60_000;
    const after = until + pendingSearchSlackMs + 60_000;
    await produceAt(original, [
      ...[0, 1, 2].map(() => ({ partition: 0, timestamp: before })),
      { partition: 0, timestamp: at },
      // The interrupted send itself: it carries the recorded start as its timestamp.
      { partition: 0, timestamp: at, headers: [['fleet.replay.of', `${dlq}/0/0`]] as [string, string][] },
      ...[0, 1, 2].map(() => ({ partition: 0, timestamp: after })),
      ...[0, 1].map(() => ({ partition: 1, timestamp: at })),
    ]);

    const admin = await openKafkaAdmin(testClient);
    try {
      const context = { dlqTopic: dlq, client: testClient, admin, adminTimeoutMs: 10_000 };
      const bounded = await pendingSearchRanges(context, {
        offset: 0,
        at,
        topic: original,
        partition: 0,
        until,
      });
      expect(bounded).toEqual([{ partition: 0, from: 3, to: 5 }]);
      // Progress written before the partition and deadline were recorded: every partition, to the end.
      const older = await pendingSearchRanges(context, {
        offset: 0,
        at,
        topic: original,
        partition: undefined,
        until: undefined,
      });
      expect(older).toEqual([
        { partition: 0, from: 3, to: 8 },
        { partition: 1, from: 0, to: 2 },
      ]);
    } finally {
      await admin.disconnect();
    }

    // The replay finds the landed send inside that window and sends the record only once.
    await seedDeadLetters(original, letters(2, 2), 2);
    const pending = encodeProgress(
      markPending(freshProgress(0), 0, { at, topic: original, partition: 0, until }),
    );
    await commitAsNonMember(progressGroupOf(dlq), dlq, 0, pending.offset, pending.metadata);
    const run = await ops('dlq', 'replay', dlq, '--rate', '500/s', '--yes');
    expect(run.code, run.err.join('\n')).toBe(0);
    expect(run.out).toContain(
      `pending send of ${dlq}/0/0 from an earlier run had landed: counted as replayed`,
    );
    const markers = (await readTopic(original)).map((m) => header(m, 'fleet.replay.of')).filter(Boolean);
    expect(markers.sort()).toEqual([`${dlq}/0/0`, `${dlq}/1/0`]);
  });
});
