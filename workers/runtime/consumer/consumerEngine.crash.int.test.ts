import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  committedOffsets,
  createTopics,
  deleteTopics,
  produceRecords,
  uniqueName,
} from '../testing/kafkaTestKit.ts';

const topic = uniqueName('engine-crash');
const groupId = uniqueName('crash-group');
const partitions = 4;
const total = 8000;
const outFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-crash-')), 'handled.log');
const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), '../testing/crashableWorker.ts');

interface Line {
  kind: 'H' | 'C' | 'S';
  partition: number;
  offset: number;
  value: string;
}

function readLog(): Line[] {
  if (!fs.existsSync(outFile)) return [];
  return fs
    .readFileSync(outFile, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [kind, partition, offset, value] = l.split(' ');
      return {
        kind: kind as Line['kind'],
        partition: Number(partition),
        offset: Number(offset),
        value: value ?? '',
      };
    });
}

function startChild(): ChildProcess {
  return spawn(process.execPath, [worker], {
    env: { ...process.env, TEST_TOPIC: topic, TEST_GROUP: groupId, OUT_FILE: outFile },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(25);
  }
}

beforeAll(async () => {
  await createTopics([{ topic, partitions }]);
  await produceRecords(
    topic,
    Array.from({ length: total }, (_, i) => ({ key: `k${i % 300}`, value: `m${i}` })),
  );
});

afterAll(async () => {
  await deleteTopics([topic]);
  fs.rmSync(path.dirname(outFile), { recursive: true, force: true });
});

describe('ConsumerEngine crash safety (real broker, SIGKILL)', () => {
  it('after SIGKILLs mid-stream and restarts, every message was handled, none skipped, duplicates only above the last commit', async () => {
    const killedAt: Map<number, number>[] = [];
    // Per kill, the records the child handled at or above its partition's commit: what a restart
    // may redo. Duplicates can only come from these.
    let redoable = 0;
    for (const killAfter of [1500, 4000]) {
      const linesBefore = readLog().length;
      const child = startChild();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await waitFor(() => readLog().filter((l) => l.kind === 'H').length >= killAfter, 60_000);
      // The commits the child logged before the kill: the broker may hold newer ones, never older.
      const commits = new Map<number, number>();
      for (const line of readLog()) if (line.kind === 'C') commits.set(line.partition, line.offset);
      child.kill('SIGKILL');
      await exited;
      killedAt.push(commits);
      redoable += readLog()
        .slice(linesBefore)
        .filter((l) => l.kind === 'H' && l.offset >= (commits.get(l.partition) ?? 0)).length;
    }
    const last = startChild();
    const lastExit = new Promise((resolve) => last.once('exit', resolve));
    await waitFor(
      () =>
        new Set(
          readLog()
            .filter((l) => l.kind === 'H')
            .map((l) => l.value),
        ).size >= total,
      90_000,
    );
    await sleep(300); // let a periodic commit land
    last.kill('SIGTERM');
    expect(await lastExit).toBe(0);

    const handled = readLog().filter((l) => l.kind === 'H');
    const distinct = new Set(handled.map((l) => l.value));
    expect(distinct.size).toBe(total);
    for (let i = 0; i < total; i++) expect(distinct.has(`m${i}`)).toBe(true);

    // Duplicates come only from work at or above a partition's committed offset at a kill.
    const counts = new Map<string, number>();
    for (const line of handled)
      counts.set(
        `${line.partition}:${line.offset}`,
        (counts.get(`${line.partition}:${line.offset}`) ?? 0) + 1,
      );
    const duplicates = [...counts.entries()].filter(([, n]) => n > 1);
    // A partition with no commit logged before a kill stood at offset 0 then: a child killed
    // within its first commit interval (seen in CI) leaves every partition so, and the next child
    // legitimately redoes that work from the start.
    const lowestCommitAtKill = new Map<number, number>();
    for (const commits of killedAt) {
      for (let partition = 0; partition < partitions; partition++) {
        const offset = commits.get(partition) ?? 0;
        lowestCommitAtKill.set(partition, Math.min(lowestCommitAtKill.get(partition) ?? offset, offset));
      }
    }
    for (const [id] of duplicates) {
      const [partition, offset] = id.split(':').map(Number) as [number, number];
      expect(offset, `duplicate ${id} is below a commit`).toBeGreaterThanOrEqual(
        lowestCommitAtKill.get(partition) ?? 0,
      );
    }
    // No more than what the killed children had handled above their commits.
    expect(duplicates.length).toBeLessThanOrEqual(redoable);

    const committed = await committedOffsets(groupId, topic);
    expect([...committed.values()].reduce((n, o) => n + o, 0)).toBe(total);
  });
});
