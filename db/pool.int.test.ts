import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseOperationError } from './pgErrors.ts';
import { createPool } from './pool.ts';
import { isConnectionFailure } from './postgresFailures.ts';
import { createFreshDatabase, type FreshDatabase } from './testing/freshDatabase.ts';

/** A TCP proxy to PostgreSQL that can stop forwarding while keeping its connections open: a hung server. */
async function freezableProxy(target: URL) {
  let frozen = false;
  const sockets: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.push(client, upstream);
    client.on('data', (chunk) => frozen || upstream.write(chunk));
    upstream.on('data', (chunk) => frozen || client.write(chunk));
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => {
      frozen = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let db: FreshDatabase;

beforeAll(async () => {
  db = await createFreshDatabase();
});

afterAll(async () => {
  await db?.drop();
});

describe('createPool', () => {
  it('fails a query to a server that stopped answering, as a connection failure, and frees its slot', async () => {
    const target = new URL(db.urls.app);
    const proxy = await freezableProxy(target);
    const viaProxy = new URL(target);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const pool = createPool({
      connectionString: viaProxy.toString(),
      applicationName: 'pool-freeze-test',
      max: 1,
      statementTimeoutMs: 300,
    });
    try {
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(pool.totalCount).toBe(1);
      // Connected, idle, then the server goes silent: no error, no FIN, nothing.
      proxy.freeze();
      const failure = await pool.query('SELECT 1').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(isConnectionFailure(failure)).toBe(true);
      expect(isConnectionFailure(new DatabaseOperationError('placing a reservation', failure))).toBe(true);
      // The hung connection is discarded, not handed to the next caller.
      expect(pool.totalCount).toBe(0);
    } finally {
      await pool.end();
      await proxy.close();
    }
  });
});
