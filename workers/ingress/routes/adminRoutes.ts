import type { FastifyRequest } from 'fastify';
import { validationProblem } from '../http/problemDetails.ts';
import type { ReservationStore } from '../reservations/reservationStore.ts';
import { decodeReservationCursor, encodeReservationCursor } from './cursors.ts';
import type { IngressRoute } from './ingressRoute.ts';
import { parsePageQuery } from './pageQuery.ts';
import { reservationBody } from './reservationRoutes.ts';

const customerIdPattern = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;

/**
 * Admin-only routes (OWASP API5: function-level authorization is the route's `access`, checked
 * in one hook for every route, never inside handlers where one could be forgotten).
 */
export function adminRoutes(ctx: { store: ReservationStore; defaultPageSize: number }): IngressRoute[] {
  async function customerReservations(request: FastifyRequest) {
    const { customerId } = request.params as { customerId: string };
    if (!customerIdPattern.test(customerId)) {
      throw validationProblem([
        { field: 'customerId', in: 'path', detail: 'must be 1-255 printable characters' },
      ]);
    }
    const { limit, cursor } = parsePageQuery(request.query, ctx.defaultPageSize);
    const after = cursor === undefined ? null : decodeReservationCursor(cursor);
    const page = await ctx.store.listForCustomer(customerId, { limit, after });
    return {
      customerId,
      reservations: page.reservations.map(reservationBody),
      nextCursor: page.next === null ? null : encodeReservationCursor(page.next),
    };
  }
  return [
    {
      method: 'GET',
      url: '/v1/admin/customers/:customerId/reservations',
      access: 'admin',
      handler: customerReservations,
    },
  ];
}
