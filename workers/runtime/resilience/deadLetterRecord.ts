import { describeError, PermanentError } from '../errors/processingErrors.ts';

/** Every header the runtime adds to a dead letter starts with this. */
export const deadLetterHeaderPrefix = 'fleet.dlq.';

/** The runtime's dead-letter headers, by field. */
export const deadLetterHeaders = Object.freeze({
  originalTopic: 'fleet.dlq.original-topic',
  originalPartition: 'fleet.dlq.original-partition',
  originalOffset: 'fleet.dlq.original-offset',
  originalTimestamp: 'fleet.dlq.original-timestamp',
  consumerGroup: 'fleet.dlq.consumer-group',
  errorClass: 'fleet.dlq.error-class',
  errorCode: 'fleet.dlq.error-code',
  errorMessage: 'fleet.dlq.error-message',
  attempts: 'fleet.dlq.attempts',
  worker: 'fleet.dlq.worker',
  deadLetteredAt: 'fleet.dlq.dead-lettered-at',
});

/** Longest error message kept in a header, in UTF-8 bytes (a stack of a huge payload must not bloat the DLQ). */
export const maxErrorMessageBytes = 1024;

/** The DLQ topic of a topic (BRIEF §4). */
export function deadLetterTopicOf(topic: string): string {
  return `${topic}.dlq`;
}

/**
 * A message on its way to the DLQ. Structurally the consumer engine's DeadLetterInput, so a
 * DeadLetterPublisher can pass what the engine hands it straight through.
 */
export interface FailedMessage {
  topic: string;
  partition: number;
  offset: number;
  /** The original record's timestamp, ms since epoch. */
  timestamp: number;
  /** The original key bytes (null stays null). */
  key: Buffer | null;
  /** The original value bytes (null stays null): never the decoded value. */
  value: Buffer | null;
  /** The original record headers, one value per name (the last). */
  headers: Readonly<Record<string, Buffer>>;
  /** The original headers in order, a repeated name as often as it came; `headers` when absent. */
  headerList?: HeaderList;
  /** What sent it to the DLQ (any thrown value). */
  error: unknown;
  /** Attempts made, the last one included. */
  attempts: number;
  /** Consumer group id. */
  groupId: string;
  /** Worker name. */
  worker: string;
}

/** Where and when the dead letter is written; the caller knows the partition counts and the clock. */
export interface DeadLetterPlacement {
  /** Partitions of the source topic. */
  sourcePartitionCount: number;
  /** Partitions of `<topic>.dlq`: the original partition is kept when the DLQ has at least as many. */
  deadLetterPartitionCount: number;
  /** When the message is dead-lettered. */
  deadLetteredAt: Date;
  /** Written as `correlation-id` when the original record had none (the id the runtime generated). */
  correlationId?: string;
}

/** Record headers in order; a name may repeat (Kafka allows it). */
export type HeaderList = readonly (readonly [string, string | Buffer])[];

/** A record ready for the producer; `partition` undefined leaves the choice to the key partitioner. */
export interface DeadLetterRecord {
  topic: string;
  partition: number | undefined;
  key: Buffer | null;
  value: Buffer | null;
  /** What is sent: the original headers in order, bytes unchanged, then the runtime's `fleet.dlq.*` ones. */
  headerList: HeaderList;
  /** The same headers by name (the last value of a repeated one), derived from `headerList`, for reading. */
  headers: Record<string, string | Buffer>;
}

/**
 * Builds the DLQ record of a failed message: the original key and value bytes, the original
 * headers (correlation-id, traceparent, …) and `fleet.dlq.*` headers saying where it came from
 * and why it failed. Pure: the caller supplies the time and the partition counts.
 */
export function buildDeadLetterRecord(
  failed: FailedMessage,
  placement: DeadLetterPlacement,
): DeadLetterRecord {
  // Headers of an earlier dead-lettering (a replayed message failing again) are replaced below.
  const original = (failed.headerList ?? Object.entries(failed.headers)).filter(
    ([name]) => !name.startsWith(deadLetterHeaderPrefix),
  );
  const correlation: HeaderList =
    !original.some(([name]) => name === 'correlation-id') && placement.correlationId
      ? [['correlation-id', placement.correlationId]]
      : [];
  const described = describeError(failed.error);
  const h = deadLetterHeaders;
  const list: HeaderList = [
    ...original,
    ...correlation,
    [h.originalTopic, failed.topic],
    [h.originalPartition, String(failed.partition)],
    [h.originalOffset, String(failed.offset)],
    [h.originalTimestamp, String(failed.timestamp)],
    [h.consumerGroup, failed.groupId],
    [h.errorClass, described.errorClass],
    [h.errorCode, described.code],
    [h.errorMessage, truncateUtf8(described.message, maxErrorMessageBytes)],
    [h.attempts, String(failed.attempts)],
    [h.worker, failed.worker],
    [h.deadLetteredAt, placement.deadLetteredAt.toISOString()],
  ];
  const keepsPartition =
    placement.deadLetterPartitionCount >= placement.sourcePartitionCount &&
    failed.partition < placement.deadLetterPartitionCount;
  return {
    topic: deadLetterTopicOf(failed.topic),
    partition: keepsPartition ? failed.partition : undefined,
    key: failed.key,
    value: failed.value,
    headerList: list,
    headers: Object.fromEntries(list),
  };
}

