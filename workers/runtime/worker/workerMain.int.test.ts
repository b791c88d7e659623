import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  committedOffsets,
  createTopics,
  deleteTopics,
  groupMemberCount,
  produceRecords,
  uniqueName,
} from '../testing/kafkaTestKit.ts';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '../testing/echoWorker.ts');
const topics: string[] = [];

afterAll(async () => {
  await deleteTopics(topics);
});

/** A real worker process on a fresh topic of 300 records; its JSON log lines and its exit. */
async function startEchoWorker(
  handlerMs: number,
  extraEnv: Record<string, string> = {},
): Promise<{
  child: ChildProcess;
  groupId: string;
  topic: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  messages: () => string[];
  output: string[];
}> {
  const topic = uniqueName('worker-main');
  const groupId = uniqueName('worker-main-group');
  topics.push(topic);
  await createTopics([{ topic, partitions: 3 }]);
  await produceRecords(
    topic,
    Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 10}`, value: `v${i}` })),
  );
  const output: string[] = [];
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      TEST_TOPIC: topic,
      TEST_GROUP: groupId,
      TEST_HANDLER_MS: String(handlerMs),
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close', not 'exit': the output pipes are read to their end first.
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const messages = (): string[] =>
    output
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
  return { child, groupId, topic, exit, messages, output };
}

async function totalCommitted(groupId: string, topic: string): Promise<number> {
  return [...(await committedOffsets(groupId, topic)).values()].reduce((n, o) => n + Math.max(0, o), 0);
}

async function waitFor(what: string, output: string[], condition: () => Promise<boolean> | boolean) {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`worker never got to "${what}":\n${output.join('')}`);
    await sleep(100);
  }
}

/** An echo worker whose first records are in their (slow) handlers. */
async function inHandlers(handlerMs: number): ReturnType<typeof startEchoWorker> {
  const worker = await startEchoWorker(handlerMs);
  await waitFor('partitions assigned', worker.output, () =>
    worker.messages().includes('partitions assigned'),
  );
  await sleep(500);
  return worker;
}

describe('workerMain (a real worker process)', () => {
  it('drains in-flight work on SIGTERM, commits the watermark, leaves the group and exits 0', async () => {
    // 300 records on 10 keys, 200 ms each: ~6 s of work, so the signal finds handlers running.
    const worker = await startEchoWorker(200, { TEST_LOG_HANDLED: '1' });
    await waitFor('a first handled record', worker.output, () => worker.messages().includes('handled'));
    const committedAtSignal = await totalCommitted(worker.groupId, worker.topic);
    worker.child.kill('SIGTERM');
    expect(await worker.exit).toEqual({ code: 0, signal: null });
    const messages = worker.messages();
    expect(messages).toContain('draining');
    expect(messages).toContain('drained');
    expect(messages).toContain('worker stopped');
    const logged = worker.output
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { worker?: string; msg: string; partition?: number; offset?: number });
    expect(logged.every((l) => l.worker === 'echo-test')).toBe(true);
    const handled = new Set(
      logged.filter((l) => l.msg === 'handled').map((l) => `${l.partition}:${l.offset}`),
    );
    expect(handled.size).toBeLessThan(300); // stopped mid-stream, not after the end
    // The drain committed what finished meanwhile, and never past unfinished work: every offset
    // below a partition's committed one was handled (a restart redoes nothing it skipped).
    const committed = await committedOffsets(worker.groupId, worker.topic);
    expect(await totalCommitted(worker.groupId, worker.topic)).toBeGreaterThan(committedAtSignal);
    for (const [partition, offset] of committed) {
      for (let o = 0; o < offset; o++)
        expect(handled.has(`${partition}:${o}`), `${partition}:${o}`).toBe(true);
    }
    // Left the group on the way out (a crashed member would linger until its session timed out).
    expect(await groupMemberCount(worker.groupId)).toBe(0);
  });

  it('treats one Ctrl-C delivered twice (terminal SIGINT, then the supervisor SIGTERM) as one graceful stop', async () => {
    // Handlers of two seconds, signalled while the first ones run: the drain is still waiting
    // for them when the second delivery arrives.
    const worker = await inHandlers(2000);
    worker.child.kill('SIGINT');
    await sleep(50);
    worker.child.kill('SIGTERM');
    expect(await worker.exit).toEqual({ code: 0, signal: null });
    const messages = worker.messages();
    expect(messages).toContain(
      'same signal delivered twice (terminal and parent): still stopping gracefully',
    );
    expect(messages).toContain('drained');
    expect(messages).toContain('worker stopped');
    expect(messages).not.toContain('second signal: forcing exit');
  });

  it('forces the exit on a second signal a second or more later, by SIGKILL, which cannot hang on a Kafka close', async () => {
    // Handlers that take a minute: the drain is still waiting when the operator insists.
    const worker = await inHandlers(60_000);
    worker.child.kill('SIGTERM');
    await waitFor('draining', worker.output, () => worker.messages().includes('draining'));
    await sleep(1500);
    worker.child.kill('SIGTERM');
    expect(await worker.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(worker.messages()).toContain('second signal: forcing exit');
    expect(worker.messages()).not.toContain('drained');
  });
});
