import type { Socket } from 'node:net';
import { problemContentType, problemTypes } from './problemDetails.ts';
import { securityHeaders } from './securityHeaders.ts';

/**
 * Answers what Node's HTTP parser refuses before any route or hook runs (headers over the size
 * limit, a request that took longer than the request timeout, bytes that are not HTTP) in the
 * API's own format: problem+json with the security headers, then the connection is closed. The
 * framework's default wrote plain JSON without them.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // The client left: nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, type, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', problemTypes.validation, 'the request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', problemTypes.requestTimeout, 'the request did not arrive in time']
        : [400, 'Bad Request', problemTypes.validation, 'the request is not valid HTTP'];
  const body = JSON.stringify({ type, title: reason, status, detail });
  const headers = {
    'content-type': problemContentType,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
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
