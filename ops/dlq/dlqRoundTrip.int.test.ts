import { randomUUID } from 'node:crypto';
import type { Message } from '@confluentinc/kafka-javascript';
import { afterAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../workers/runtime/errors/processingErrors.ts';
import {
  createTopics,
  deleteTopics,
  produceRecords,
  testWorkerEnv,
  waitUntil,
} from '../../workers/runtime/testing/kafkaTestKit.ts';
import { type RunningWorker, startWorker } from '../../workers/runtime/worker/runWorker.ts';
import { ops, readTopic } from '../testing/opsTestKit.ts';
import { progressGroupOf } from './dlqReplay.ts';
import { deleteProgressGroups } from './replayTestKit.ts';

const topics: string[] = [];
const groups: string[] = [];
let worker: RunningWorker<Buffer | null> | undefined;

afterAll(async () => {
  await worker?.stop();
  await deleteProgressGroups(groups);
  await deleteTopics(topics);
}, 60_000);

/** Every header of a record, in order, as raw bytes. */
function rawHeaders(message: Message): [string, Buffer][] {
  return (message.headers ?? []).flatMap((h) =>
    Object.entries(h).map(([name, value]): [string, Buffer] => [name, Buffer.from(value as Buffer)]),
  );
}

describe('a refused record through the worker, the DLQ and the replay (real broker)', () => {
  it("keeps the original's headers byte for byte: its trace, a non-UTF-8 correlation id, an empty header", async () => {
    const original = `fleet.test-roundtrip-${randomUUID().slice(0, 8)}.v1`;
    const dlq = `${original}.dlq`;
    const groupId = `fleet.test-roundtrip-${randomUUID().slice(0, 8)}`;
    await createTopics([
      { topic: original, partitions: 2 },
      { topic: dlq, partitions: 2 },
    ]);
    topics.push(original, dlq);
    groups.push(groupId, progressGroupOf(dlq));
    const sent: [string, Buffer][] = [
      ['traceparent', Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')],
      ['tracestate', Buffer.from('vendor=opaque')],
      ['correlation-id', Buffer.from([0xff, 0xfe, 0x41])],
      ['x-empty', Buffer.alloc(0)],
      // Kafka allows a name twice; the dead letter and the replay keep both, in order.
      ['x-rep', Buffer.from('first')],
      ['x-rep', Buffer.from('second')],
    ];
    await produceRecords(original, [
      {
        key: 'vehicle-7',
        value: Buffer.from([0x00, 0xc3, 0x28, 0xff]),
        partition: 1,
        headers: sent,
      },
    ]);
    worker = await startWorker(
      {
        name: 'roundtrip-test',
        groupId,
        topics: [original],
        defaultMetricsPort: 0,
        decoder: (value) => value,
        createHandler: async () => ({
          handler: async () => {
            throw new PermanentError('refused for the test', { code: 'TEST_REFUSAL' });
          },
        }),
      },
      testWorkerEnv({ DLQ_MIN_MESSAGES: '1000' }),
    );
    await waitUntil(async () => (await readTopic(dlq)).length === 1, 30_000, 'the dead letter');
    await worker.stop();
    worker = undefined;

    const [deadLetter] = await readTopic(dlq);
    const dlqHeaders = rawHeaders(deadLetter!);
    const valuesOf = (headers: [string, Buffer][], name: string) =>
      headers.filter(([n]) => n === name).map(([, b]) => b);
    for (const [name] of sent) expect(valuesOf(dlqHeaders, name)).toEqual(valuesOf(sent, name));

    const replay = await ops('dlq', 'replay', dlq, '--rate', '500/s', '--yes');
    expect(replay.code, replay.err.join('\n')).toBe(0);
    const [replayed] = await readTopic(original).then((all) => all.filter((m) => m.offset > 0));
    expect(replayed?.partition).toBe(1);
    expect(replayed?.key?.toString()).toBe('vehicle-7');
    expect(replayed?.value).toEqual(Buffer.from([0x00, 0xc3, 0x28, 0xff]));
    const replayedHeaders = rawHeaders(replayed!);
    for (const [name] of sent) expect(valuesOf(replayedHeaders, name)).toEqual(valuesOf(sent, name));
    expect(replayedHeaders.some(([name]) => name.startsWith('fleet.dlq.'))).toBe(false);
  });
});
