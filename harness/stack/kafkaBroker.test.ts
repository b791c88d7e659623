import { describe, expect, it } from 'vitest';
import { kraftClusterId } from './kafkaBroker.ts';

describe('kraftClusterId', () => {
  it('never starts with a dash, so the storage tool cannot read it as an option', () => {
    // 20,000 draws: a generator without the guard yields a leading '-' with probability 1 - (63/64)^20000.
    const ids = Array.from({ length: 20_000 }, () => kraftClusterId());
    expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
  });

  it('encodes 16 random bytes in URL-safe base64, as KRaft expects', () => {
    const id = kraftClusterId();
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    expect(kraftClusterId()).not.toBe(id);
  });
});
