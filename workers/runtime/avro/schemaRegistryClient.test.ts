import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/configError.ts';
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

/** A registry that answers every request with `status` and the JSON `body`. */
async function answering(status: number, body: unknown): Promise<string> {
  const server = http.createServer((_request, response) => {
    response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    response.end(JSON.stringify(body));
  });
  return `http://127.0.0.1:${await listen(server)}/apis/ccompat/v7`;
}

/** A server that answers every request with `status` and a text/html `text`. */
async function answeringText(status: number, text: string): Promise<string> {
  const server = http.createServer((_request, response) => {
    response.writeHead(status, { 'content-type': 'text/html' });
    response.end(text);
  });
  return `http://127.0.0.1:${await listen(server)}/apis/ccompat/v7`;
}

/**
 * A registry that knows nothing, answering Apicurio's not-found codes per endpoint (40403 for a
 * schema id, 40401 for a subject, 40402 for `no-version-value`'s latest version), except for two
 * names it answers with the other code: schema id 40401 and subject `schema-code-value`.
 */
async function answeringByPath(): Promise<string> {
  const server = http.createServer((request, response) => {
    const path = request.url ?? '';
    let code = path.includes('/schemas/ids/') ? 40403 : 40401;
    if (path.includes('/no-version-value/versions/')) code = 40402;
    if (path.endsWith('/schemas/ids/40401')) code = 40401;
    if (path.includes('/schema-code-value/')) code = 40403;
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ message: 'not found', error_code: code }));
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

  it('reads a 404 without the registry error code (wrong base path, proxy page) as unavailable, never as unknown', async () => {
    // What Apicurio's root answers (SCHEMA_REGISTRY_URL without /apis/ccompat/v7), and a proxy's page.
    const resteasy = {
      title: 'RESTEASY003210: Could not find resource for full path',
      status: 404,
      name: 'NotFoundException',
    };
    for (const url of [await answering(404, resteasy), await answeringText(404, '<html>Not Found</html>')]) {
      const client = clientFor(url);
      const calls = [
        () => client.avroTypeById(7),
        () => client.latestSchemaId('s-value'),
        () => client.listVersions('s-value'),
        () => client.schemaVersion('s-value', 'latest'),
        () => client.compatibilityLevel('s-value'),
        () => client.isCompatible('s-value', '"string"', 'all'),
        () => client.register('s-value', '"string"', 'BACKWARD'),
        () => client.deleteSubject('s-value'),
      ];
      for (const call of calls) {
        const error = await failure(call());
        expect(error).toBeInstanceOf(SchemaRegistryUnavailableError);
        expect((error as Error).message).toContain('SCHEMA_REGISTRY_URL');
      }
    }
  });

  it('treats 401, 403 and other refusals of a read as unavailable (retriable), keeps a refused change permanent', async () => {
    for (const [status, code] of [
      [401, 40101],
      [403, 40301],
      [400, 40001],
      [422, 42201],
    ] as const) {
      const client = clientFor(await answering(status, { message: 'refused', error_code: code }));
      for (const read of [() => client.avroTypeById(7), () => client.latestSchemaId('s-value')]) {
        const error = await failure(read());
        expect(error, `HTTP ${status}`).toBeInstanceOf(SchemaRegistryUnavailableError);
        expect((error as Error).message).toContain(`HTTP ${status} (${code}): refused`);
      }
      const write = await failure(client.setCompatibilityLevel('s-value', 'FULL'));
      expect(write).toBeInstanceOf(SchemaRegistryRequestError);
      expect((write as SchemaRegistryRequestError).errorCode).toBe(code);
      expect((write as SchemaRegistryRequestError).retriable).toBe(false);
    }
  });

  it('reads a 404 as unknown or absent only with the matching registry error code', async () => {
    const client = clientFor(await answeringByPath());
    expect(await failure(client.avroTypeById(5))).toBeInstanceOf(UnknownSchemaIdError);
    expect(await failure(client.latestSchemaId('s-value'))).toBeInstanceOf(SubjectNotRegisteredError);
    expect(await failure(client.latestSchemaId('no-version-value'))).toBeInstanceOf(
      SubjectNotRegisteredError,
    );
    expect(await client.listVersions('s-value')).toEqual([]);
    expect(await client.schemaVersion('s-value', 'latest')).toBeUndefined();
    expect(await client.compatibilityLevel('s-value')).toBeUndefined();
    await client.deleteSubject('s-value');
    // A registry code that does not answer the question asked: not a verdict on the message.
    expect(await failure(client.avroTypeById(40401))).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect(await failure(client.latestSchemaId('schema-code-value'))).toBeInstanceOf(
      SchemaRegistryUnavailableError,
    );
  });

  it('retries with its own setting, whatever other clients in the process use', async () => {
    let requests = 0;
    const server = net.createServer((socket) => {
      requests += 1;
      socket.once('data', () => socket.destroy());
    });
    const url = `http://127.0.0.1:${await listen(server)}/apis/ccompat/v7`;
    const once = clientFor(url);
    const patient = new SchemaRegistryClient({ url, requestTimeoutMs: 300, retries: 3 });
    cleanups.push(() => patient.close());
    expect(await failure(once.avroTypeById(1))).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect(requests).toBe(1);
    requests = 0;
    expect(await failure(patient.avroTypeById(1))).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect(requests).toBe(4);
    requests = 0;
    expect(await failure(once.latestSchemaId('s-value'))).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect(requests).toBe(1);
  });

  it('retries a request that timed out', async () => {
    let requests = 0;
    const server = http.createServer((_request, response) => {
      requests += 1;
      if (requests === 1) return; // the first request never gets an answer
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ subject: 's-value', version: 1, id: 42, schema: '"string"' }));
    });
    const url = `http://127.0.0.1:${await listen(server)}/apis/ccompat/v7`;
    const client = new SchemaRegistryClient({ url, requestTimeoutMs: 200, retries: 1 });
    cleanups.push(() => client.close());
    expect(await client.latestSchemaId('s-value')).toBe(42);
    expect(requests).toBe(2);
  });
});

describe('SchemaRegistryClient.verifyApi', () => {
  it('names SCHEMA_REGISTRY_URL when something other than the registry API answers', async () => {
    for (const url of [
      await answering(404, { title: 'RESTEASY003210: Could not find resource', status: 404 }),
      await answeringText(200, '<html>captive portal</html>'),
    ]) {
      const error = await failure(clientFor(url).verifyApi());
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable)).toEqual(['SCHEMA_REGISTRY_URL']);
      expect((error as Error).message).toContain('/apis/ccompat/v7');
    }
  });

  it('passes on a registry answer, and reports an unreachable registry as unavailable, not misconfigured', async () => {
    await clientFor(await answering(200, { compatibilityLevel: 'BACKWARD' })).verifyApi();
    const down = clientFor(`http://127.0.0.1:${await closedPort()}/apis/ccompat/v7`);
    expect(await failure(down.verifyApi())).toBeInstanceOf(SchemaRegistryUnavailableError);
    const refusing = clientFor(await answering(403, { message: 'forbidden', error_code: 40301 }));
    expect(await failure(refusing.verifyApi())).toBeInstanceOf(SchemaRegistryUnavailableError);
  });
});
