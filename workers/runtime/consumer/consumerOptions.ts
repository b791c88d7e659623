import type { EnvReader } from '../config/envReader.ts';
import type { OrderingMode } from './laneScheduler.ts';

/** Tuning of the consumer engine; every field has a default that suits the local stack. */
export interface ConsumerOptions {
  /** CONSUMER_ORDERING: key (per-key FIFO, default), partition (one at a time per partition) or unordered. */
  ordering: OrderingMode;
  /** CONSUMER_MAX_CONCURRENCY: handlers in flight in the whole process (default 64). */
  maxConcurrency: number;
  /** CONSUMER_PARTITION_MAX_MESSAGES: unfinished messages of one partition before it is paused (default 2000); resumes at half. */
  partitionMaxMessages: number;
  /** CONSUMER_PARTITION_MAX_BYTES: unfinished bytes of one partition before it is paused (default 8 MiB); resumes at half. */
  partitionMaxBytes: number;
  /**
   * CONSUMER_PARTITION_MAX_UNCOMMITTED: messages of one partition received at or past its committable offset
   * (finished or not) before it is paused (default 10 × partitionMaxMessages); resumes at half.
   */
  partitionMaxUncommitted: number;
  /** CONSUMER_PROCESS_MAX_MESSAGES: unfinished messages of the process before every partition pauses (default 20000); resumes at 3/4. */
  processMaxMessages: number;
  /** CONSUMER_PROCESS_MAX_BYTES: unfinished bytes of the process before every partition pauses (default 64 MiB); resumes at 3/4. */
  processMaxBytes: number;
  /** CONSUMER_FETCH_BATCH: most messages taken from the client per poll (default 500). */
  fetchBatch: number;
  /** CONSUMER_POLL_TIMEOUT_MS: how long a poll waits for a first message (default 100 ms). */
  pollTimeoutMs: number;
  /** CONSUMER_COMMIT_INTERVAL_MS: how often finished watermarks are committed (default 1000 ms). */
  commitIntervalMs: number;
  /** CONSUMER_MAX_ATTEMPTS: tries of a retriable failure before the message is dead-lettered (default 5). */
  maxAttempts: number;
  /** CONSUMER_RETRY_MIN_MS: first retry delay; doubles each try, with jitter (default 200 ms). */
  retryMinMs: number;
  /** CONSUMER_RETRY_MAX_MS: largest retry delay (default 10000 ms). */
  retryMaxMs: number;
  /** CONSUMER_REVOKE_TIMEOUT_MS: how long a revoke waits for the partition's in-flight handlers before giving it up (default 10000 ms). */
  revokeTimeoutMs: number;
  /** KAFKA_GROUP_PROTOCOL: consumer (KIP-848, default) or classic (cooperative-sticky). */
  groupProtocol: 'consumer' | 'classic';
  /** CONSUMER_SESSION_TIMEOUT_MS: classic protocol only (default 10000 ms); KIP-848 takes it from the broker. */
  sessionTimeoutMs: number;
  /** CONSUMER_MAX_POLL_INTERVAL_MS: librdkafka's max.poll.interval.ms; the engine polls continuously so it never nears it (default 300000 ms). */
  maxPollIntervalMs: number;
  /** CONSUMER_STUCK_HANDLER_MS: a handler running longer than this makes /healthz fail (default 300000 ms). */
  stuckHandlerMs: number;
  /** CONSUMER_AUTO_OFFSET_RESET: where a group without committed offsets starts (default earliest). */
  autoOffsetReset: 'earliest' | 'latest';
}

/** Defaults of every consumer option. */
export const defaultConsumerOptions: Readonly<ConsumerOptions> = Object.freeze({
  ordering: 'key',
  maxConcurrency: 64,
  partitionMaxMessages: 2000,
  partitionMaxBytes: 8 * 1024 * 1024,
  // 10 × partitionMaxMessages: far enough above the unfinished bound that keys finishing out of order
  // never trip it in normal flow, yet a blocked head costs at most ~20k tracker entries (well under 1 MB)
  // and at most that many messages redone by the partition's next owner. readConsumerOptions keeps the
  // 10× ratio when only CONSUMER_PARTITION_MAX_MESSAGES is changed.
  partitionMaxUncommitted: 20_000,
  processMaxMessages: 20_000,
  processMaxBytes: 64 * 1024 * 1024,
  fetchBatch: 500,
  pollTimeoutMs: 100,
  commitIntervalMs: 1000,
  maxAttempts: 5,
  retryMinMs: 200,
  retryMaxMs: 10_000,
  revokeTimeoutMs: 10_000,
  groupProtocol: 'consumer',
  sessionTimeoutMs: 10_000,
  maxPollIntervalMs: 300_000,
  stuckHandlerMs: 300_000,
  autoOffsetReset: 'earliest',
});

