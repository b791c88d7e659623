import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { mintDevToken } from '../../workers/ingress/auth/devToken.ts';
import { readJwtSettings } from '../../workers/ingress/auth/jwtSettings.ts';
import { EnvReader } from '../../workers/runtime/config/envReader.ts';

/** What the storm sent and what the ingress answered. */
export interface StormRequest {
  kind: 'reserve' | 'cancel';
  customer: string;
  vehicleId: string;
  reservationId?: string;
  status: number;
  /** For accepted reservations: the requested period (epoch ms). */
  startsAt?: number;
  endsAt?: number;
}

/** Shape of the load: hot vehicles, customers, overlap window, cancellations. */
export interface StormLoadOptions {
  ingressUrl: string;
  requests: number;
  concurrency: number;
  vehicles: readonly string[];
  customers: number;
  /** Probability that an accepted reservation is then cancelled by its owner. */
  cancelRatio: number;
  /** Reservations start within this many days from tomorrow (small = more overlaps). */
  windowDays: number;
  /** Told every 250 requests (for progress lines). */
  onProgress?: (sent: number) => void;
  /** Told after every answered request, with how many have been answered so far. */
  onAnswered?: (answered: number) => void;
  env?: Readonly<Record<string, string | undefined>>;
}

const day = 86_400_000;

/** Dev tokens for the storm's customers, signed the way the ingress verifies them. */
async function tokensFor(
  customers: number,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string[]> {
  const reader = new EnvReader(env);
  const settings = readJwtSettings(reader, env);
  reader.done();
  return Promise.all(
    Array.from({ length: customers }, (_, i) =>
      mintDevToken(settings, { subject: `storm-customer-${i}`, role: 'customer', ttlSeconds: 3600 }),
    ),
  );
}

/** Mints an admin token for reading every reservation back through the API. */
export async function adminToken(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<string> {
  const reader = new EnvReader(env);
  const settings = readJwtSettings(reader, env);
  reader.done();
  return mintDevToken(settings, { subject: 'storm-admin', role: 'admin', ttlSeconds: 3600 });
}

/**
 * Many concurrent clients place overlapping reservations on a few hot vehicles (periods of 1–3
 * days starting within `windowDays`), and some cancel what they were granted. Every request
 * and its HTTP status is recorded; a 503 is retried with the same Idempotency-Key.
 */
export async function runStormLoad(options: StormLoadOptions): Promise<StormRequest[]> {
  const env = options.env ?? process.env;
  const tokens = await tokensFor(options.customers, env);
  const tomorrow = Math.ceil(Date.now() / day) * day + day;
  const results: StormRequest[] = [];
  let next = 0;
  const client = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= options.requests) return;
      const customerIndex = randomInt(options.customers);
      const token = tokens[customerIndex]!;
      const vehicleId = options.vehicles[randomInt(options.vehicles.length)]!;
      const startsAt = tomorrow + randomInt(options.windowDays * 24) * 3_600_000;
      const endsAt = startsAt + (1 + randomInt(3)) * day;
      const body = JSON.stringify({
        vehicleId,
        startsAt: new Date(startsAt).toISOString(),
        endsAt: new Date(endsAt).toISOString(),
      });
      const idempotencyKey = `storm-${index}-${Date.now()}`;
      let response: Response | undefined;
      for (let attempt = 0; attempt < 5; attempt++) {
        response = await fetch(`${options.ingressUrl}/v1/reservations`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey,
          },
          body,
        });
        if (response.status !== 503) break;
        await response.arrayBuffer();
        await sleep(200 * (attempt + 1));
      }
      const json = (await response!.json().catch(() => ({}))) as { reservationId?: string };
      const request: StormRequest = {
        kind: 'reserve',
        customer: `storm-customer-${customerIndex}`,
        vehicleId,
        status: response!.status,
        startsAt,
        endsAt,
        ...(json.reservationId ? { reservationId: json.reservationId } : {}),
      };
      results.push(request);
      if (response!.status === 202 && json.reservationId && Math.random() < options.cancelRatio) {
        const cancel = await fetch(`${options.ingressUrl}/v1/reservations/${json.reservationId}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${token}` },
        });
        await cancel.arrayBuffer();
        results.push({
          kind: 'cancel',
          customer: request.customer,
          vehicleId,
          reservationId: json.reservationId,
          status: cancel.status,
        });
      }
      answered++;
      options.onAnswered?.(answered);
      if (index % 250 === 0) options.onProgress?.(index);
    }
  };
  let answered = 0;
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return results;
}
