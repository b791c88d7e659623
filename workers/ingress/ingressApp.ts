import type { Socket } from 'node:net';
import {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  fastify,
  LogController,
} from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import type { Logger } from '../runtime/observability/logger.ts';
import type { FleetProducer } from '../runtime/producer/fleetProducer.ts';
import { answerWithin } from '../runtime/resilience/answerWithin.ts';
import { AuthenticationError, createBearerVerifier } from './auth/jwtVerifier.ts';
import { answerClientError } from './http/clientErrorProblem.ts';
import {
  HttpProblem,
  instanceOf,
  notFoundProblem,
  problemContentType,
  problemTypes,
} from './http/problemDetails.ts';
import { problemFor } from './http/problemMapping.ts';
import { requestIdFrom, validTraceparent } from './http/requestIdentity.ts';
import {
  type IngressRequestState,
  type IngressRouteConfig,
  type RouteAccess,
  requestState,
  setRequestState,
} from './http/requestState.ts';
import { RouteTable } from './http/routeTable.ts';
import { securityHeaders } from './http/securityHeaders.ts';
import { useStrictJsonBodies } from './http/strictJsonBodyParser.ts';
import type { IngressConfig } from './ingressConfig.ts';
import { createIngressMetrics, type IngressMetrics, methodLabel } from './ingressMetrics.ts';
import { hashIdentity, rateLimitAddress } from './rateLimit/clientIdentity.ts';
import { MemoryGcraLimiter } from './rateLimit/memoryGcraLimiter.ts';
import { rateLimitFields, retryAfterSeconds } from './rateLimit/rateLimitFields.ts';
import type { RateCheck } from './rateLimit/rateLimitTypes.ts';
import { RedisGcraLimiter } from './rateLimit/redisGcraLimiter.ts';
import { ResilientRateLimiter } from './rateLimit/resilientRateLimiter.ts';
import { PendingRelay } from './reservations/pendingRelay.ts';
import { ReservationCommandPublisher } from './reservations/reservationCommands.ts';
import { ReservationStore } from './reservations/reservationStore.ts';
import { adminRoutes } from './routes/adminRoutes.ts';
import type { IngressRoute } from './routes/ingressRoute.ts';
import { opsRoutes, type ReadinessResult } from './routes/opsRoutes.ts';
import { reservationRoutes } from './routes/reservationRoutes.ts';
import { vehicleRoutes } from './routes/vehicleRoutes.ts';

/** The clients the app uses; their owner (IngressService, or a test) opens and closes them. */
export interface IngressDeps {
  /** Application-role pool. */
  pool: pg.Pool;
  /** Redis for the shared rate limits: `enableOfflineQueue: false`, short timeouts (see createIngressRedis). */
  redis: Redis;
  /** Started (or starting) producer with the Avro encoder. */
  producer: FleetProducer;
  /** The process's prom-client registry. */
  registry: Registry;
  logger: Logger;
  /** Wall clock in epoch ms; default Date.now (tests pin it). */
  now?: () => number;
}

/** The app plus the parts tests and the service look at. */
export interface IngressApp {
  app: FastifyInstance;
  /** Every route served, with who may call it (OWASP API9: the inventory the README documents). */
  inventory: readonly { method: string; url: string; access: RouteAccess }[];
  metrics: IngressMetrics;
  rateLimiter: ResilientRateLimiter;
  publisher: ReservationCommandPublisher;
  /** Re-produces the commands of requests left pending (not started here: the service starts it once serving). */
  relay: PendingRelay;
}

/** Fastify's keep-alive timeout (72 s, above common load-balancer idle limits) plus a margin. */
const silentConnectionTimeoutMs = 80_000;

/** How long a readiness probe waits for the database, and how long its answer is reused. */
const databaseProbeTimeoutMs = 1000;
const databaseProbeCacheMs = 1000;

/**
 * Builds the Fastify app of the ingress (no socket: `inject()` exercises the full request path).
 * Every request runs, in order: request id and trace context (validated), token verification,
 * rate limiting (customer and IP policies in one Redis call), then 429/401/403, then the route.
 * Every response carries the security headers and the RateLimit fields; every error is problem+json.
 */
