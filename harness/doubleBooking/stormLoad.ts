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
  /** For a cancellation answered 202: whether it sent a command (false: already cancelled). */
  cancellationRequested?: boolean;
  /** For a cancellation: sent after the reservation was read back as confirmed. */
  afterConfirmation?: boolean;
}

/** Shape of the load: hot vehicles, customers, overlap window, cancellations. */
export interface StormLoadOptions {
  ingressUrl: string;
  requests: number;
  concurrency: number;
  vehicles: readonly string[];
  customers: number;
  /** Probability that an accepted reservation is cancelled by its owner right away (still pending). */
  cancelRatio: number;
  /** Probability that an accepted reservation is read back later and, when confirmed, cancelled (default 0). */
  confirmedCancelRatio?: number;
  /** Reservations start within this many days from tomorrow (small = more overlaps). */
  windowDays: number;
  /** Keep placing reservations past `requests` while this says so (e.g. until every kill landed). */
  keepLoading?: () => boolean;
  /** Told every 250 requests (for progress lines). */
  onProgress?: (sent: number) => void;
  /** Told after every answered reservation, with how many have been answered so far. */
  onAnswered?: (answered: number) => void;
  env?: Readonly<Record<string, string | undefined>>;
}

/** A reservation to read back later and cancel if it was confirmed. */
interface ReadBack {
  reservationId: string;
  vehicleId: string;
  customer: string;
  token: string;
  dueAt: number;
  giveUpAt: number;
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
 * days starting within `windowDays`); some cancel what they were granted right away (still
 * pending), others read it back later and cancel it once confirmed. Every request and its HTTP
 * status is recorded; a 503 is retried with the same Idempotency-Key.
 */
export async function runStormLoad(options: StormLoadOptions): Promise<StormRequest[]> {
  const tokens = await tokensFor(options.customers, options.env ?? process.env);
  const tomorrow = Math.ceil(Date.now() / day) * day + day;
  const results: StormRequest[] = [];
  const readBacks: ReadBack[] = [];
  let next = 0;
  let answered = 0;
  const client = async (): Promise<void> => {
    for (;;) {
      const due = takeDue(readBacks);
      if (due) {
        await readBackAndCancel(options.ingressUrl, due, readBacks, results);
        continue;
      }
      if (next < options.requests || options.keepLoading?.()) {
        const index = next++;
        const customerIndex = randomInt(options.customers);
        const placed = await placeReservation(
          options,
          tokens[customerIndex]!,
          customerIndex,
          tomorrow,
          index,
        );
        results.push(placed.request);
        if (placed.request.reservationId && placed.request.status === 202) {
          await followUp(options, placed.request, tokens[customerIndex]!, readBacks, results);
        }
        answered++;
        options.onAnswered?.(answered);
        if (index % 250 === 0) options.onProgress?.(index);
        continue;
      }
      if (readBacks.length === 0) return;
      await sleep(50);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return results;
}

/** Places one reservation, retrying a 503 with the same Idempotency-Key. */
async function placeReservation(
  options: StormLoadOptions,
  token: string,
  customerIndex: number,
  tomorrow: number,
  index: number,
): Promise<{ request: StormRequest }> {
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
  // A body that is not JSON leaves the id out; the storm counts such a 202 and fails on it.
  const json = (await response!.json().catch(() => ({}))) as { reservationId?: string };
  return {
    request: {
      kind: 'reserve',
      customer: `storm-customer-${customerIndex}`,
      vehicleId,
      status: response!.status,
      startsAt,
      endsAt,
      ...(json.reservationId ? { reservationId: json.reservationId } : {}),
    },
  };
}

/** Cancels an accepted reservation right away, or queues it to be read back later; at most one of both. */
async function followUp(
  options: StormLoadOptions,
  placed: StormRequest,
  token: string,
  readBacks: ReadBack[],
  results: StormRequest[],
): Promise<void> {
  const draw = Math.random();
  if (draw < options.cancelRatio) {
    results.push(await cancel(options.ingressUrl, placed, token, false));
  } else if (draw < options.cancelRatio + (options.confirmedCancelRatio ?? 0)) {
    const now = Date.now();
    readBacks.push({
      reservationId: placed.reservationId!,
      vehicleId: placed.vehicleId,
      customer: placed.customer,
      token,
      dueAt: now + 250,
      giveUpAt: now + 60_000,
    });
  }
}

/** Removes and returns a read-back that is due, if any. */
function takeDue(readBacks: ReadBack[]): ReadBack | undefined {
  const now = Date.now();
  const index = readBacks.findIndex((r) => r.dueAt <= now);
  return index < 0 ? undefined : readBacks.splice(index, 1)[0];
}

/** Reads a reservation back as its owner: cancels it once confirmed, asks again later while pending. */
async function readBackAndCancel(
  ingressUrl: string,
  readBack: ReadBack,
  readBacks: ReadBack[],
  results: StormRequest[],
): Promise<void> {
  const response = await fetch(`${ingressUrl}/v1/reservations/${readBack.reservationId}`, {
    headers: { authorization: `Bearer ${readBack.token}` },
  });
  if (!response.ok) throw new Error(`reading back ${readBack.reservationId}: HTTP ${response.status}`);
  const { status } = (await response.json()) as { status: string };
  if (status === 'confirmed') {
    results.push(await cancel(ingressUrl, readBack, readBack.token, true));
  } else if (status === 'pending' && Date.now() < readBack.giveUpAt) {
    // Still undecided (a kill stalls its partitions for the session timeout): ask again later.
    readBacks.push({ ...readBack, dueAt: Date.now() + 500 });
  }
}

/** DELETE as the owner; records whether the 202 sent a cancellation command. */
async function cancel(
  ingressUrl: string,
  reservation: { reservationId?: string; customer: string; vehicleId: string },
  token: string,
  afterConfirmation: boolean,
): Promise<StormRequest> {
  const response = await fetch(`${ingressUrl}/v1/reservations/${reservation.reservationId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await response.json().catch(() => ({}))) as { cancellationRequested?: boolean };
  return {
    kind: 'cancel',
    customer: reservation.customer,
    vehicleId: reservation.vehicleId,
    reservationId: reservation.reservationId!,
    status: response.status,
    ...(response.status === 202 ? { cancellationRequested: body.cancellationRequested === true } : {}),
    afterConfirmation,
  };
}
