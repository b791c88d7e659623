/**
 * Open-loop load for P5: requests leave on a fixed schedule (request i at start + i/rate),
 * whatever the responses do — a slow server gets more concurrent requests, never fewer sends
 * (no coordinated omission). A 1 ms timer sends every request that is due.
 */
import http from 'node:http';
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
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const target = new URL(options.url);
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
    const done = (): void => {
      if (sample.answeredAt !== 0) return;
      sample.answeredAt = wallClockMs();
      inFlight--;
      answered++;
    };
    const request = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: 'POST',
        path: '/v1/reservations',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          sample.status = response.statusCode ?? 0;
          if (sample.status === 202) {
            sample.reservationId = (
              JSON.parse(Buffer.concat(chunks).toString()) as { reservationId: string }
            ).reservationId;
          }
          done();
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', done);
    request.end(body);
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
        setTimeout(tick, 1);
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
  agent.destroy();
  return { samples, maxInFlight, maxSendLagMs };
}
