/**
 * Open-loop load for P5: requests leave on a fixed schedule (request i at start + i/rate),
 * whatever the responses do — a slow server gets more concurrent requests, never fewer sends
 * (no coordinated omission). A timer wakes when the next request is due and sends every request
 * that is due by then.
 *
 * The client is undici's `Pool` at its lowest level (`dispatch` with a handler, keep-alive,
 * no pipelining): the load generator shares the two cores with the system it measures, and
 * `node:http` cost it ~0.4 ms of CPU per request at 500 req/s — CPU the fleet did not get.
 */
import { Pool } from 'undici';
import { wallClockMs } from './decisionWatcher.ts';
import type { ReservationRequest } from './reservationRequests.ts';

/** One request's timeline (wall clock, epoch ms) and answer. */
export interface OpenLoopSample {
  index: number;
  /** When the schedule wanted it sent. */
  dueAt: number;
  sentAt: number;
  /** When the response was complete (or the request failed). */
  answeredAt: number;
  /** HTTP status, or 0 when no response came (socket error, timeout). */
  status: number;
  reservationId?: string;
}

/** Sends `total` requests at `rate`/s to `url` and resolves with every sample once all answered. */
export async function runOpenLoop(options: {
  url: string;
  rate: number;
  total: number;
  next: () => ReservationRequest;
  onProgress?: (sent: number, answered: number, inFlight: number) => void;
}): Promise<{ samples: OpenLoopSample[]; maxInFlight: number; maxSendLagMs: number }> {
  // As many connections as requests may be in flight: a request never waits for a free one.
  const pool = new Pool(new URL(options.url).origin, {
    connections: 1024,
    pipelining: 1,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const samples: OpenLoopSample[] = [];
  const intervalMs = 1000 / options.rate;
  let sent = 0;
  let answered = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let maxSendLagMs = 0;

  const send = (index: number, dueAt: number): void => {
    const { headers, body } = options.next();
    const sample: OpenLoopSample = { index, dueAt, sentAt: wallClockMs(), answeredAt: 0, status: 0 };
    maxSendLagMs = Math.max(maxSendLagMs, sample.sentAt - dueAt);
    samples.push(sample);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const chunks: Buffer[] = [];
    const done = (status: number): void => {
      if (sample.answeredAt !== 0) return;
      sample.answeredAt = wallClockMs();
      sample.status = status;
      inFlight--;
      answered++;
    };
    let status = 0;
    pool.dispatch(
      { method: 'POST', path: '/v1/reservations', headers, body },
      {
        // Declared though empty: undici reads a handler without it as one of its legacy API,
        // and then no request reached the server (openLoopLoad.test.ts fails without it).
        onRequestStart: () => {},
        onResponseStart: (_controller, statusCode) => {
          status = statusCode;
        },
        onResponseData: (_controller, chunk) => {
          chunks.push(chunk);
        },
        onResponseEnd: () => {
          if (status === 202) {
            sample.reservationId = (
              JSON.parse(Buffer.concat(chunks).toString()) as { reservationId: string }
            ).reservationId;
          }
          done(status);
        },
        // A socket error or a timeout: the sample keeps status 0 (no response).
        onResponseError: () => done(0),
      },
    );
  };

  const startedAt = wallClockMs();
  await new Promise<void>((resolve) => {
    const progress = setInterval(() => options.onProgress?.(sent, answered, inFlight), 2000);
    const tick = (): void => {
      const now = wallClockMs();
      while (sent < options.total && startedAt + sent * intervalMs <= now) {
        send(sent, startedAt + sent * intervalMs);
        sent++;
      }
      if (sent < options.total) {
        setTimeout(tick, Math.max(0, startedAt + sent * intervalMs - wallClockMs()));
        return;
      }
      const drain = setInterval(() => {
        if (answered < options.total) return;
        clearInterval(drain);
        clearInterval(progress);
        resolve();
      }, 5);
    };
    tick();
  });
  await pool.close();
  return { samples, maxInFlight, maxSendLagMs };
}
