/**
 * Valid `POST /v1/reservations` requests for the ingress benchmarks: many customers (dev tokens
 * signed the way the ingress verifies them), the seeded catalog's vehicles, periods spread over
 * most of a year so the ingress accepts them (no quota, catalog or validation refusal) and few
 * of them overlap when settled.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { localVehicleCatalog } from '../../db/seeds/localVehicleCatalog.ts';
import { mintDevToken } from '../../workers/ingress/auth/devToken.ts';
import { readJwtSettings } from '../../workers/ingress/auth/jwtSettings.ts';
import { EnvReader } from '../../workers/runtime/config/envReader.ts';

const hour = 3_600_000;
const day = 24 * hour;

/** One request, ready to send. */
export interface ReservationRequest {
  headers: Record<string, string>;
  body: string;
}

/** Makes request after request, round-robin over the customers, random vehicle and period. */
export interface ReservationRequestSource {
  customers: number;
  vehicles: number;
  next(): ReservationRequest;
}

/**
 * Mints `customers` tokens with the JWT settings of `env` (the fleet's) and returns a source
 * of valid requests: 1–4 hour periods starting on the hour within 330 days from tomorrow
 * (inside RESERVATION_MAX_ADVANCE_DAYS' default 365), each with a unique Idempotency-Key.
 */
export async function reservationRequestSource(
  customers: number,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ReservationRequestSource> {
  const reader = new EnvReader(env);
  const settings = readJwtSettings(reader, env);
  reader.done();
  const run = randomBytes(4).toString('hex');
  const authorizations = await Promise.all(
    Array.from(
      { length: customers },
      async (_, i) =>
        `Bearer ${await mintDevToken(settings, { subject: `bench-${run}-customer-${i}`, role: 'customer', ttlSeconds: 3600 })}`,
    ),
  );
  const vehicles = localVehicleCatalog().map((v) => v.id);
  const tomorrow = Math.ceil(Date.now() / day) * day + day;
  let sequence = 0;
  return {
    customers,
    vehicles: vehicles.length,
    next: () => {
      const n = sequence++;
      const startsAt = tomorrow + randomInt(330 * 24) * hour;
      const endsAt = startsAt + (1 + randomInt(4)) * hour;
      return {
        headers: {
          authorization: authorizations[n % customers]!,
          'content-type': 'application/json',
          'idempotency-key': `bench-${run}-${n}`,
        },
        body: `{"vehicleId":"${vehicles[randomInt(vehicles.length)]}","startsAt":"${new Date(startsAt).toISOString()}","endsAt":"${new Date(endsAt).toISOString()}"}`,
      };
    },
  };
}
