import type { MessageHeader } from '@confluentinc/kafka-javascript';
import {
  type DeadLetterInfo,
  deadLetterTopicOf,
  parseDeadLetterHeaders,
} from '../../workers/runtime/resilience/deadLetterRecord.ts';

/** A record read from a dead-letter topic, with what its `fleet.dlq.*` headers say. */
export interface DlqRecord {
  topic: string;
  partition: number;
  offset: number;
  /** The DLQ record's own timestamp, ms since epoch. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Every header, all values per name in order. */
  headers: Record<string, Buffer[]>;
  /** The parsed dead-letter headers; undefined when they are missing or malformed (see `problem`). */
  info: DeadLetterInfo | undefined;
  problem: string | undefined;
}

/** The shape of a consumed record as far as the DLQ tools need it (an RdKafka Message fits). */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp?: number;
  key?: Buffer | string | null;
  value: Buffer | null;
  headers?: MessageHeader[];
}

/** Reads a consumed DLQ record; never throws on bad headers (the record is reported, not hidden). */
export function toDlqRecord(message: ConsumedRecord): DlqRecord {
  const headers: Record<string, Buffer[]> = {};
  for (const header of message.headers ?? []) {
    for (const [name, value] of Object.entries(header)) {
      const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
      const values = headers[name] ?? [];
      values.push(bytes);
      headers[name] = values;
    }
  }
  let info: DeadLetterInfo | undefined;
  let problem: string | undefined;
  try {
    info = parseDeadLetterHeaders(headers);
  } catch (error) {
    problem = (error as Error).message;
  }
  // Only the runtime writes to <topic>.dlq, naming <topic>: a record naming another topic was
  // written by hand or forged, and a replay must not send it wherever it says.
  if (info && deadLetterTopicOf(info.originalTopic) !== message.topic) {
    problem = `it names ${info.originalTopic} as its original topic, but ${message.topic} is not that topic's DLQ`;
    info = undefined;
  }
  const key = message.key ?? null;
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: message.timestamp ?? 0,
    key: key === null ? null : Buffer.isBuffer(key) ? key : Buffer.from(key),
    value: message.value,
    headers,
    info,
    problem,
  };
}

/** `<topic>/<partition>/<offset>`: how the tools name a record (also the replay marker's value). */
export function recordCoordinates(topic: string, partition: number, offset: number): string {
  return `${topic}/${partition}/${offset}`;
}
