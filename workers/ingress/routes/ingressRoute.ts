import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteAccess } from '../http/requestState.ts';

/** One API route: registered with Fastify and recorded in the route table (405 detection). */
export interface IngressRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path template; it is also the `route` metric label. */
  url: string;
  access: RouteAccess;
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}
