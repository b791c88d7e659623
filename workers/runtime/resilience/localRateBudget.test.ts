import { describe, expect, it } from 'vitest';
import { LocalRateBudget } from './localRateBudget.ts';

describe('LocalRateBudget', () => {
  it('grants `limit` takes per window and a fresh budget in the next window', () => {
    const budget = new LocalRateBudget(3, 60_000);
    const t0 = 1_000_000;
    expect([1, 2, 3, 4].map(() => budget.tryTake(t0))).toEqual([true, true, true, false]);
    expect(budget.tryTake(t0 + 59_999)).toBe(false);
    expect(budget.tryTake(t0 + 60_000)).toBe(true);
    expect(budget.remaining(t0 + 60_000)).toBe(2);
  });

  it('counts units granted by the shared cap against the fallback budget', () => {
    const budget = new LocalRateBudget(3, 60_000);
    budget.recordExternalTake(0);
    budget.recordExternalTake(0);
    expect(budget.tryTake(1)).toBe(true);
    expect(budget.tryTake(2)).toBe(false);
  });

  it('with a zero budget refuses everything', () => {
    expect(new LocalRateBudget(0, 1_000).tryTake(0)).toBe(false);
  });
});
