import type { CheckResult } from '../runtime/observability/healthServer.ts';
import type { Logger } from '../runtime/observability/logger.ts';
import type { ClusterSample } from './clusterSample.ts';
import { LagReadError } from './lagErrors.ts';
import { countPollErrors, type LagMetrics, publishSnapshot } from './lagMetrics.ts';
import type { LagSnapshot } from './lagSnapshot.ts';
import type { LagTracker } from './lagTracker.ts';

/** Where polls come from (KafkaLagReader in production, a fake in unit tests). */
export interface LagReader {
  read(): Promise<ClusterSample>;
}

export interface LagMonitorOptions {
  reader: LagReader;
  tracker: LagTracker;
  metrics: LagMetrics;
  pollIntervalMs: number;
  /** Longest a poll may take before liveness fails (a hung admin call). */
  stalePollMs: number;
  logger: Logger;
  /** Clock; default Date.now. */
  now?: () => number;
}

type State = 'new' | 'running' | 'stopped';

/**
 * The poll loop: read the cluster, update the tracker, publish the gauges. Polls never overlap;
 * the next one starts an interval after the previous one started (or at once if it ran long).
 * A failed poll keeps the history and publishes every figure as unknown until a good one.
 */
export class LagMonitor {
  private readonly options: LagMonitorOptions;
  private state: State = 'new';
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<LagSnapshot> | undefined;
  private lastSnapshot: LagSnapshot | undefined;
  private lastPollEndedAt: number | undefined;
  private startedAt = 0;

  constructor(options: LagMonitorOptions) {
    this.options = options;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Starts polling at once; idempotent. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.startedAt = this.now();
    this.schedule(0);
  }

  /** Stops the loop and waits for a poll in progress; idempotent. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling?.catch(() => undefined);
  }

  /** The figures of the last poll; undefined before the first one ended. */
  latest(): LagSnapshot | undefined {
    return this.lastSnapshot;
  }

  /** Liveness: the loop finished a poll recently (a hung admin call fails it). */
  liveness(): CheckResult {
    const reference = this.lastPollEndedAt ?? this.startedAt;
    const age = this.now() - reference;
    if (this.state === 'running' && age > this.options.pollIntervalMs + this.options.stalePollMs) {
      return { ok: false, reason: `no lag poll finished for ${Math.round(age / 1000)} s` };
    }
    return { ok: true };
  }

  /** Readiness: the last poll reached Kafka, so the figures are real. */
  readiness(): CheckResult {
    const snapshot = this.lastSnapshot;
    if (!snapshot) return { ok: false, reason: 'no lag poll finished yet' };
    if (!snapshot.up) return { ok: false, reason: `lag monitor cannot read Kafka: ${snapshot.error}` };
    return { ok: true };
  }

  /** Runs one poll now (the loop's step; tests and tools call it directly). */
  pollOnce(): Promise<LagSnapshot> {
    const poll = this.poll();
    this.polling = poll;
    return poll;
  }

  private schedule(delayMs: number): void {
    if (this.state !== 'running') return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const startedAt = this.now();
      void this.pollOnce().finally(() => {
        const elapsed = this.now() - startedAt;
        this.schedule(Math.max(0, this.options.pollIntervalMs - elapsed));
      });
    }, delayMs);
  }

  private async poll(): Promise<LagSnapshot> {
    const { reader, tracker, metrics, logger } = this.options;
    const endTimer = metrics.pollDuration.startTimer();
    let snapshot: LagSnapshot;
    try {
      const sample = await reader.read();
      if (sample.problems.length > 0) {
        countPollErrors(
          metrics,
          sample.problems.map((p) => p.stage),
        );
        logger.warn(
          { problems: sample.problems.map((p) => `${p.stage} ${p.subject}: ${p.message}`) },
          'some lag reads failed; their figures are unknown this poll',
        );
      }
      snapshot = tracker.observe(sample);
    } catch (error) {
      const message = (error as Error).message;
      if (error instanceof LagReadError) {
        countPollErrors(metrics, ['list_groups']);
        logger.warn({ err: message, retriable: error.retriable }, 'lag poll failed; every figure is unknown');
      } else {
        logger.error({ err: error }, 'lag poll failed unexpectedly; every figure is unknown');
      }
      snapshot = tracker.failed(message, this.now());
    } finally {
      endTimer();
    }
    publishSnapshot(metrics, snapshot);
    this.lastSnapshot = snapshot;
    this.lastPollEndedAt = this.now();
    return snapshot;
  }
}
