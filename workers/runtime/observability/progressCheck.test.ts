import { describe, expect, it } from 'vitest';
import { ProgressCheck } from './progressCheck.ts';

describe('ProgressCheck', () => {
  it('fails once the loop has been silent longer than the limit, and recovers on a beat', () => {
    let now = 1_000_000;
    const progress = new ProgressCheck({ name: 'consumer loop', maxSilenceMs: 30_000, now: () => now });
    expect(progress.check()).toEqual({ ok: true });
    now += 30_000;
    expect(progress.check().ok).toBe(true);
    now += 15_000;
    expect(progress.check()).toEqual({
      ok: false,
      reason: 'consumer loop made no progress for 45 s (limit 30 s)',
    });
    progress.beat();
    expect(progress.check()).toEqual({ ok: true });
  });
});
