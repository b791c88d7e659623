import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';

/**
 * A fixed-length, non-reversible identity for a limiter key: customer ids and addresses are
 * personal data and must not sit in Redis in clear, and the key length stays bounded.
 */
export function hashIdentity(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

/**
 * The address a per-IP policy counts. IPv4-mapped IPv6 counts as its IPv4 address; other IPv6
 * addresses count per /64, the block one subscriber usually gets (per-address limits would let a
 * single host rotate through 2^64 addresses).
 */
export function rateLimitAddress(ip: string | undefined): string {
  // A client that disconnected before the hook ran has no address any more; nobody reads the
  // answer, but the request must still be limited without throwing (a throw would be a 500).
  if (ip === undefined || ip === '') return 'disconnected';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, zero-padded and lower case (zone id dropped). */
function expandIPv6(ip: string): string[] {
  const address = ip.split('%')[0] as string;
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::1.2.3.4) takes two groups; it never affects the /64 prefix.
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array(Math.max(0, missing)).fill('0'), ...tailGroups];
  return groups.map((g) => g.toLowerCase().padStart(4, '0'));
}
