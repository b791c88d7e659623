import type { FastifyRequest } from 'fastify';
import type { AuthenticationError, Principal } from '../auth/jwtVerifier.ts';
import type { PolicyOutcome } from '../rateLimit/rateLimitTypes.ts';

/** Who may call a route and how it counts against rate limits. */
export type RouteAccess =
  /** Probes and scrapes: no token, rate limits reported but never consumed (a throttled probe would take the instance out of rotation). */
  | 'ops'
  /** Any valid token (customer or admin). */
  | 'authenticated'
  /** A valid token with role admin (OWASP API5). */
  | 'admin';

/** Per-route options, in Fastify's route `config`. */
export interface IngressRouteConfig {
  access?: RouteAccess;
}

/** What the hooks learn about a request before its handler runs. */
export interface IngressRequestState {
  principal: Principal | undefined;
  authFailure: AuthenticationError | undefined;
  /** Rate-limit state of each applied policy (for the RateLimit fields). */
  rateOutcomes: readonly PolicyOutcome[];
  /** The client's validated traceparent, if any. */
  traceparent: string | undefined;
  /** performance.now() when the request arrived. */
  startedAt: number;
}

const states = new WeakMap<FastifyRequest, IngressRequestState>();

/** Attaches the state of a request (onRequest does it first thing). */
export function setRequestState(request: FastifyRequest, state: IngressRequestState): void {
  states.set(request, state);
}

/** The state of a request; undefined only for requests rejected before onRequest ran (bad URL). */
export function requestState(request: FastifyRequest): IngressRequestState | undefined {
  return states.get(request);
}

/** The authenticated caller of a route whose access is not `ops` (the hook guarantees one). */
export function principalOf(request: FastifyRequest): Principal {
  const principal = states.get(request)?.principal;
  if (!principal) throw new Error('no principal on an authenticated route: the auth hook did not run');
  return principal;
}
