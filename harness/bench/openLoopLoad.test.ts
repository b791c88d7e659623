import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOpenLoop } from './openLoopLoad.ts';

// A real HTTP server on loopback: every third request is refused (400), the others answered 202
// with the id the request carried, after a delay that grows so requests overlap.
let server: http.Server;
let url: string;
const received: string[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { n: number };
      received.push(`${request.method} ${request.url} ${request.headers['idempotency-key']}`);
      setTimeout(() => {
        if (body.n % 3 === 2) {
          response.writeHead(400, { 'content-type': 'application/problem+json' }).end('{"status":400}');
          return;
        }
        response
          .writeHead(202, { 'content-type': 'application/json' })
          .end(`{"reservationId":"r-${body.n}"}`);
      }, body.n * 2);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
});

describe('runOpenLoop', () => {
  it('sends every request on its schedule whatever the answers, and records each answer', async () => {
    let n = 0;
    const { samples, maxInFlight } = await runOpenLoop({
      url,
      rate: 200,
      total: 12,
      next: () => {
        const i = n++;
        return {
          headers: { 'content-type': 'application/json', 'idempotency-key': `k-${i}` },
          body: `{"n":${i}}`,
        };
      },
    });

    expect(received).toHaveLength(12);
    expect(received[0]).toBe('POST /v1/reservations k-0');
    expect(samples.map((s) => s.index)).toEqual([...Array(12).keys()]);
    expect(samples.map((s) => s.status)).toEqual(samples.map((s) => (s.index % 3 === 2 ? 400 : 202)));
    expect(samples.map((s) => s.reservationId)).toEqual(
      samples.map((s) => (s.index % 3 === 2 ? undefined : `r-${s.index}`)),
    );
    for (const sample of samples) {
      // Due every 5 ms from the first; never sent before its time, answered after it was sent.
      expect(sample.dueAt - samples[0]!.dueAt).toBeCloseTo(sample.index * 5, 6);
      expect(sample.sentAt).toBeGreaterThanOrEqual(sample.dueAt);
      expect(sample.answeredAt).toBeGreaterThan(sample.sentAt);
    }
    // Answers slower than the schedule: an open loop keeps sending, so requests overlap.
    expect(maxInFlight).toBeGreaterThan(1);
  });

  it('records a request that got no answer as status 0', async () => {
    const { samples } = await runOpenLoop({
      url: 'http://127.0.0.1:1',
      rate: 100,
      total: 2,
      next: () => ({ headers: {}, body: '{}' }),
    });
    expect(samples.map((s) => s.status)).toEqual([0, 0]);
    expect(samples.every((s) => s.answeredAt > 0 && s.reservationId === undefined)).toBe(true);
  });
});
