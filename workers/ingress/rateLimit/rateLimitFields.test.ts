import { describe, expect, it } from 'vitest';
import { hashIdentity, rateLimitAddress } from './clientIdentity.ts';
import { rateLimitFields, retryAfterSeconds } from './rateLimitFields.ts';

describe('IETF draft-11 RateLimit fields', () => {
  it('serializes every applied policy as structured-field list members', () => {
    const fields = rateLimitFields([
      {
        policy: 'customer',
        quota: 60,
        windowSeconds: 60,
        remaining: 59,
        resetSeconds: 1,
        retryAfterSeconds: 0,
      },
      { policy: 'ip', quota: 300, windowSeconds: 60, remaining: 299, resetSeconds: 1, retryAfterSeconds: 0 },
    ]);
    expect(fields).toEqual({
      policy: '"customer";q=60;w=60, "ip";q=300;w=60',
      limit: '"customer";r=59;t=1, "ip";r=299;t=1',
    });
  });

  it('takes the longest wait of the refusing policies for Retry-After, at least 1 s', () => {
    const base = { quota: 1, windowSeconds: 60, remaining: 0, resetSeconds: 60 };
    expect(
      retryAfterSeconds([
        { policy: 'customer', ...base, retryAfterSeconds: 42 },
        { policy: 'ip', ...base, retryAfterSeconds: 7 },
      ]),
    ).toBe(42);
    expect(retryAfterSeconds([{ policy: 'ip', ...base, retryAfterSeconds: 0 }])).toBe(1);
  });
});

describe('limiter identities', () => {
  it('counts IPv6 per /64 and IPv4-mapped addresses as IPv4', () => {
    expect(rateLimitAddress('2001:db8:1:2::5')).toBe('2001:0db8:0001:0002::/64');
    expect(rateLimitAddress('2001:DB8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:0db8:0001:0002::/64');
    // A client gone before the hook ran has no address: limited under one bucket, no throw (no 500).
    expect(rateLimitAddress(undefined)).toBe('disconnected');
    expect(rateLimitAddress('::1')).toBe('0000:0000:0000:0000::/64');
    expect(rateLimitAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(rateLimitAddress('192.0.2.1')).toBe('192.0.2.1');
  });

  it('hashes identities to a fixed length that does not reveal them', () => {
    const hashed = hashIdentity('customer-42@example.com');
    expect(hashed).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(hashed).not.toContain('customer');
    expect(hashIdentity('customer-42@example.com')).toBe(hashed);
  });
});
