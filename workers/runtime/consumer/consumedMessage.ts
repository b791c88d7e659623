/** A message as a handler sees it: decoded value plus everything needed to trace, log and dead-letter it. */
export interface ConsumedMessage<V = unknown> {
  topic: string;
  partition: number;
  offset: number;
  /** The raw key bytes (null when the record has no key). */
  key: Buffer | null;
  /** The key as UTF-8 text ('' when absent); the ordering key in `key` mode. */
  keyText: string;
  /** The decoded value (Avro through the registry, or whatever the worker's decoder returns). */
  value: V;
  /** The original value bytes, kept for the DLQ. */
  rawValue: Buffer | null;
  /** Record headers, last value wins per name. */
  headers: Readonly<Record<string, Buffer>>;
  /** The record's timestamp (ms since epoch). */
  timestamp: number;
  /** From the `correlation-id` header, else generated when the message was consumed. */
  correlationId: string;
  /** 1 on the first try, incremented by each retry. */
  attempt: number;
}

/** What a handler may use besides the message. */
export interface HandlerContext {
  /** Aborted when the runtime is forced to stop or the partition was revoked; pass it to I/O. */
  signal: AbortSignal;
}

/** A worker's business logic for one message. Throw a ProcessingError subclass to say what should happen. */
export type MessageHandler<V = unknown> = (
  message: ConsumedMessage<V>,
  context: HandlerContext,
) => Promise<void>;

/** Decodes a record's value bytes; throws PoisonMessageError when they cannot be decoded. */
export type ValueDecoder<V = unknown> = (value: Buffer | null, topic: string) => Promise<V> | V;
