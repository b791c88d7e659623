import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTopics,
  deleteTopics,
  produceRecords,
  uniqueName,
} from '../../workers/runtime/testing/kafkaTestKit.ts';
import {
  isAlive,
  type ProcessGroup,
  startProcessGroup,
  supervisedLogMessages,
} from './testing/processGroup.ts';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing/echoFleet.ts');
const topic = uniqueName('fleet-shutdown');
let fleet: ProcessGroup | undefined;

afterAll(async () => {
  // A failed assertion must not leave the group running.
  fleet?.killIfRunning();
  await deleteTopics([topic]);
});

/** The pids of `parent`'s child processes. */
function childPids(parent: number): number[] {
  return execFileSync('ps', ['-o', 'pid=', '--ppid', String(parent)])
    .toString()
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => pid > 0);
}

describe('the supervisor under a terminal Ctrl-C', () => {
  it('drains every worker and exits 0 when one Ctrl-C reaches the whole group and npm forwards it once more', async () => {
    await createTopics([{ topic, partitions: 4 }]);
    await produceRecords(
      topic,
      Array.from({ length: 400 }, (_, i) => ({ key: `k${i % 40}`, value: `v${i}` })),
    );
    // Its own process group, as a shell gives a foreground job: the group signal reaches the
    // supervisor and every worker, as a terminal's Ctrl-C does.
    fleet = startProcessGroup(process.execPath, [fixture], {
      env: {
        ...process.env,
        TEST_TOPIC: topic,
        TEST_GROUP: uniqueName('fleet-shutdown-group'),
        TEST_HANDLER_MS: '1000',
      },
    });
    const deadline = Date.now() + 90_000;
    while (!fleet.output().includes('fleet ready')) {
      if (Date.now() > deadline) throw new Error(`the echo fleet never got ready:\n${fleet.output()}`);
      await sleep(100);
    }
    await sleep(1500); // handlers of a second each are running
    const pid = fleet.child.pid!;
    process.kill(-pid, 'SIGINT'); // the terminal: every process of the group
    await sleep(50);
    process.kill(pid, 'SIGINT'); // npm forwarding it to its child

    expect(await fleet.exit).toEqual({ code: 0, signal: null });
    const text = fleet.output();
    expect(text).toContain('== SIGINT: draining the fleet');
    expect(text).not.toContain('again: killing');
    for (const name of ['echo-0', 'echo-1']) {
      const messages = supervisedLogMessages(text, name);
      expect(messages, name).toContain('draining');
      expect(messages, name).toContain(
        'same signal delivered twice (terminal and parent): still stopping gracefully',
      );
      expect(messages, name).toContain('drained');
      expect(messages, name).toContain('worker stopped');
      expect(messages, name).not.toContain('second signal: forcing exit');
    }
  });

  it('leaves no orphans when the supervisor itself is killed (SIGKILL): its workers stop themselves', async () => {
    const killed = startProcessGroup(process.execPath, [fixture], {
      env: {
        ...process.env,
        TEST_TOPIC: topic,
        TEST_GROUP: uniqueName('fleet-orphans-group'),
        TEST_HANDLER_MS: '10',
      },
    });
    try {
      const deadline = Date.now() + 90_000;
      while (!killed.output().includes('fleet ready')) {
        if (Date.now() > deadline) throw new Error(`the echo fleet never got ready:\n${killed.output()}`);
        await sleep(100);
      }
      const workers = childPids(killed.child.pid!);
      expect(workers).toHaveLength(2);
      process.kill(killed.child.pid!, 'SIGKILL'); // the supervisor alone, not its group
      const gone = Date.now() + 30_000;
      while (workers.some(isAlive) && Date.now() < gone) await sleep(200);
      expect(workers.filter(isAlive)).toEqual([]);
    } finally {
      killed.killIfRunning();
    }
  });
});
