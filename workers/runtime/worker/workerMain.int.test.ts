import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  committedOffsets,
  createTopics,
  deleteTopics,
  produceRecords,
  uniqueName,
} from '../testing/kafkaTestKit.ts';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '../testing/echoWorker.ts');
const topics: string[] = [];

afterAll(async () => {
  await deleteTopics(topics);
});

/** A real worker process on a fresh topic of 300 records; its JSON log lines and its exit. */
async function startEchoWorker(handlerMs: number): Promise<{
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

/** An echo worker that is mid-stream (some commits, not all): the moment to signal it. */
async function midStream(handlerMs: number): ReturnType<typeof startEchoWorker> {
  const worker = await startEchoWorker(handlerMs);
  await waitFor(
    'a first commit',
    worker.output,
    async () => (await totalCommitted(worker.groupId, worker.topic)) > 0,
  );
  return worker;
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
    const worker = await midStream(20);
    worker.child.kill('SIGTERM');
    expect(await worker.exit).toEqual({ code: 0, signal: null });
    const messages = worker.messages();
    expect(messages).toContain('draining');
    expect(messages).toContain('drained');
    expect(messages).toContain('worker stopped');
    // The drained watermark was committed: a restart would not repeat finished work.
    const logged = worker.output
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { worker?: string });
    expect(logged.every((l) => l.worker === 'echo-test')).toBe(true);
    expect(await totalCommitted(worker.groupId, worker.topic)).toBeGreaterThan(0);
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
