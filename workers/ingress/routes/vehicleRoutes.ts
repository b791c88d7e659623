import type { FastifyRequest } from 'fastify';
import { listVehicles } from '../../../db/queries/listVehicles.ts';
import type { Queryable } from '../../../db/queryable.ts';
import { decodeVehicleCursor, encodeVehicleCursor } from './cursors.ts';
import type { IngressRoute } from './ingressRoute.ts';
import { parsePageQuery } from './pageQuery.ts';

/** GET /v1/vehicles?limit=&cursor=: the bookable catalog, for any authenticated caller. */
export function vehicleRoutes(ctx: { db: Queryable; defaultPageSize: number }): IngressRoute[] {
  async function list(request: FastifyRequest) {
    const { limit, cursor } = parsePageQuery(request.query, ctx.defaultPageSize);
    const afterId = cursor === undefined ? null : decodeVehicleCursor(cursor);
    const page = await listVehicles(ctx.db, { limit, afterId });
    return {
      vehicles: page.vehicles,
      nextCursor: page.nextAfterId === null ? null : encodeVehicleCursor(page.nextAfterId),
    };
  }
  return [{ method: 'GET', url: '/v1/vehicles', access: 'authenticated', handler: list }];
}
