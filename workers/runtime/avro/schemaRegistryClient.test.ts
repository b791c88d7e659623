import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SchemaRegistryRequestError,
  SchemaRegistryUnavailableError,
  SubjectNotRegisteredError,
  UnknownSchemaIdError,
} from './avroErrors.ts';
import { SchemaRegistryClient } from './schemaRegistryClient.ts';

// No registry here: local sockets stand in for a registry that is down, hangs or answers errors.
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function clientFor(url: string): SchemaRegistryClient {
  const client = new SchemaRegistryClient({ url, requestTimeoutMs: 300, retries: 0 });
  cleanups.push(() => client.close());
  return client;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (server instanceof http.Server) server.closeAllConnections();
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A registry that answers every request with `status` and `body`. */
async function answering(status: number, body: unknown): Promise<string> {
  const server = http.createServer((_request, response) => {
    response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    response.end(JSON.stringify(body));
  });
  return `http://127.0.0.1:${await listen(server)}/apis/ccompat/v7`;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

describe('SchemaRegistryClient failure classification', () => {
  it('reports a refused connection as unavailable (retriable), through the library and through fetch', async () => {
    const client = clientFor(`http://127.0.0.1:${await closedPort()}/apis/ccompat/v7`);
    const calls = [
      () => client.latestSchemaId('s-value'),
      () => client.avroTypeById(1),
      () => client.listVersions('s-value'),
    ];
    for (const call of calls) {
      const error = await failure(call());
      expect(error).toBeInstanceOf(SchemaRegistryUnavailableError);
      expect((error as SchemaRegistryUnavailableError).retriable).toBe(true);
      expect((error as Error).message).toContain('ECONNREFUSED');
    }
  });

  it('gives up on a registry that accepts connections and never answers', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => sockets.add(socket));
    const port = await listen(server);
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
    });
    const client = clientFor(`http://127.0.0.1:${port}/apis/ccompat/v7`);
    for (const call of [() => client.latestSchemaId('s-value'), () => client.compatibilityLevel('s-value')]) {
      expect(await failure(call())).toBeInstanceOf(SchemaRegistryUnavailableError);
    }
  });

  it('reports 5xx as unavailable', async () => {
    const client = clientFor(await answering(503, { message: 'overloaded', error_code: 50301 }));
    expect(await failure(client.latestSchemaId('s-value'))).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect(await failure(client.listVersions('s-value'))).toBeInstanceOf(SchemaRegistryUnavailableError);
  });

  it('keeps a real 4xx answer permanent, not unavailable', async () => {
    const client = clientFor(await answering(400, { message: 'bad request', error_code: 40001 }));
    const viaLibrary = await failure(client.latestSchemaId('s-value'));
    expect(viaLibrary).toBeInstanceOf(SchemaRegistryRequestError);
    expect((viaLibrary as SchemaRegistryRequestError).retriable).toBe(false);
    const viaFetch = await failure(client.setCompatibilityLevel('s-value', 'FULL'));
    expect(viaFetch).toBeInstanceOf(SchemaRegistryRequestError);
    expect((viaFetch as SchemaRegistryRequestError).errorCode).toBe(40001);
  });

  it('maps 404s to what they mean for each call', async () => {
    const client = clientFor(await answering(404, { message: 'not found', error_code: 40401 }));
    expect(await failure(client.latestSchemaId('s-value'))).toBeInstanceOf(SubjectNotRegisteredError);
    expect(await failure(client.avroTypeById(5))).toBeInstanceOf(UnknownSchemaIdError);
    expect(await client.listVersions('s-value')).toEqual([]);
    expect(await client.schemaVersion('s-value', 'latest')).toBeUndefined();
    expect(await client.compatibilityLevel('s-value')).toBeUndefined();
    await client.deleteSubject('s-value');
  });
});
