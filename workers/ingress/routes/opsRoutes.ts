import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { HttpProblem, problemTypes } from '../http/problemDetails.ts';
import type { IngressRoute } from './ingressRoute.ts';

/** One dependency's readiness. */
export interface ReadinessResult {
  ok: boolean;
  reason?: string;
  [detail: string]: unknown;
}

/** Named readiness checks; each may do I/O but must answer within its own bound. */
export type ReadinessChecks = Record<string, () => Promise<ReadinessResult>>;

/**
 * GET /healthz (liveness: the process serves requests), GET /readyz (every dependency a request
 * needs, or its fallback, is usable) and GET /metrics (Prometheus text). No token: probes and
 * scrapers have none, and these routes reveal no entity data.
 */
export function opsRoutes(ctx: {
  registry: Registry;
  readiness: ReadinessChecks;
  closing: () => boolean;
}): IngressRoute[] {
  async function healthz() {
    return { status: 'ok' };
  }

  async function readyz(_request: FastifyRequest, reply: FastifyReply) {
    const names = Object.keys(ctx.readiness);
    const results = await Promise.all(
      names.map((name) => (ctx.readiness[name] as () => Promise<ReadinessResult>)()),
    );
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
    if (ctx.closing()) checks.shutdown = { ok: false, reason: 'the ingress is shutting down' };
    const failing = Object.entries(checks).filter(([, result]) => !result?.ok);
    if (failing.length > 0) {
      throw new HttpProblem({
        status: 503,
        type: problemTypes.notReady,
        title: 'Not ready',
        detail: `not ready: ${failing.map(([name, result]) => `${name} (${result?.reason ?? 'failing'})`).join(', ')}`,
        retriable: true,
        extensions: { checks },
      });
    }
    return reply.send({ status: 'ready', checks });
  }

  async function metrics(_request: FastifyRequest, reply: FastifyReply) {
    const text = await ctx.registry.metrics();
    return reply.type(ctx.registry.contentType).send(text);
  }

  return [
    { method: 'GET', url: '/healthz', access: 'ops', handler: healthz },
    { method: 'GET', url: '/readyz', access: 'ops', handler: readyz },
    { method: 'GET', url: '/metrics', access: 'ops', handler: metrics },
  ];
}
