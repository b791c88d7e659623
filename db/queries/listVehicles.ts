import { DatabaseOperationError, InvalidQueryInputError } from '../pgErrors.ts';
import type { Queryable } from '../queryable.ts';

/** A bookable vehicle as the catalog listing shows it. */
export interface VehicleListItem {
  vehicleId: string;
  displayName: string;
  vehicleClass: string;
  depotCode: string;
  dailyRateMinor: number;
  currency: string;
}

/** One page of the catalog; `nextAfterId` is null on the last page. */
export interface VehiclePage {
  vehicles: VehicleListItem[];
  nextAfterId: string | null;
}

/** Largest page a caller may ask for. */
export const maxVehiclePageSize = 100;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface VehicleRow {
  id: string;
  display_name: string;
  vehicle_class: string;
  depot_code: string;
  daily_rate_minor: number;
  currency: string;
}

const columns = 'id, display_name, vehicle_class, depot_code, daily_rate_minor, currency';

/**
 * Lists active vehicles in id order, `limit` at a time, starting after `afterId` (keyset
 * pagination: stable under concurrent inserts, and every page costs the same however deep).
 */
export async function listVehicles(
  db: Queryable,
  page: { limit: number; afterId: string | null },
): Promise<VehiclePage> {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > maxVehiclePageSize) {
    throw new InvalidQueryInputError('limit', `an integer between 1 and ${maxVehiclePageSize}`);
  }
  if (page.afterId !== null && !uuidPattern.test(page.afterId)) {
    throw new InvalidQueryInputError('cursor', 'a vehicle id (UUID)');
  }
  // One row more than asked tells whether another page exists without a second query.
  const probe = page.limit + 1;
  let rows: VehicleRow[];
  try {
    const result =
      page.afterId === null
        ? await db.query<VehicleRow>(
            `SELECT ${columns} FROM fleet.vehicles WHERE active ORDER BY id LIMIT $1`,
            [probe],
          )
        : await db.query<VehicleRow>(
            `SELECT ${columns} FROM fleet.vehicles WHERE active AND id > $1 ORDER BY id LIMIT $2`,
            [page.afterId, probe],
          );
    rows = result.rows;
  } catch (error) {
    throw new DatabaseOperationError('listing vehicles', error);
  }
  const vehicles = rows.slice(0, page.limit).map((row) => ({
    vehicleId: row.id,
    displayName: row.display_name,
    vehicleClass: row.vehicle_class,
    depotCode: row.depot_code,
    dailyRateMinor: row.daily_rate_minor,
    currency: row.currency,
  }));
  const hasMore = rows.length > page.limit;
  return { vehicles, nextAfterId: hasMore ? (vehicles.at(-1)?.vehicleId ?? null) : null };
}
