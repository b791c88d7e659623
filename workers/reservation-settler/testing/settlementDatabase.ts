import pg from 'pg';
import { migrate } from '../../../db/migrator.ts';
import { createPool } from '../../../db/pool.ts';
import type { Queryable } from '../../../db/queryable.ts';
import { createFreshDatabase, type FreshDatabase } from '../../../db/testing/freshDatabase.ts';
import type { ReservationRequestCommand } from '../settlementCommand.ts';

/** A migrated throwaway database with a vehicle catalog, for settlement tests and the P3 benchmark. */
export interface SettlementDatabase {
  fresh: FreshDatabase;
  /** A pool of the application role (what the settler connects as). */
  app: pg.Pool;
  /** Active vehicles, `vehicleIdFor(0 … n-1)`. */
  vehicles: string[];
  /** A vehicle that exists but is retired (not bookable). */
  retiredVehicle: string;
  /** Ends the pool and drops the database. */
  close(): Promise<void>;
}

/** The id of the n-th test vehicle: a fixed pattern, so pgbench scripts can compute it too. */
export function vehicleIdFor(index: number): string {
  return `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
}

/** Creates, migrates and fills a database: `vehicles` active vehicles and one retired. */
export async function createSettlementDatabase(options: {
  vehicles: number;
  prefix?: string;
  poolMax?: number;
}): Promise<SettlementDatabase> {
  const fresh = await createFreshDatabase(options.prefix ?? 'fleetstream_settler_test');
  try {
    await migrate({ connectionString: fresh.urls.migrator });
    const vehicles = Array.from({ length: options.vehicles }, (_, i) => vehicleIdFor(i));
    const retiredVehicle = vehicleIdFor(options.vehicles);
    // The catalog is the migrator's to write; the application role only reads it.
    const migrator = new pg.Client({ connectionString: fresh.urls.migrator });
    await migrator.connect();
    try {
      await migrator.query(
        `INSERT INTO fleet.vehicles (id, display_name, vehicle_class, depot_code, daily_rate_minor, currency, active)
         SELECT id, 'Test car ' || ord, 'compact', 'BER-01', 4900, 'EUR', id <> $2::uuid
           FROM unnest($1::uuid[]) WITH ORDINALITY AS v(id, ord)`,
        [[...vehicles, retiredVehicle], retiredVehicle],
      );
    } finally {
      await migrator.end();
    }
    const app = createPool({
      connectionString: fresh.urls.app,
      applicationName: 'settler-tests',
      max: options.poolMax ?? 8,
    });
    return {
      fresh,
      app,
      vehicles,
      retiredVehicle,
      close: async () => {
        await app.end();
        await fresh.drop();
      },
    };
  } catch (error) {
    await fresh.drop();
    throw error;
  }
}

/** Records the pending inbox rows the ingress would have written for these requests. */
export async function recordPendingRequests(
  db: Queryable,
  commands: readonly ReservationRequestCommand[],
): Promise<void> {
  await db.query(
    `INSERT INTO fleet.reservation_requests (reservation_id, customer_id, vehicle_id, requested_period, request_hash)
     SELECT id, customer, vehicle, tstzrange(starts, ends, '[)'), sha256(convert_to(id::text, 'UTF8'))
       FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::timestamptz[]) AS t(id, customer, vehicle, starts, ends)`,
    [
      commands.map((c) => c.reservationId),
      commands.map((c) => c.customerId),
      commands.map((c) => c.vehicleId),
      commands.map((c) => new Date(c.startsAtMs).toISOString()),
      commands.map((c) => new Date(c.endsAtMs).toISOString()),
    ],
  );
}

/** Pairs of confirmed bookings of one vehicle whose periods overlap: must always be 0. */
export async function overlappingConfirmedPairs(db: Queryable): Promise<number> {
  const result = await db.query<{ pairs: number }>(
    `SELECT count(*)::int AS pairs
       FROM fleet.reservations a
       JOIN fleet.reservations b
         ON a.vehicle_id = b.vehicle_id AND a.id < b.id AND a.period && b.period
      WHERE a.status = 'confirmed' AND b.status = 'confirmed'`,
  );
  return result.rows[0]?.pairs ?? -1;
}

/** A request's stored decision, for comparing with the emitted events. */
export interface StoredDecision {
  reservationId: string;
  status: string;
  decidedStatus: string | null;
  reason: string | null;
  eventId: string | null;
  vehicleId: string;
}

/** Every request's stored decision, by reservation id. */
export async function storedDecisions(db: Queryable): Promise<Map<string, StoredDecision>> {
  const result = await db.query<{
    reservation_id: string;
    status: string;
    decided_status: string | null;
    decision_reason: string | null;
    decision_event_id: string | null;
    vehicle_id: string;
  }>(
    `SELECT reservation_id::text, status, decided_status, decision_reason, decision_event_id::text, vehicle_id::text
       FROM fleet.reservation_requests`,
  );
  return new Map(
    result.rows.map((row) => [
      row.reservation_id,
      {
        reservationId: row.reservation_id,
        status: row.status,
        decidedStatus: row.decided_status,
        reason: row.decision_reason,
        eventId: row.decision_event_id,
        vehicleId: row.vehicle_id,
      },
    ]),
  );
}