export async function createIngressApp(config: IngressConfig, deps: IngressDeps): Promise<IngressApp> {
  const now = deps.now ?? Date.now;
  const logger = deps.logger;
  const verify = await createBearerVerifier(config.jwt);
  const metrics = createIngressMetrics(deps.registry);
  const rateLimiter = new ResilientRateLimiter({
    redis: deps.redis,
    shared: new RedisGcraLimiter(deps.redis, config.rateLimit.keyPrefix),
    fallback: new MemoryGcraLimiter({ maxKeys: config.rateLimit.fallbackMaxKeys }),
    fallbackInstances: config.rateLimit.fallbackInstances,
    fallbackGauge: metrics.rateLimitFallback,
    logger,
  });
  const store = new ReservationStore(deps.pool, config.database.placement);
  const publisher = new ReservationCommandPublisher({
    producer: deps.producer,
    settings: config.enqueue,
    registry: deps.registry,
    failures: metrics.enqueueFailures,
    logger,
  });
  const relay = new PendingRelay({
    store,
    publisher,
    settings: config.relay,
    relayed: metrics.relayedRequests,
    logger,
  });
  let closing = false;

  const app = fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the app typed as a default FastifyInstance.
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlation_id' }),
    genReqId: (req) => requestIdFrom(req.headers),
    requestIdHeader: false,
    // A hop count as the function Fastify builds from a number (its types take no number).
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    // A client that trickles (or never finishes) its request is cut off: at most the request
    // timeout for the whole request (Node checks it every 30 s), and a connection silent for
    // longer than keep-alive plus a margin is closed (a load balancer's idle limit stays below).
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: silentConnectionTimeoutMs,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Our own 503 (problem+json, Retry-After) answers requests that arrive while closing.
    return503OnClosing: false,
    // Long enough that an overlong id reaches its route and gets the same 404 as any unknown id;
    // the request line is bounded by the header size limit anyway.
    routerOptions: { maxParamLength: 8_192, ignoreTrailingSlash: false },
    // What the HTTP parser refuses (oversized headers, a timed-out request) in the same format.
    clientErrorHandler: (error, socket) => {
      answerClientError(error, socket, { rateLimitFields: peerRateLimitFields }).catch((failure: unknown) => {
        logger.error({ err: failure }, 'answering a refused request failed');
        socket.destroy();
      });
    },
    // A URL that cannot even be decoded never reaches the hooks: answer it here, same format.
    frameworkErrors: (error, request, reply) => {
      answerMalformedUrl(error, request, reply).catch((failure: unknown) => {
        if (!reply.sent) sendProblem(request, reply, problemFor(failure));
        else request.log.error({ err: failure }, 'answering a malformed URL failed');
      });
    },
  });
  // JSON only: Fastify's text/plain parser would hand strings to handlers that expect objects.
  app.removeContentTypeParser('text/plain');
  useStrictJsonBodies(app, config.bodyLimitBytes);

  const ipPolicy = config.rateLimit.ip;
  const customerPolicy = config.rateLimit.customer;
  function rateChecks(request: FastifyRequest, subject: string | undefined): RateCheck[] {
    const checks: RateCheck[] = [];
    if (subject !== undefined)
      checks.push({ policy: 'customer', identity: hashIdentity(subject), ...customerPolicy });
    checks.push(ipRateCheck(request.ip));
    return checks;
  }

  /** The IP policy's check of a client address. */
  function ipRateCheck(ip: string): RateCheck {
    return { policy: 'ip', identity: hashIdentity(rateLimitAddress(ip)), ...ipPolicy };
  }

  /**
   * The IP policy's fields for a connection whose request never parsed, read without charging
   * (cost 0). Behind a trusted proxy the socket's peer is the proxy: its bucket is shown, and
   * never charged for a client's malformed bytes.
   */
  async function peerRateLimitFields(socket: Socket): Promise<{ policy: string; limit: string }> {
    const decision = await rateLimiter.check([ipRateCheck(socket.remoteAddress ?? '')], 0);
    return rateLimitFields(decision.outcomes);
  }

  function startRequestState(request: FastifyRequest): IngressRequestState {
    const state: IngressRequestState = {
      principal: undefined,
      authFailure: undefined,
      rateOutcomes: [],
      traceparent: validTraceparent(request.headers),
      startedAt: performance.now(),
    };
    setRequestState(request, state);
    return state;
  }

  /** Charges the request's policies; throws the 429 when one is exhausted. */
  async function chargeRateLimits(request: FastifyRequest, state: IngressRequestState, cost: 0 | 1) {
    const decision = await rateLimiter.check(rateChecks(request, state.principal?.subject), cost);
    state.rateOutcomes = decision.outcomes;
    if (!decision.admitted) {
      for (const outcome of decision.outcomes) {
        if (outcome.retryAfterSeconds > 0) metrics.rateLimited.inc({ policy: outcome.policy });
      }
      throw new HttpProblem({
        status: 429,
        type: problemTypes.rateLimited,
        title: 'Too many requests',
        detail: 'the rate limit of this client is exhausted; retry after the time in Retry-After',
        retriable: true,
        headers: { 'retry-after': String(retryAfterSeconds(decision.outcomes)) },
      });
    }
  }

  /**
   * Fastify answers an undecodable URL outside its hooks: this gives it what the hooks give every
   * other response (the IP policy's charge, the request id, the RateLimit fields, a log line and
   * the request metrics), so a malformed URL is neither a free probe nor an untraceable answer.
   */
  async function answerMalformedUrl(error: Error, request: FastifyRequest, reply: FastifyReply) {
    const state = startRequestState(request);
    reply.raw.once('finish', () => recordCompletion(request, reply));
    let problem = new HttpProblem({
      status: 400,
      type: problemTypes.validation,
      title: 'Bad request',
      detail: 'the request URL is malformed',
      cause: error,
    });
    try {
      await chargeRateLimits(request, state, 1);
    } catch (refusal) {
      if (!(refusal instanceof HttpProblem)) throw refusal;
      problem = refusal;
    }
    decorateResponse(request, reply);
    sendProblem(request, reply, problem);
  }

  app.addHook('onRequest', async (request) => {
    const state = startRequestState(request);
    if (closing) {
      // Refused, but still told its limit like every other response (read, not charged).
      await chargeRateLimits(request, state, 0);
      throw shuttingDownProblem();
    }
    const access = accessOf(request);
    if (access !== 'ops' && request.routeOptions.url !== undefined) {
      try {
        state.principal = await verify(request.headers.authorization);
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        state.authFailure = error;
      }
    }
    // Refused and unauthenticated requests are counted too: brute-forcing tokens costs quota.
    await chargeRateLimits(request, state, access === 'ops' ? 0 : 1);
    if (state.authFailure) throw unauthorizedProblem(state.authFailure);
    if (access === 'admin' && state.principal?.role !== 'admin') {
      throw new HttpProblem({
        status: 403,
        type: problemTypes.forbidden,
        title: 'Forbidden',
        detail: 'this operation requires the admin role',
      });
    }
  });

  /** The security headers, the request id and the RateLimit fields every response carries. */
  function decorateResponse(request: FastifyRequest, reply: FastifyReply) {
    reply.headers(securityHeaders);
    reply.header('x-request-id', request.id);
    const outcomes = requestState(request)?.rateOutcomes ?? [];
    if (outcomes.length > 0) {
      const fields = rateLimitFields(outcomes);
      reply.header('ratelimit-policy', fields.policy);
      reply.header('ratelimit', fields.limit);
    }
  }

  app.addHook('onSend', async (request, reply, payload) => {
    decorateResponse(request, reply);
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => recordCompletion(request, reply));

  /** The request metrics and the access log line. */
  function recordCompletion(request: FastifyRequest, reply: FastifyReply) {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = methodLabel(request.method);
    const seconds = (performance.now() - (requestState(request)?.startedAt ?? performance.now())) / 1000;
    metrics.requests.inc({ route, method, status: String(reply.statusCode) });
    metrics.requestDuration.observe({ route, method }, seconds);
    const fields = { method, route, status: reply.statusCode, durationMs: Math.round(seconds * 1e6) / 1e3 };
    if (accessOf(request) === 'ops') request.log.debug(fields, 'request completed');
    else request.log.info(fields, 'request completed');
  }

  app.setErrorHandler((error, request, reply) => sendProblem(request, reply, problemFor(error)));

  app.setNotFoundHandler(async (request, reply) => {
    const allowed = routes.allowedMethods(instanceOf(request.url));
    if (allowed.length > 0) {
      const allow = allowed.includes('GET') ? [...allowed, 'HEAD'].sort() : allowed;
      throw new HttpProblem({
        status: 405,
        type: problemTypes.methodNotAllowed,
        title: 'Method not allowed',
        detail: `${request.method} is not allowed here`,
        headers: { allow: allow.join(', ') },
      });
    }
    return sendProblem(request, reply, notFoundProblem());
  });

  function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: HttpProblem): FastifyReply {
    if (problem.status >= 500) {
      request.log.error({ err: problem.cause ?? problem, status: problem.status }, 'request failed');
    }
    const body = { ...problem.toBody(instanceOf(request.url)), requestId: request.id };
    return reply.code(problem.status).headers(problem.headers).type(problemContentType).send(body);
  }

  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onClose', async () => {
    await relay.stop();
    await store.close();
    publisher.shutdown();
  });

  let lastDatabaseProbe: { at: number; result: ReadinessResult } | undefined;
  const readiness = {
    database: async (): Promise<ReadinessResult> => {
      if (lastDatabaseProbe && performance.now() - lastDatabaseProbe.at < databaseProbeCacheMs) {
        return lastDatabaseProbe.result;
      }
      const result = await answerWithin(store.ping(), databaseProbeTimeoutMs).then(
        (): ReadinessResult => ({ ok: true }),
        (error: unknown): ReadinessResult => {
          // /readyz answers anyone who can reach it: the cause (addresses, SQL errors) goes to the log.
          logger.warn({ err: (error as Error).message }, 'readiness: the database probe failed');
          return { ok: false, reason: 'the database did not answer the readiness probe' };
        },
      );
      lastDatabaseProbe = { at: performance.now(), result };
      return result;
    },
    // Redis down is not "not ready": the per-instance fallback keeps limiting. It is reported.
    rateLimiter: async (): Promise<ReadinessResult> => ({
      ok: true,
      mode: deps.redis.status === 'ready' && !rateLimiter.degraded ? 'shared' : 'fallback',
    }),
    producer: async (): Promise<ReadinessResult> => publisher.health(),
  };

  const routes = new RouteTable();
  const all: IngressRoute[] = [
    ...reservationRoutes({ config, store, publisher, metrics, now }),
    ...vehicleRoutes({ db: deps.pool, defaultPageSize: config.defaultPageSize }),
    ...adminRoutes({ store, defaultPageSize: config.defaultPageSize }),
    ...opsRoutes({ registry: deps.registry, readiness, closing: () => closing }),
  ];
  for (const route of all) {
    const routeConfig: IngressRouteConfig = { access: route.access };
    app.route({ method: route.method, url: route.url, config: routeConfig, handler: route.handler });
    routes.add(route.method, route.url);
  }
  await app.ready();
  const inventory = all.map((route) => ({ method: route.method, url: route.url, access: route.access }));
  return { app, inventory, metrics, rateLimiter, publisher, relay };
}

