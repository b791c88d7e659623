import type { HeaderList } from '../../workers/runtime/resilience/deadLetterRecord.ts';
import type { DlqRecord } from './dlqRecord.ts';
import { recordCoordinates } from './dlqRecord.ts';

/** Headers a replay adds to the re-produced record. */
export const replayHeaders = Object.freeze({
  /** `<dlq topic>/<partition>/<offset>` of the dead letter it came from: the replay marker. */
  of: 'fleet.replay.of',
  /** When it was replayed (ISO 8601). */
  at: 'fleet.replay.at',
});

/** The record a replay sends: the original key and value bytes onto the original topic. */
export interface ReplayRecord {
  topic: string;
  /** The partition the original was read from: replayed there, it stays in its key's order. */
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  /** The original headers (a repeated name as often as it came), then the replay marker. */
  headers: HeaderList;
  /** The replay marker this record carries. */
  marker: string;
}

/**
 * Builds the re-produced record of a dead letter: its original key, value and headers (the
 * `fleet.dlq.*` ones removed, like any older replay marker) plus `fleet.replay.of` and
 * `fleet.replay.at`. Undefined when the dead letter's headers are unreadable (nothing says
 * where it came from).
 */
export function buildReplayRecord(record: DlqRecord, replayedAt: Date): ReplayRecord | undefined {
  if (!record.info) return undefined;
  const marker = recordCoordinates(record.topic, record.partition, record.offset);
  const headers: HeaderList = [
    ...record.info.originalHeaderList.filter(
      ([name]) => name !== replayHeaders.of && name !== replayHeaders.at,
    ),
    [replayHeaders.of, marker],
    [replayHeaders.at, replayedAt.toISOString()],
  ];
  return {
    topic: record.info.originalTopic,
    partition: record.info.originalPartition,
    key: record.key,
    value: record.value,
    headers,
    marker,
  };
}