/** Reads the consumer options from the environment with an existing reader (validated with the rest of the process config). */
export function readConsumerOptions(
  reader: EnvReader,
  defaults: Partial<ConsumerOptions> = {},
): ConsumerOptions {
  const d = { ...defaultConsumerOptions, ...defaults };
  const partitionMaxMessages = reader.int('CONSUMER_PARTITION_MAX_MESSAGES', d.partitionMaxMessages, {
    min: 2,
  });
  const options: ConsumerOptions = {
    ordering: reader.oneOf('CONSUMER_ORDERING', ['key', 'partition', 'unordered'] as const, d.ordering),
    maxConcurrency: reader.int('CONSUMER_MAX_CONCURRENCY', d.maxConcurrency, { min: 1, max: 10_000 }),
    partitionMaxMessages,
    partitionMaxBytes: reader.int('CONSUMER_PARTITION_MAX_BYTES', d.partitionMaxBytes, { min: 1024 }),
    // Received-past-the-watermark counts unfinished messages too, so a bound below the unfinished one
    // would silently replace it: refused when set so, and a worker's lower default is raised to it
    // (the reader checks the range of what the environment sets, not of a default).
    partitionMaxUncommitted: Math.max(
      partitionMaxMessages,
      reader.int(
        'CONSUMER_PARTITION_MAX_UNCOMMITTED',
        defaults.partitionMaxUncommitted ?? partitionMaxMessages * 10,
        { min: partitionMaxMessages },
      ),
    ),
    processMaxMessages: reader.int('CONSUMER_PROCESS_MAX_MESSAGES', d.processMaxMessages, { min: 2 }),
    processMaxBytes: reader.int('CONSUMER_PROCESS_MAX_BYTES', d.processMaxBytes, { min: 1024 }),
    fetchBatch: reader.int('CONSUMER_FETCH_BATCH', d.fetchBatch, { min: 1, max: 100_000 }),
    pollTimeoutMs: reader.int('CONSUMER_POLL_TIMEOUT_MS', d.pollTimeoutMs, { min: 1, max: 10_000 }),
    commitIntervalMs: reader.int('CONSUMER_COMMIT_INTERVAL_MS', d.commitIntervalMs, { min: 10 }),
    maxAttempts: reader.int('CONSUMER_MAX_ATTEMPTS', d.maxAttempts, { min: 1, max: 100 }),
    retryMinMs: reader.int('CONSUMER_RETRY_MIN_MS', d.retryMinMs, { min: 0 }),
    retryMaxMs: reader.int('CONSUMER_RETRY_MAX_MS', d.retryMaxMs, { min: 0 }),
    revokeTimeoutMs: reader.int('CONSUMER_REVOKE_TIMEOUT_MS', d.revokeTimeoutMs, { min: 0 }),
    groupProtocol: reader.oneOf('KAFKA_GROUP_PROTOCOL', ['consumer', 'classic'] as const, d.groupProtocol),
    sessionTimeoutMs: reader.int('CONSUMER_SESSION_TIMEOUT_MS', d.sessionTimeoutMs, { min: 1000 }),
    maxPollIntervalMs: reader.int('CONSUMER_MAX_POLL_INTERVAL_MS', d.maxPollIntervalMs, { min: 1000 }),
    stuckHandlerMs: reader.int('CONSUMER_STUCK_HANDLER_MS', d.stuckHandlerMs, { min: 1000 }),
    autoOffsetReset: reader.oneOf(
      'CONSUMER_AUTO_OFFSET_RESET',
      ['earliest', 'latest'] as const,
      d.autoOffsetReset,
    ),
  };
  return options;
}
