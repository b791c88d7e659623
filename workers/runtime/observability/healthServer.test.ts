import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvReader } from '../config/envReader.ts';
import { HealthServer, readHealthServerSettings } from './healthServer.ts';
import { createConsumerMetrics, createMetricsRegistry } from './metrics.ts';

interface Reply {
  status: number;
  contentType: string | undefined;
  body: string;
}

// A keep-alive agent, so stop() has to close idle sockets itself.
let agent: Agent | undefined;

function get(port: number, path: string, method = 'GET'): Promise<Reply> {
  agent ??= new Agent({ keepAlive: true });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function openSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap')
    .length;
}

afterEach(() => {
  agent?.destroy();
  agent = undefined;
});

describe('HealthServer', () => {
  it('serves /metrics in Prometheus text format', async () => {
    const registry = createMetricsRegistry({ worker: 'health-test' });
    let partitions = 2;
    // Gauges computed from state are refreshed right before each render.
    const server = new HealthServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      beforeMetrics: () => createConsumerMetrics(registry).assignedPartitions.set(++partitions),
    });
    const port = await server.start();
    try {
      const reply = await get(port, '/metrics');
      expect(reply.status).toBe(200);
      expect(reply.contentType).toContain('text/plain');
      expect(reply.body).toContain('fleet_consumer_assigned_partitions{worker="health-test"} 3');
    } finally {
      await server.stop();
    }
  });

  it('flips /healthz and /readyz with their checks and lists every reason', async () => {
    let live = true;
    let assigned = 0;
    let dlqCapReached = false;
    const server = new HealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: createMetricsRegistry({ worker: 'w' }),
    })
      .addLivenessCheck('consumer loop', () =>
        live ? { ok: true } : { ok: false, reason: 'consumer loop stalled' },
      )
      .addReadinessCheck('assignment', () =>
        assigned > 0 ? { ok: true } : { ok: false, reason: 'no partitions assigned' },
      )
      .addReadinessCheck('dlq cap', () =>
        dlqCapReached ? { ok: false, reason: 'dlq cap reached on fleet.x.v1[3]' } : { ok: true },
      )
      .addReadinessCheck('exploding', () => {
        if (dlqCapReached) throw new Error('internal detail that must not leak');
        return { ok: true };
      });
    const port = await server.start();
    try {
      expect(await get(port, '/healthz')).toMatchObject({ status: 200, body: '{"live":true}' });
      expect(await get(port, '/readyz')).toMatchObject({
        status: 503,
        body: '{"ready":false,"reasons":["no partitions assigned"]}',
      });

      assigned = 3;
      expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: '{"ready":true}' });

      dlqCapReached = true;
      assigned = 0;
      live = false;
      const ready = await get(port, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toEqual({
        ready: false,
        reasons: ['no partitions assigned', 'dlq cap reached on fleet.x.v1[3]', 'exploding check threw'],
      });
      expect(ready.body).not.toContain('internal detail');
      expect(await get(port, '/healthz')).toMatchObject({
        status: 503,
        body: '{"live":false,"reasons":["consumer loop stalled"]}',
      });
      expect((await get(port, '/healthz?verbose=1')).status).toBe(503);
      expect((await get(port, '/readyz', 'HEAD')).status).toBe(503);
    } finally {
      await server.stop();
    }
  });

  it('answers unknown paths and methods with problem+json and no stack trace', async () => {
    const server = new HealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: createMetricsRegistry({ worker: 'w' }),
    });
    const port = await server.start();
    try {
      const missing = await get(port, '/debug/vars');
      expect(missing.status).toBe(404);
      expect(missing.contentType).toBe('application/problem+json');
      expect(JSON.parse(missing.body)).toEqual({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: 'no such resource',
      });
      const wrongMethod = await get(port, '/metrics', 'POST');
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.body).not.toMatch(/at .*\.ts/);
    } finally {
      await server.stop();
    }
  });

  it('stop() closes the listener and keep-alive sockets, and is idempotent', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const before = openSockets();
    const server = new HealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: createMetricsRegistry({ worker: 'w' }),
    });
    const port = await server.start();
    expect((await get(port, '/healthz')).status).toBe(200);
    expect(openSockets()).toBeGreaterThan(before);
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    agent?.destroy();
    agent = undefined;
    // Closed handles leave the list in the loop's close phase, after the current check phase.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(openSockets()).toBe(before);
    await expect(get(port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('reads METRICS_HOST and METRICS_PORT, naming a bad one', () => {
    expect(readHealthServerSettings(new EnvReader({}), 9470)).toEqual({ host: '127.0.0.1', port: 9470 });
    expect(readHealthServerSettings(new EnvReader({ METRICS_PORT: '0', METRICS_HOST: '0.0.0.0' }))).toEqual({
      host: '0.0.0.0',
      port: 0,
    });
    const reader = new EnvReader({ METRICS_PORT: '70000' });
    readHealthServerSettings(reader);
    expect(() => reader.done()).toThrow(/METRICS_PORT/);
  });
});
