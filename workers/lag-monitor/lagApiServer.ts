import {
  Agent,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Logger } from '../runtime/observability/logger.ts';
import {
  closeProbeServer,
  listenProbeServer,
  send,
  sendProblem,
} from '../runtime/observability/probeHttp.ts';
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
    const { server, port } = await listenProbeServer(
      this.options.host,
      this.options.port,
      (request, response) => this.route(request, response),
    );
    this.server = server;
    this.boundPort = port;
    return port;
  }

  /** Closes the listener and its open sockets; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const server = this.server;
      if (!server) return;
      await closeProbeServer(server);
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