/** A header value as the Kafka clients hand them out. */
export type RecordHeaderValue = Buffer | string | ReadonlyArray<Buffer | string> | undefined;

/** What a dead letter's headers say (the inverse of buildDeadLetterRecord), for inspect and replay. */
export interface DeadLetterInfo {
  originalTopic: string;
  originalPartition: number;
  originalOffset: number;
  /** The original record's timestamp, ms since epoch. */
  originalTimestamp: number;
  consumerGroup: string;
  errorClass: string;
  errorCode: string;
  errorMessage: string;
  attempts: number;
  worker: string;
  deadLetteredAt: Date;
  /** The original record's own headers (everything not prefixed `fleet.dlq.`), the last value per name. */
  originalHeaders: Record<string, Buffer>;
  /** The same, every value of a repeated name (grouped by name, in order): what a replay sends. */
  originalHeaderList: (readonly [string, Buffer])[];
}

/** A record on a DLQ whose `fleet.dlq.*` headers are missing or malformed. */
export class DeadLetterHeadersError extends PermanentError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid dead-letter headers: ${problems.join('; ')}`, { code: 'DLQ_HEADERS_INVALID' });
    this.problems = problems;
  }
}

/** Reads the `fleet.dlq.*` headers of a dead letter; throws DeadLetterHeadersError naming every problem. */
export function parseDeadLetterHeaders(headers: Readonly<Record<string, RecordHeaderValue>>): DeadLetterInfo {
  const problems: string[] = [];
  const text = (name: string): string => {
    const value = headerText(headers[name]);
    if (value === undefined) problems.push(`${name} is missing`);
    return value ?? '';
  };
  const count = (name: string): number => {
    const value = headerText(headers[name]);
    if (value === undefined) {
      problems.push(`${name} is missing`);
      return 0;
    }
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed))
      problems.push(`${name} is not a non-negative integer: ${JSON.stringify(value)}`);
    return parsed;
  };
  const h = deadLetterHeaders;
  const deadLetteredAtText = text(h.deadLetteredAt);
  const deadLetteredAt = new Date(deadLetteredAtText);
  if (deadLetteredAtText !== '' && Number.isNaN(deadLetteredAt.getTime())) {
    problems.push(`${h.deadLetteredAt} is not an ISO date: ${JSON.stringify(deadLetteredAtText)}`);
  }
  const info: DeadLetterInfo = {
    originalTopic: text(h.originalTopic),
    originalPartition: count(h.originalPartition),
    originalOffset: count(h.originalOffset),
    originalTimestamp: count(h.originalTimestamp),
    consumerGroup: text(h.consumerGroup),
    errorClass: text(h.errorClass),
    errorCode: text(h.errorCode),
    errorMessage: text(h.errorMessage),
    attempts: count(h.attempts),
    worker: text(h.worker),
    deadLetteredAt,
    originalHeaders: {},
    originalHeaderList: [],
  };
  if (problems.length > 0) throw new DeadLetterHeadersError(problems);
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(deadLetterHeaderPrefix) || value === undefined) continue;
    const values = Buffer.isBuffer(value) || typeof value === 'string' ? [value] : value;
    for (const one of values) {
      const bytes = Buffer.isBuffer(one) ? one : Buffer.from(one);
      info.originalHeaderList.push([name, bytes]);
      info.originalHeaders[name] = bytes;
    }
  }
  return info;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes on a character boundary, marking the cut with '…'. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const marker = '…';
  let cut = maxBytes - Buffer.byteLength(marker);
  // Step back over continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut -= 1;
  return `${bytes.subarray(0, cut).toString('utf8')}${marker}`;
}

function lastValue(value: RecordHeaderValue): Buffer | string | undefined {
  if (value === undefined) return undefined;
  if (Buffer.isBuffer(value) || typeof value === 'string') return value;
  return value.length > 0 ? value[value.length - 1] : undefined;
}

function headerText(value: RecordHeaderValue): string | undefined {
  const last = lastValue(value);
  if (last === undefined) return undefined;
  return Buffer.isBuffer(last) ? last.toString('utf8') : last;
}
