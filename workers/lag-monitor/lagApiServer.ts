import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../runtime/observability/logger.ts';
import type { LagSnapshot } from './lagSnapshot.ts';

/** Path of the JSON lag report. */
export const lagApiPath = '/v1/lag';

export interface LagApiServerOptions {
  host: string;
  port: number;
  /** Loopback port of the runtime's HealthServer, which keeps serving /metrics, /healthz and /readyz. */
  healthPort: number;
  /** The latest figures; undefined before the first poll ended. */
  snapshot: () => LagSnapshot | undefined;
  logger?: Logger;
}

/**
 * The lag monitor's public port: GET /v1/lag answers here, every other request is passed to
 * the runtime's HealthServer on a loopback port, so /metrics, /healthz and /readyz behave
 * exactly as in every other worker (composition: the HealthServer has no way to add routes).
 */
export class LagApiServer {
  private readonly options: LagApiServerOptions;
  // No keep-alive towards the health server: no idle socket outlives a request.
  private readonly agent = new Agent({ keepAlive: false });
  private server: Server | undefined;
  private boundPort: number | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: LagApiServerOptions) {
    this.options = options;
  }

  /** The bound port once started. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** Binds and resolves with the port (a free one when `port` is 0). */
  async start(): Promise<number> {
    if (this.boundPort !== undefined) return this.boundPort;
    if (this.stopping) throw new Error('lag API server was stopped; create a new one');
    const server = createServer((request, response) => this.route(request, response));
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 5_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    return this.boundPort;
  }

  /** Closes the listener and its open sockets; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const server = this.server;
      if (!server) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      this.agent.destroy();
      this.server = undefined;
    })();
    return this.stopping;
  }

  private route(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path !== lagApiPath) {
      this.forward(request, response);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendProblem(response, 405, 'Method Not Allowed', 'only GET and HEAD are supported');
      return;
    }
    const snapshot = this.options.snapshot();
    if (!snapshot) {
      response.setHeader('Retry-After', '1');
      sendProblem(response, 503, 'Service Unavailable', 'no lag poll has finished yet');
      return;
    }
    send(response, 200, 'application/json; charset=utf-8', JSON.stringify(snapshot));
  }

  private forward(request: IncomingMessage, response: ServerResponse): void {
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port: this.options.healthPort,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent: this.agent,
        timeout: 10_000,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('health server did not answer within 10 s')));
    upstream.on('error', (error) => {
      this.options.logger?.error({ err: error.message }, 'forwarding to the health server failed');
      if (!response.headersSent) sendProblem(response, 502, 'Bad Gateway', 'the health endpoint failed');
      else response.destroy();
    });
    request.pipe(upstream);
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.statusCode = status;
  response.setHeader('Content-Type', contentType);
  response.setHeader('Cache-Control', 'no-store');
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.end(body);
}

/** RFC 9457 problem details; never a stack trace. */
function sendProblem(response: ServerResponse, status: number, title: string, detail: string): void {
  send(
    response,
    status,
    'application/problem+json',
    JSON.stringify({ type: 'about:blank', title, status, detail }),
  );
}
