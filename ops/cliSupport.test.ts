import { describe, expect, it } from 'vitest';
import {
  formatTable,
  parseCommand,
  parseInteger,
  parseIsoTime,
  parseRate,
  UsageError,
} from './cliSupport.ts';

describe('argument parsing', () => {
  it('parses rates written N/s or N', () => {
    expect(parseRate('rate', '20/s')).toBe(20);
    expect(parseRate('rate', '2.5')).toBe(2.5);
    for (const bad of ['0/s', '-1', 'fast', '10/m', ''])
      expect(() => parseRate('rate', bad)).toThrow(UsageError);
  });

  it('parses ISO 8601 times with a zone only', () => {
    expect(parseIsoTime('since', '2026-05-01T10:00:00Z')).toBe(Date.UTC(2026, 4, 1, 10));
    expect(parseIsoTime('since', '2026-05-01T12:00:00.5+02:00')).toBe(Date.UTC(2026, 4, 1, 10, 0, 0, 500));
    for (const bad of ['2026-05-01', '2026-05-01T10:00:00', 'yesterday', '2026-13-01T00:00:00Z']) {
      expect(() => parseIsoTime('since', bad), bad).toThrow(UsageError);
    }
  });

  it('parses whole numbers within bounds', () => {
    expect(parseInteger('max', '12', 1)).toBe(12);
    for (const bad of ['0', '1.5', 'x', '-3'])
      expect(() => parseInteger('max', bad, 1)).toThrow(/--max must be/);
  });

  it('turns unknown options into usage errors', () => {
    expect(() => parseCommand(['--nope'], { json: { type: 'boolean' } })).toThrow(UsageError);
    expect(parseCommand(['a', '--json'], { json: { type: 'boolean' } })).toMatchObject({
      positionals: ['a'],
      values: { json: true },
    });
  });
});

describe('formatTable', () => {
  it('aligns columns', () => {
    expect(formatTable(['A', 'BB'], [['xxx', 'y']])).toEqual(['A    BB', 'xxx  y']);
  });
});
