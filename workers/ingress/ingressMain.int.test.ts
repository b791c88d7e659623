import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngressTestEnvironment, seededVehicleIds } from './testing/ingressTestKit.ts';

// The process as operators run it: `node workers/ingress/main.ts`, a token from the CLI, SIGTERM.
const world = new IngressTestEnvironment();
const mainPath = fileURLToPath(new URL('./main.ts', import.meta.url));
const mintPath = fileURLToPath(new URL('./mintToken.ts', import.meta.url));
const run = promisify(execFile);
let child: ChildProcess | undefined;

beforeAll(async () => {
  await world.setUp('ingress-main');
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await world.close();
});

/** Starts main.ts and resolves with its port once it logged that it listens. */
function startMain(
  env: Record<string, string | undefined>,
): Promise<{ port: number; lines: Record<string, unknown>[]; exited: Promise<number | null> }> {
  const process_ = spawn(process.execPath, [mainPath], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = process_;
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => process_.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = '';
    process_.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const part of parts) {
        if (!part.trim()) continue;
        const line = JSON.parse(part) as Record<string, unknown>;
        lines.push(line);
        if (line.msg === 'ingress listening') resolve({ port: line.port as number, lines, exited });
      }
    });
    let stderr = '';
    process_.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    void exited.then((code) => reject(new Error(`main.ts exited with ${code} before listening: ${stderr}`)));
  });
}

describe('node workers/ingress/main.ts', () => {
  it('serves a token minted by the CLI, becomes ready, and exits 0 on SIGTERM', async () => {
    const env = world.env({ LOG_LEVEL: 'info', INGRESS_SHUTDOWN_TIMEOUT_MS: '3000' });
    const { port, lines, exited } = await startMain(env);
    const subject = `cli-${randomUUID()}`;
    const minted = await run(
      process.execPath,
      [mintPath, '--sub', subject, '--role', 'customer', '--ttl', '600'],
      {
        env: { ...process.env, ...env },
      },
    );
    const token = minted.stdout.trim();
    expect(minted.stdout).toBe(`${token}\n`);
    expect(token.split('.')).toHaveLength(3);
    expect(minted.stderr).toBe('');

    const base = `http://127.0.0.1:${port}`;
    let ready = await fetch(`${base}/readyz`);
    for (let i = 0; i < 200 && ready.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ready = await fetch(`${base}/readyz`);
    }
    expect(ready.status).toBe(200);
    const vehicles = await fetch(`${base}/v1/vehicles?limit=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(vehicles.status).toBe(200);
    const start = Date.now() + 2 * 86_400_000;
    const placed = await fetch(`${base}/v1/reservations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        vehicleId: seededVehicleIds[0],
        startsAt: new Date(start).toISOString(),
        endsAt: new Date(start + 86_400_000).toISOString(),
      }),
    });
    expect(placed.status).toBe(202);
    expect(placed.headers.get('location')).toMatch(/^\/v1\/reservations\/[0-9a-f-]{36}$/);

    // A client that connected and sent nothing, and one that stalled mid-body: neither may hold
    // the shutdown until it is forced (SIGKILL, no exit code).
    const idle = connect(port, '127.0.0.1');
    const stalled = connect(port, '127.0.0.1');
    for (const socket of [idle, stalled]) {
      socket.on('error', () => undefined);
      await once(socket, 'connect');
    }
    stalled.write(
      'POST /v1/reservations HTTP/1.1\r\nHost: ingress\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"vehicleId":',
    );
    child?.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.some((line) => line.msg === 'ingress stopped')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('exits 78 naming the variable when the configuration is invalid', async () => {
    const failure = await run(process.execPath, [mainPath], {
      env: { ...process.env, INGRESS_PORT: 'eighty', RATE_LIMIT_IP_QUOTA: '0' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 78 });
    expect((failure as { stderr: string }).stderr).toMatch(/INGRESS_PORT="eighty"/);
    expect((failure as { stderr: string }).stderr).toMatch(/RATE_LIMIT_IP_QUOTA="0"/);
  });

  it("exits 78 naming SCHEMA_REGISTRY_URL when it serves no registry API (the registry's root, not its ccompat path)", async () => {
    const registryRoot = new URL(process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081').origin;
    const failure = await run(process.execPath, [mainPath], {
      env: { ...process.env, SCHEMA_REGISTRY_URL: registryRoot, INGRESS_PORT: '0' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 78 });
    expect((failure as { stderr: string }).stderr).toMatch(/SCHEMA_REGISTRY_URL=/);
    expect((failure as { stderr: string }).stderr).toMatch(/ccompat/);
  });
});
