import type { KafkaAdmin } from '../../workers/lag-monitor/kafkaAdmin.ts';
import type { KafkaClientSettings } from '../../workers/runtime/kafka/clientConfig.ts';
import { retryRetriable } from '../../workers/runtime/kafka/retryRetriable.ts';
import { recordCoordinates } from './dlqRecord.ts';
import type { PendingReplay } from './replayProgress.ts';
import { replayHeaders } from './replayRecord.ts';
import { type PartitionRange, readRanges } from './topicReader.ts';

/**
 * How far around a pending send's window the original topic is searched: the broker's clock
 * (LogAppendTime topics) or another producer's (a record stamped ahead of ours ends a
 * timestamp lookup early) may differ from ours by this much.
 */
export const pendingSearchSlackMs = 60_000;

/** What settling a pending send needs: the admin for offsets by time, a client to read. */
export interface PendingRecoveryContext {
  dlqTopic: string;
  client: KafkaClientSettings;
  admin: Pick<KafkaAdmin, 'fetchTopicOffsets' | 'fetchTopicOffsetsByTimestamp'>;
  adminTimeoutMs: number;
}

/**
 * The offsets of the original topic that can hold a pending send: only the partition it was sent
 * to (every partition when the key picked it), from a little before it started to a little after
 * the producer would have given up on it — a few minutes of one partition, however busy the topic
 * is and however long ago the run died. Progress written before the deadline was recorded is
 * searched up to the current end, as it always was.
 */
export async function pendingSearchRanges(
  context: PendingRecoveryContext,
  pending: PendingReplay,
): Promise<PartitionRange[]> {
  const what = `could not find where the pending replay to ${pending.topic} can be`;
  const options = { timeout: context.adminTimeoutMs } as never;
  const starts = await retryRetriable(what, () =>
    context.admin.fetchTopicOffsetsByTimestamp(pending.topic, pending.at - pendingSearchSlackMs, options),
  );
  // Both answer `offset`: the partition's end, or the first offset at or after the time (the
  // end when there is none).
  const ends = await retryRetriable(what, () =>
    pending.until === undefined
      ? context.admin.fetchTopicOffsets(pending.topic, options)
      : context.admin.fetchTopicOffsetsByTimestamp(
          pending.topic,
          pending.until + pendingSearchSlackMs,
          options,
        ),
  );
  const endOf = new Map(ends.map((e) => [e.partition, Number(e.offset)]));
  return starts
    .filter((s) => pending.partition === undefined || s.partition === pending.partition)
    .map((s) => ({ partition: s.partition, from: Number(s.offset), to: endOf.get(s.partition) ?? 0 }));
}

/** Whether a send recorded as pending reached the original topic: its marker is in the range it could land in. */
export async function pendingLanded(
  context: PendingRecoveryContext,
  dlqPartition: number,
  pending: PendingReplay,
): Promise<boolean> {
  const marker = recordCoordinates(context.dlqTopic, dlqPartition, pending.offset);
  let found = false;
  await readRanges({
    client: context.client,
    topic: pending.topic,
    ranges: await pendingSearchRanges(context, pending),
    onRecord: (message) => {
      found = (message.headers ?? []).some((header) => {
        const value = header[replayHeaders.of];
        return value !== undefined && value.toString() === marker;
      });
      return !found;
    },
  });
  return found;
}
