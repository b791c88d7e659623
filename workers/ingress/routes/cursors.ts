import { validationProblem } from '../http/problemDetails.ts';
import { uuidPattern } from '../reservations/reservationInput.ts';
import { parseRfc3339 } from '../reservations/rfc3339.ts';

/**
 * Page cursors are opaque to clients (base64url of a tagged position), so the pagination scheme
 * can change without breaking them; a cursor that does not decode is a 400 naming `cursor`.
 */
function invalidCursor() {
  return validationProblem([
    { field: 'cursor', in: 'query', detail: 'is not a cursor returned by this API' },
  ]);
}

/** Cursor of the vehicle listing: the last vehicle id shown. */
export function encodeVehicleCursor(afterId: string): string {
  return Buffer.from(`v1:${afterId}`).toString('base64url');
}

/** The vehicle id a vehicle cursor stands for. */
export function decodeVehicleCursor(cursor: string): string {
  const text = decodeBase64Url(cursor);
  const id = text?.startsWith('v1:') ? text.slice(3) : undefined;
  if (id === undefined || !uuidPattern.test(id)) throw invalidCursor();
  return id.toLowerCase();
}

/** Cursor of a customer's reservation listing: creation time (µs, UTC) and id of the last row shown. */
export function encodeReservationCursor(position: { createdAt: string; reservationId: string }): string {
  return Buffer.from(`r1:${position.createdAt}|${position.reservationId}`).toString('base64url');
}

const createdAtPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * A timestamp of the cursor's shape that names a real instant (the API's RFC 3339 parser): month
 * 13, 30 February, hour 99 or year 0 are a forged cursor (400), not a database error (500).
 */
function isCalendarInstant(createdAt: string): boolean {
  return createdAtPattern.test(createdAt) && parseRfc3339(createdAt) !== undefined;
}

/** The position a reservation cursor stands for. */
export function decodeReservationCursor(cursor: string): { createdAt: string; reservationId: string } {
  const text = decodeBase64Url(cursor);
  const match = text === undefined ? null : /^r1:([^|]+)\|(.+)$/.exec(text);
  const createdAt = match?.[1];
  const reservationId = match?.[2];
  if (!createdAt || !reservationId || !isCalendarInstant(createdAt) || !uuidPattern.test(reservationId)) {
    throw invalidCursor();
  }
  return { createdAt, reservationId: reservationId.toLowerCase() };
}

function decodeBase64Url(value: string): string | undefined {
  if (value.length === 0 || value.length > 256 || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  return Buffer.from(value, 'base64url').toString('utf8');
}
