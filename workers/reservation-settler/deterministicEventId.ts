import { createHash } from 'node:crypto';

// Fixed namespace of the settler's name-based event ids; never change it (ids would change on replay).
const eventIdNamespace = Buffer.from('6f1d2c8e4b7a4e0f9a3c5d7e1f2b4a6c', 'hex');

/**
 * A name-based (RFC 4122 version 5) UUID for an event whose decision was stored without an event
 * id — made by something other than the settler — so that re-emitting it still yields one id.
 */
export function deterministicEventId(name: string): string {
  const hash = createHash('sha1').update(eventIdNamespace).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
