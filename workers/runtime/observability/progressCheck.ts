import type { CheckResult } from './healthServer.ts';

/**
 * Liveness as "made progress recently", not "the process is up": a loop calls `beat()` each
 * time it goes round (a poll returned, even empty), and `check()` fails once it has been
 * silent longer than `maxSilenceMs` — the consumer that is alive but idle forever gets restarted.
 */
export class ProgressCheck {
  private readonly name: string;
  private readonly maxSilenceMs: number;
  private readonly now: () => number;
  private lastBeat: number;

  constructor(options: { name: string; maxSilenceMs: number; now?: () => number }) {
    this.name = options.name;
    this.maxSilenceMs = options.maxSilenceMs;
    this.now = options.now ?? Date.now;
    this.lastBeat = this.now();
  }

  /** Records progress now. */
  beat(): void {
    this.lastBeat = this.now();
  }

  /** A HealthCheck: ok while the last beat is recent enough. */
  readonly check = (): CheckResult => {
    const silentMs = this.now() - this.lastBeat;
    if (silentMs <= this.maxSilenceMs) return { ok: true };
    return {
      ok: false,
      reason: `${this.name} made no progress for ${Math.round(silentMs / 1000)} s (limit ${Math.round(this.maxSilenceMs / 1000)} s)`,
    };
  };
}
