// LOCAL STACK ONLY. A fixed catalog so a developer can place a first reservation right after
// `npm start`; production's catalog comes from the fleet's own systems, never from this file.
// It is a separate step (`node db/cli.ts seed-local`), not a migration, so no production
// database can ever receive it by migrating.
import { createHash } from 'node:crypto';
import type { Queryable } from '../queryable.ts';

/** One seeded vehicle, in the columns of fleet.vehicles. */
export interface LocalVehicle {
  id: string;
  displayName: string;
  vehicleClass: string;
  depotCode: string;
  dailyRateMinor: number;
  currency: string;
}

/** Number of vehicles in the local catalog. */
export const localVehicleCount = 50;

// A fixed namespace makes the ids the same on every machine and every run (UUID version 5).
const catalogNamespace = '3f0b8a52-6a1e-4c52-9d0e-6c1f0c2a7b10';

const models: Readonly<Record<string, readonly string[]>> = {
  economy: ['Fiat 500', 'Toyota Aygo X', 'Kia Picanto'],
  compact: ['Volkswagen Golf', 'Ford Focus', 'Opel Astra'],
  midsize: ['Skoda Octavia', 'Toyota Corolla Touring'],
  suv: ['Volkswagen Tiguan', 'Hyundai Tucson'],
  van: ['Ford Transit Custom', 'Mercedes-Benz Vito'],
  premium: ['BMW 5 Series', 'Mercedes-Benz E-Class'],
  electric: ['Tesla Model 3', 'Volkswagen ID.4', 'Renault Megane E-Tech'],
};
const dailyRatesMinor: Readonly<Record<string, number>> = {
  economy: 3900,
  compact: 4900,
  midsize: 5900,
  suv: 7900,
  van: 8900,
  premium: 12900,
  electric: 6900,
};
const depots = ['BER-01', 'HAM-01', 'MUC-01', 'FRA-01', 'CGN-01'];

/** A name-based (version 5) UUID, so seeded ids are stable but spread like real ones. */
export function uuidV5(name: string, namespace: string = catalogNamespace): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The local catalog: the same vehicles, with the same ids, on every call. */
export function localVehicleCatalog(): LocalVehicle[] {
  const classes = Object.keys(models);
  return Array.from({ length: localVehicleCount }, (_, index) => {
    const number = index + 1;
    const vehicleClass = classes[index % classes.length]!;
    const classModels = models[vehicleClass]!;
    const model = classModels[Math.floor(index / classes.length) % classModels.length]!;
    return {
      id: uuidV5(`local-vehicle-${number}`),
      displayName: `${model} #${String(number).padStart(2, '0')}`,
      vehicleClass,
      depotCode: depots[index % depots.length]!,
      dailyRateMinor: dailyRatesMinor[vehicleClass]!,
      currency: 'EUR',
    };
  });
}

/**
 * Inserts the local catalog as the table owner (the migrator), leaving vehicles that already
 * exist untouched, so running it again changes nothing. Returns how many rows were new.
 */
export async function seedLocalVehicles(db: Queryable): Promise<{ inserted: number; total: number }> {
  const catalog = localVehicleCatalog();
  const result = await db.query(
    `INSERT INTO fleet.vehicles (id, display_name, vehicle_class, depot_code, daily_rate_minor, currency)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::char(3)[])
     ON CONFLICT (id) DO NOTHING`,
    [
      catalog.map((v) => v.id),
      catalog.map((v) => v.displayName),
      catalog.map((v) => v.vehicleClass),
      catalog.map((v) => v.depotCode),
      catalog.map((v) => v.dailyRateMinor),
      catalog.map((v) => v.currency),
    ],
  );
  return { inserted: result.rowCount ?? 0, total: catalog.length };
}
