import type { Counter } from 'prom-client';
import type { Logger } from '../../runtime/observability/logger.ts';
import type { RelaySettings } from '../ingressConfig.ts';
import type { ReservationCommandPublisher } from './reservationCommands.ts';
import type { ReservationStore } from './reservationStore.ts';

/** What one sweep did. */
export interface RelaySweep {
  claimed: number;
  published: number;
  failed: number;
}

/**
 * Produces again the command of every request left pending far longer than a produce can take
 * (an ingress that died between its insert and its produce leaves such a row; migration 010
 * explains why re-producing, never withdrawing, is the safe repair). The command is rebuilt from
 * the row with the same deterministic command id, so the settler decides the request once
 * whichever copy it reads first. A failed publish keeps its claim: the row is tried again after
 * the repeat interval, and the counter and log say so meanwhile.
 */
export class PendingRelay {
  private readonly store: ReservationStore;
  private readonly publisher: ReservationCommandPublisher;
  private readonly settings: RelaySettings;
  private readonly relayed: Counter<'outcome'>;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<RelaySweep> | undefined;
  private stopped = false;

  constructor(options: {
    store: ReservationStore;
    publisher: ReservationCommandPublisher;
    settings: RelaySettings;
    relayed: Counter<'outcome'>;
    logger: Logger;
  }) {
    this.store = options.store;
    this.publisher = options.publisher;
    this.settings = options.settings;
    this.relayed = options.relayed;
    this.logger = options.logger;
  }

  /** Starts the periodic sweeps (none when the interval is 0). */
  start(): void {
    if (this.settings.intervalMs === 0 || this.timer || this.stopped) return;
    this.schedule();
  }

  /** Stops the sweeps and waits for a running one to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping?.catch(() => undefined);
  }

  /** Claims and relays one batch now (the timer calls this; tests and operators may too). */
  sweepOnce(): Promise<RelaySweep> {
    this.sweeping ??= this.sweep().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.sweepOnce()
        .catch((error: unknown) =>
          this.logger.warn({ err: (error as Error).message }, 'pending-request relay sweep failed'),
        )
        .finally(() => {
          if (!this.stopped) this.schedule();
        });
    }, this.settings.intervalMs);
    this.timer.unref();
  }

  private async sweep(): Promise<RelaySweep> {
    // Nothing can be produced while the broker is known to be away: leave the rows unclaimed.
    if (!this.publisher.health().ok) return { claimed: 0, published: 0, failed: 0 };
    const stale = await this.store.claimStalePending(
      this.settings.pendingAfterSeconds,
      this.settings.repeatAfterSeconds,
      this.settings.batchSize,
    );
    let published = 0;
    let failed = 0;
    await Promise.all(
      stale.map(async (request) => {
        const fields = {
          reservationId: request.reservationId,
          pendingSinceMs: request.createdAt.getTime(),
          relayCount: request.relayCount,
        };
        try {
          await this.publisher.publishRequested(
            {
              reservationId: request.reservationId,
              customerId: request.customerId,
              vehicleId: request.vehicleId,
              startsAtMs: request.startsAtMs,
              endsAtMs: request.endsAtMs,
              idempotencyKey: request.idempotencyKey ?? undefined,
            },
            {
              correlationId: `relay-${request.reservationId}`,
              traceparent: undefined,
              nowMs: Date.now(),
            },
          );
          published++;
          this.relayed.inc({ outcome: 'published' });
          this.logger.warn(fields, 'relayed the command of a stale pending reservation request');
        } catch (error) {
          failed++;
          this.relayed.inc({ outcome: 'failed' });
          this.logger.warn(
            { ...fields, err: (error as Error).message },
            'could not relay a stale pending reservation request; it is retried after the repeat interval',
          );
        }
      }),
    );
    return { claimed: stale.length, published, failed };
  }
}
