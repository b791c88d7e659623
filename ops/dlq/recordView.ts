import type { DlqRecord } from './dlqRecord.ts';

/** Longest value prefix shown as hex in the table view of `dlq inspect`. */
export const hexPreviewBytes = 256;

/** Bytes as text when they are printable UTF-8, else as `0x…` hex (keys, header values). */
export function printable(bytes: Buffer | null): string {
  if (bytes === null) return '(null)';
  const text = bytes.toString('utf8');
  // Replacement characters or control characters mean it is not text.
  return /^[^\p{Cc}\uFFFD]*$/u.test(text) ? text : `0x${bytes.toString('hex')}`;
}

/** Whether a value is in the Confluent wire format (magic byte 0 and a 4-byte schema id). */
export function isWireFormat(value: Buffer | null): value is Buffer {
  return value !== null && value.length >= 5 && value[0] === 0;
}

/** One dead letter as `dlq list --json` prints it (one JSON object per line). */
export function listEntry(record: DlqRecord, replayed: boolean): Record<string, unknown> {
  const info = record.info;
  return {
    partition: record.partition,
    offset: record.offset,
    timestamp: new Date(record.timestamp).toISOString(),
    key: record.key === null ? null : printable(record.key),
    replayed,
    ...(info
      ? {
          deadLetteredAt: info.deadLetteredAt.toISOString(),
          originalTopic: info.originalTopic,
          originalPartition: info.originalPartition,
          originalOffset: info.originalOffset,
          consumerGroup: info.consumerGroup,
          worker: info.worker,
          errorClass: info.errorClass,
          errorCode: info.errorCode,
          errorMessage: info.errorMessage,
          attempts: info.attempts,
        }
      : { problem: record.problem }),
  };
}

/** JSON.stringify replacer: Buffers (Avro `bytes` fields) as hex, bigints as strings. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer') {
    return `0x${Buffer.from((value as { data: number[] }).data).toString('hex')}`;
  }
  return value;
}
