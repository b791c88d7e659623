import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { EnvReader } from '../config/envReader.ts';
import type { Logger } from './logger.ts';
import { closeProbeServer, listenProbeServer, send, sendProblem } from './probeHttp.ts';

/** A health check's verdict; `reason` says what is wrong, in words an on-call engineer can act on. */
export interface CheckResult {
  ok: boolean;
  reason?: string;
}

/** A synchronous, cheap check (it runs on every probe): read state, never do I/O. */
export type HealthCheck = () => CheckResult;

/** Where the health server listens. */
export interface HealthServerSettings {
  /** METRICS_HOST: interface to bind; default 127.0.0.1 (set 0.0.0.0 to be scraped from outside). */
  host: string;
  /** METRICS_PORT: port of /metrics, /healthz, /readyz; 0 picks a free one (tests); default 9464. */
  port: number;
}

/** Reads METRICS_HOST and METRICS_PORT; `defaultPort` lets each worker keep its own port. */
export function readHealthServerSettings(reader: EnvReader, defaultPort = 9464): HealthServerSettings {
  return {
    host: reader.string('METRICS_HOST', '127.0.0.1'),
    port: reader.int('METRICS_PORT', defaultPort, { min: 0, max: 65_535 }),
  };
}

export interface HealthServerOptions extends HealthServerSettings {
  registry: Registry;
  logger?: Logger;
  /** Runs before each /metrics render, to refresh gauges computed from state (partition snapshots). */
  beforeMetrics?: () => void;
}

interface NamedCheck {
  name: string;
  check: HealthCheck;
}

/**
 * node:http server for GET /metrics (Prometheus text), /healthz (liveness: every liveness
 * check passes, i.e. the loops made progress recently) and /readyz (readiness). Anything else
 * is a problem+json 404/405; no stack trace ever leaves the process.
 */
export class HealthServer {
  private readonly options: HealthServerOptions;
  private readonly liveness: NamedCheck[] = [];
  private readonly readiness: NamedCheck[] = [];
  private server: Server | undefined;
  private boundPort: number | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: HealthServerOptions) {
    this.options = options;
  }

  /** Adds a liveness check: failing ones make /healthz answer 503 (the orchestrator restarts the process). */
  addLivenessCheck(name: string, check: HealthCheck): this {
    this.liveness.push({ name, check });
    return this;
  }

  /** Adds a readiness check: failing ones make /readyz answer 503 (no traffic, no restart). */
  addReadinessCheck(name: string, check: HealthCheck): this {
    this.readiness.push({ name, check });
    return this;
  }

  /** The bound port once started. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** Binds and resolves with the port (the real one when METRICS_PORT=0). */
  async start(): Promise<number> {
    if (this.boundPort !== undefined) return this.boundPort;
    if (this.stopping) throw new Error('health server was stopped; create a new one');
    const { server, port } = await listenProbeServer(
      this.options.host,
      this.options.port,
      (request, response) => {
        this.route(request, response).catch((error: unknown) => {
          this.options.logger?.error({ err: error }, 'health server request failed');
          if (!response.headersSent)
            sendProblem(response, 500, 'Internal Server Error', 'the request failed');
          else response.destroy();
        });
      },
    );
    this.server = server;
    this.boundPort = port;
    return port;
  }

  /** Closes the listener and every open (keep-alive) socket. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  private async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await closeProbeServer(server);
    this.server = undefined;
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?', 1)[0];
    const handler = this.handlers[path ?? ''];
    if (!handler) {
      sendProblem(response, 404, 'Not Found', 'no such resource');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendProblem(response, 405, 'Method Not Allowed', 'only GET and HEAD are supported');
      return;
    }
    // For HEAD, node:http drops the body and keeps the headers.
    await handler(response);
  }

  private readonly handlers: Record<string, (response: ServerResponse) => Promise<void>> = {
    '/metrics': async (response) => {
      this.options.beforeMetrics?.();
      const body = await this.options.registry.metrics();
      send(response, 200, this.options.registry.contentType, body);
    },
    '/healthz': async (response) => {
      const reasons = runChecks(this.liveness);
      const body = reasons.length === 0 ? { live: true } : { live: false, reasons };
      sendJson(response, reasons.length === 0 ? 200 : 503, body);
    },
    '/readyz': async (response) => {
      const reasons = runChecks(this.readiness);
      const body = reasons.length === 0 ? { ready: true } : { ready: false, reasons };
      sendJson(response, reasons.length === 0 ? 200 : 503, body);
    },
  };
}

/** Runs every check; a throwing check counts as failed (by name only: its error may hold internals). */
function runChecks(checks: readonly NamedCheck[]): string[] {
  const reasons: string[] = [];
  for (const { name, check } of checks) {
    try {
      const result = check();
      if (!result.ok) reasons.push(result.reason ?? `${name} check failed`);
    } catch {
      reasons.push(`${name} check threw`);
    }
  }
  return reasons;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body));
}
