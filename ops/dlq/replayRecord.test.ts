import { describe, expect, it } from 'vitest';
import { buildDeadLetterRecord } from '../../workers/runtime/resilience/deadLetterRecord.ts';
import { toDlqRecord } from './dlqRecord.ts';
import { buildReplayRecord, replayHeaders } from './replayRecord.ts';

/** A dead letter of fleet.reservation.commands.v1 as the runtime writes it, read back from `dlqTopic`. */
function deadLetterReadFrom(dlqTopic: string) {
  const dead = buildDeadLetterRecord(
    {
      topic: 'fleet.reservation.commands.v1',
      partition: 4,
      offset: 99,
      timestamp: 1000,
      key: Buffer.from('vehicle-1'),
      value: Buffer.from([0, 0, 0, 0, 7, 1, 2]),
      headers: {
        'correlation-id': Buffer.from('corr-1'),
        traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
        [replayHeaders.of]: Buffer.from('fleet.reservation.commands.v1.dlq/4/3'),
      },
      error: new Error('boom'),
      attempts: 5,
      groupId: 'fleet.reservation-settler',
      worker: 'reservation-settler',
    },
    {
      sourcePartitionCount: 12,
      deadLetterPartitionCount: 12,
      deadLetteredAt: new Date('2026-05-01T10:00:00Z'),
    },
  );
  return toDlqRecord({
    topic: dlqTopic,
    partition: 4,
    offset: 17,
    timestamp: 2000,
    key: dead.key,
    value: dead.value,
    headers: dead.headerList.map(([name, value]) => ({ [name]: value })),
  });
}

describe('buildReplayRecord', () => {
  it('re-produces the original key, value and headers onto the original topic with a replay marker', () => {
    const record = deadLetterReadFrom('fleet.reservation.commands.v1.dlq');
    const replay = buildReplayRecord(record, new Date('2026-05-02T08:00:00Z'))!;
    expect(replay.topic).toBe('fleet.reservation.commands.v1');
    expect(replay.key).toEqual(Buffer.from('vehicle-1'));
    expect(replay.value).toEqual(Buffer.from([0, 0, 0, 0, 7, 1, 2]));
    expect(replay.marker).toBe('fleet.reservation.commands.v1.dlq/4/17');
    // The original headers in order (an older replay marker dropped), then this replay's marker.
    expect(replay.headers.map(([name]) => name)).toEqual([
      'correlation-id',
      'traceparent',
      replayHeaders.of,
      replayHeaders.at,
    ]);
    const byName = Object.fromEntries(replay.headers);
    expect(byName[replayHeaders.of]).toBe('fleet.reservation.commands.v1.dlq/4/17');
    expect(byName[replayHeaders.at]).toBe('2026-05-02T08:00:00.000Z');
    expect(byName['correlation-id']).toEqual(Buffer.from('corr-1'));
  });

  it("cannot replay a dead letter found in a DLQ other than its original topic's (forged or moved)", () => {
    const record = deadLetterReadFrom('fleet.notifications.v1.dlq');
    expect(record.info).toBeUndefined();
    expect(record.problem).toMatch(/names fleet\.reservation\.commands\.v1 as its original topic/);
    expect(buildReplayRecord(record, new Date())).toBeUndefined();
  });

  it('cannot replay a dead letter whose headers do not say where it came from', () => {
    const record = toDlqRecord({ topic: 't.dlq', partition: 0, offset: 0, value: null, headers: [] });
    expect(buildReplayRecord(record, new Date())).toBeUndefined();
  });
});
