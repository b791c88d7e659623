/**
 * The plumbing shared by the small operational HTTP servers (the runtime's health server, the
 * lag monitor's API): short timeouts, binding, closing with every open socket, and responses
 * that never cache and never carry a stack trace.
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** Binds a server for probes, scrapes and small reports on host:port (0 = a free port); resolves with it and its port. */
export async function listenProbeServer(
  host: string,
  port: number,
  listener: RequestListener<typeof IncomingMessage, typeof ServerResponse>,
): Promise<{ server: Server; port: number }> {
  const server = createServer(listener);
  // Requests here are tiny: a slow client must not hold a socket.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Closes the listener and every open (keep-alive) socket. */
export async function closeProbeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/** Sends a complete response that no cache keeps and no browser sniffs. */
export function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.statusCode = status;
  response.setHeader('Content-Type', contentType);
  response.setHeader('Cache-Control', 'no-store');
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.end(body);
}

/** RFC 9457 problem details; never a stack trace. */
export function sendProblem(response: ServerResponse, status: number, title: string, detail: string): void {
  send(
    response,
    status,
    'application/problem+json',
    JSON.stringify({ type: 'about:blank', title, status, detail }),
  );
}
