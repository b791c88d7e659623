import { describe, expect, it } from 'vitest';
import { firstDuplicateMember } from './duplicateJsonMembers.ts';

describe('firstDuplicateMember', () => {
  it('finds nothing in JSON whose objects name each member once', () => {
    expect(firstDuplicateMember('{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}')).toBeUndefined();
    expect(firstDuplicateMember('[1,"a","a"]')).toBeUndefined();
    expect(firstDuplicateMember('"a"')).toBeUndefined();
  });

  it('names a repeated top-level member', () => {
    expect(firstDuplicateMember('{"vehicleId":"x","endsAt":"y","vehicleId":"z"}')).toEqual({
      name: 'vehicleId',
      path: [],
    });
  });

  it('compares names after decoding escapes', () => {
    expect(firstDuplicateMember('{"startsAt":1,"\\u0073tartsAt":2}')).toEqual({ name: 'startsAt', path: [] });
  });

  it('gives the path of a repeat inside nested objects and arrays', () => {
    expect(firstDuplicateMember('{"a":{"b":[{"c":1},{"c":1,"c":2}]}}')).toEqual({
      name: 'c',
      path: ['a', 'b', 1],
    });
  });

  it('throws on text that is not JSON', () => {
    expect(() => firstDuplicateMember('{"a":')).toThrow(/Unexpected/);
  });
});