/** The route's access; unmatched requests (404/405) are public but count against the IP policy. */
function accessOf(request: FastifyRequest): RouteAccess | 'unmatched' {
  if (request.routeOptions.url === undefined) return 'unmatched';
  return (request.routeOptions.config as IngressRouteConfig).access ?? 'authenticated';
}

function unauthorizedProblem(error: AuthenticationError): HttpProblem {
  const challenge =
    error.failure === 'missing'
      ? 'Bearer realm="fleetstream"'
      : `Bearer realm="fleetstream", error="invalid_token", error_description="${error.failure === 'expired' ? 'the token expired' : 'the token is invalid'}"`;
  return new HttpProblem({
    status: 401,
    type: problemTypes.unauthorized,
    title: 'Unauthorized',
    detail:
      error.failure === 'missing'
        ? 'a bearer token is required'
        : error.failure === 'expired'
          ? 'the token expired'
          : 'the token is invalid',
    headers: { 'www-authenticate': challenge },
    cause: error,
  });
}

function shuttingDownProblem(): HttpProblem {
  return new HttpProblem({
    status: 503,
    type: problemTypes.serviceUnavailable,
    title: 'Service unavailable',
    detail: 'this instance is shutting down; retry',
    retriable: true,
    headers: { 'retry-after': '1', connection: 'close' },
  });
}
