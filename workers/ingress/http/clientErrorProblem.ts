import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { problemContentType, problemTypes } from './problemDetails.ts';
import { securityHeaders } from './securityHeaders.ts';

/** What every answer carries besides the problem: the peer's RateLimit fields, read without charging. */
export interface ClientErrorContext {
  /** The `RateLimit-Policy` and `RateLimit` fields of the connection's peer (a peek: nothing is charged). */
  rateLimitFields(socket: Socket): Promise<{ policy: string; limit: string }>;
}

/**
 * Answers what Node's HTTP parser refuses before any route or hook runs (headers over the size
 * limit, a request that took longer than the request timeout, bytes that are not HTTP) in the
 * API's own format: problem+json with the security headers, a request id and the RateLimit
 * fields every response carries, then the connection is closed. The framework's default wrote
 * plain JSON without them.
 */
export async function answerClientError(
  error: Error & { code?: string },
  socket: Socket,
  context: ClientErrorContext,
): Promise<void> {
  // The client left: nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, type, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', problemTypes.validation, 'the request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', problemTypes.requestTimeout, 'the request did not arrive in time']
        : [400, 'Bad Request', problemTypes.validation, 'the request is not valid HTTP'];
  // Nothing the client sent can be trusted here (not even an x-request-id): a new id.
  const requestId = randomUUID();
  const body = JSON.stringify({ type, title: reason, status, detail, requestId });
  let rateLimit: { policy: string; limit: string } | undefined;
  try {
    rateLimit = await context.rateLimitFields(socket);
  } catch {
    // The limiter answers from its fallback when Redis fails; a failure here leaves the fields out
    // of an answer that is an error already, rather than no answer at all.
    rateLimit = undefined;
  }
  const headers = {
    'content-type': problemContentType,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    'x-request-id': requestId,
    ...(rateLimit ? { 'ratelimit-policy': rateLimit.policy, ratelimit: rateLimit.limit } : {}),
    ...securityHeaders,
  };
  if (socket.writable) {
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${status} ${reason}\r\n${head}\r\n${body}`);
  }
  socket.destroy(error);
}
