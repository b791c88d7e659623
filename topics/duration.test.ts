import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseRetentionMs } from './duration.ts';

describe('parseRetentionMs', () => {
  it.each([
    ['7d', 604_800_000],
    ['14d', 1_209_600_000],
    ['12h', 43_200_000],
    ['30m', 1_800_000],
    ['45s', 45_000],
    ['500ms', 500],
    ['2w', 1_209_600_000],
    ['604800000', 604_800_000],
    [604_800_000, 604_800_000],
    ['infinite', -1],
    [-1, -1],
    ['-1', -1],
  ])('reads %j as %d ms', (input, ms) => {
    expect(parseRetentionMs(input)).toBe(ms);
  });

  it.each([['0'], [0], ['7 days'], ['7D'], ['1.5h'], [-5], [1.5], ['d'], [''], [null], [undefined], [{}]])(
    'rejects %j',
    (input) => {
      expect(parseRetentionMs(input)).toBeUndefined();
    },
  );
});

describe('formatDurationMs', () => {
  it('uses the largest exact unit, preferring days to weeks', () => {
    expect(formatDurationMs(1_209_600_000)).toBe('14d');
    expect(formatDurationMs(3_600_000)).toBe('1h');
    expect(formatDurationMs(90_000)).toBe('90s');
    expect(formatDurationMs(1500)).toBe('1500ms');
    expect(formatDurationMs(-1)).toBe('infinite');
  });
});
