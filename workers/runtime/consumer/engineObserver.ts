/** Why a partition is paused at the client. */
export type PauseReason = 'backpressure' | 'breaker' | 'dlq_cap' | 'operator' | 'draining';

/** Outcome of one message. */
export type MessageOutcome = 'success' | 'dead_lettered' | 'skipped';

/**
 * What the engine reports as it works; the metrics adapter turns these into Prometheus
 * series and tests use it to watch the engine. Every method must be cheap and must not throw.
 */
export interface EngineObserver {
  consumed(topic: string, count: number): void;
  processed(topic: string, outcome: MessageOutcome, handlerSeconds: number, endToEndSeconds: number): void;
  failed(topic: string, errorClass: string): void;
  retried(topic: string): void;
  deadLettered(topic: string, reason: string): void;
  rebalanced(type: 'assign' | 'revoke' | 'lost', partitions: number): void;
  committed(seconds: number, partitions: number): void;
  paused(topic: string, partition: number, reason: PauseReason): void;
  resumed(topic: string, partition: number, reason: PauseReason): void;
}

/** An observer that records nothing. */
export const silentObserver: EngineObserver = {
  consumed: () => undefined,
  processed: () => undefined,
  failed: () => undefined,
  retried: () => undefined,
  deadLettered: () => undefined,
  rebalanced: () => undefined,
  committed: () => undefined,
  paused: () => undefined,
  resumed: () => undefined,
};

/** Per-partition state the engine exposes for gauges, /readyz and tests. */
export interface PartitionSnapshot {
  topic: string;
  partition: number;
  epoch: number;
  unfinished: number;
  bufferedBytes: number;
  queued: number;
  inFlight: number;
  committed: number | undefined;
  committable: number | undefined;
  pausedFor: PauseReason[];
  oldestUnfinishedAgeMs: number;
  /**
   * Messages received at or past the committable offset, finished or not (the tracker's size; paused
   * for backpressure above CONSUMER_PARTITION_MAX_UNCOMMITTED). Always set by the engine; optional so
   * snapshots built elsewhere (fixtures, adapters) stay valid.
   */
  uncommitted?: number;
  /** Broker high watermark minus the committable offset, as the client last saw it (undefined when unknown). */
  lag: number | undefined;
}
