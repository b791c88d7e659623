import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Incoming correlation headers are untrusted input (OWASP API10): they end up in logs and Kafka
 * headers, so only short, plain tokens are kept; anything else is ignored (never an error: a
 * broken proxy must not break requests) and a fresh id is used instead.
 */
const requestIdPattern = /^[A-Za-z0-9][A-Za-z0-9._~:+=/-]{0,127}$/;

/** W3C Trace Context level 1: version 00, non-zero trace and parent ids. */
const traceparentPattern = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The first value of a header that may be repeated. */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The client's X-Request-Id when it is a valid token, else a new UUID. It is the correlation id. */
export function requestIdFrom(headers: IncomingHttpHeaders): string {
  const given = single(headers['x-request-id']);
  return given !== undefined && requestIdPattern.test(given) ? given : randomUUID();
}

/** The client's `traceparent` when it is a valid version-00 value (else undefined: a new trace starts). */
export function validTraceparent(headers: IncomingHttpHeaders): string | undefined {
  const given = single(headers.traceparent);
  return given !== undefined && traceparentPattern.test(given) ? given : undefined;
}

/** Whether `value` would be accepted as a request id (exported for tests). */
export function isValidRequestId(value: string): boolean {
  return requestIdPattern.test(value);
}
