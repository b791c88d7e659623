import { spawn } from 'node:child_process';
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

const topic = uniqueName('worker-main');
const groupId = uniqueName('worker-main-group');
const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '../testing/echoWorker.ts');

afterAll(async () => {
  await deleteTopics([topic]);
});

describe('workerMain (a real worker process)', () => {
  it('drains in-flight work on SIGTERM, commits the watermark, leaves the group and exits 0', async () => {
    await createTopics([{ topic, partitions: 3 }]);
    await produceRecords(
      topic,
      Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 10}`, value: `v${i}` })),
    );
    const output: string[] = [];
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, TEST_TOPIC: topic, TEST_GROUP: groupId, METRICS_PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    // Wait until it is mid-stream (some commits, not all), then ask it to stop.
    for (;;) {
      const committed = [...(await committedOffsets(groupId, topic)).values()].reduce(
        (n, o) => n + Math.max(0, o),
        0,
      );
      if (committed > 0) break;
      if (Date.now() > deadline) throw new Error(`worker made no progress:\n${output.join('')}`);
      await sleep(100);
    }
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    const lines = output
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'));
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toContain('draining');
    expect(messages).toContain('drained');
    expect(messages).toContain('worker stopped');
    // The drained watermark was committed: a restart would not repeat finished work.
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; worker?: string });
    expect(logged.every((l) => l.worker === 'echo-test')).toBe(true);
    const committed = [...(await committedOffsets(groupId, topic)).values()].reduce(
      (n, o) => n + Math.max(0, o),
      0,
    );
    expect(committed).toBeGreaterThan(0);
  });
});
