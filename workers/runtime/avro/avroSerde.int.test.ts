import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/configError.ts';
import {
  AvroPoisonMessageError,
  SchemaIncompatibleError,
  SchemaRegistryUnavailableError,
  SubjectNotRegisteredError,
} from './avroErrors.ts';
import { AvroSerde } from './avroSerde.ts';
import { parseAvroType, SchemaRegistryClient } from './schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from './schemaRegistryConfig.ts';
import { frameWireMessage, MAX_SCHEMA_ID } from './wireFormat.ts';

// Against the real registry (Apicurio's ccompat API), with random subjects deleted afterwards.
const config = loadSchemaRegistryConfig();
const client = new SchemaRegistryClient(config);
// Soft deletes only: a permanent delete in Apicurio 3.0.9 can break a subject that another
// test (or another project's test) is creating at the same moment (see deleteSubject()).
const SOFT = { permanent: false } as const;
const subjects: string[] = [];
afterEach(async () => {
  for (const subject of subjects.splice(0)) await client.deleteSubject(subject, SOFT);
});
afterAll(() => client.close());

function newSubject(): string {
  const subject = `it-${randomUUID()}-value`;
  subjects.push(subject);
  return subject;
}

const v1 = {
  type: 'record',
  name: 'Probe',
  namespace: 'dev.fleetstream.test',
  fields: [
    { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};
const v2 = { ...v1, fields: [...v1.fields, { name: 'note', type: ['null', 'string'], default: null }] };
const v1Text = JSON.stringify(v1);
const v2Text = JSON.stringify(v2);
const value = { id: '9d2b7e0c-6f1a-4e4b-b8a4-2f6c1d3e5a77', at: 1_780_000_000_000 };

describe('SchemaRegistryClient against Apicurio ccompat', () => {
  it('registers idempotently (same text, same id, one version) and sets the level first', async () => {
    const subject = newSubject();
    const id = await client.register(subject, v1Text, 'FULL_TRANSITIVE');
    expect(await client.register(subject, v1Text, 'FULL_TRANSITIVE')).toBe(id);
    expect(await client.listVersions(subject)).toEqual([1]);
    expect(await client.compatibilityLevel(subject)).toBe('FULL_TRANSITIVE');
    expect(await client.latestSchemaId(subject)).toBe(id);
    expect(await client.schemaVersion(subject, 1)).toEqual({ subject, version: 1, id, schema: v1Text });
    expect((await client.avroTypeById(id)).equals(parseAvroType(v1))).toBe(true);
  });

  it('can change the level of a subject registered earlier at another level', async () => {
    const subject = newSubject();
    const id = await client.register(subject, v1Text, 'BACKWARD');
    expect(await client.register(subject, v1Text, 'FULL_TRANSITIVE')).toBe(id);
    expect(await client.compatibilityLevel(subject)).toBe('FULL_TRANSITIVE');
  });

  it('answers compatibility per version set, and the registry refuses an incompatible registration', async () => {
    const subject = newSubject();
    await client.register(subject, v1Text, 'FULL_TRANSITIVE');
    expect(await client.isCompatible(subject, v2Text, 'all')).toBe(true);
    const retyped = JSON.stringify({ ...v1, fields: [v1.fields[0], { name: 'at', type: 'string' }] });
    expect(await client.isCompatible(subject, retyped, 'latest')).toBe(false);
    await expect(client.register(subject, retyped, 'FULL_TRANSITIVE')).rejects.toBeInstanceOf(
      SchemaIncompatibleError,
    );
    // a subject that does not exist is compatible with anything
    expect(await client.isCompatible(`it-${randomUUID()}-value`, retyped, 'all')).toBe(true);
  });

  it('deletes a subject together with a level set before it had versions', async () => {
    const subject = newSubject();
    await client.setCompatibilityLevel(subject, 'FULL');
    expect(await client.compatibilityLevel(subject)).toBe('FULL');
    await client.deleteSubject(subject, SOFT);
    expect(await client.compatibilityLevel(subject)).toBeUndefined();
    expect(await client.listVersions(subject)).toEqual([]);
  });
});

describe('AvroSerde against the registry', () => {
  it('writes the id the registry returned and reads it back', async () => {
    const subject = newSubject();
    const id = await client.register(subject, v1Text, 'BACKWARD');
    const serde = new AvroSerde<Record<string, typeof value>>({ source: client });
    const message = await serde.encode(subject, value);
    expect(message.subarray(0, 5)).toEqual(
      Buffer.from([0, ...new Uint8Array(new Uint32Array([id]).buffer).reverse()]),
    );
    expect(await serde.decode(message)).toEqual(value);
  });

  it('keeps writing with the id it looked up first, and old readers read the new version', async () => {
    const subject = newSubject();
    const id1 = await client.register(subject, v1Text, 'FULL_TRANSITIVE');
    const writer = new AvroSerde<Record<string, unknown>>({ source: client });
    expect(await writer.writerSchemaId(subject)).toBe(id1);
    const id2 = await client.register(subject, v2Text, 'FULL_TRANSITIVE');
    expect(id2).not.toBe(id1);
    expect(await writer.writerSchemaId(subject)).toBe(id1);

    const fresh = new AvroSerde<Record<string, unknown>>({
      source: client,
      readerTypes: new Map([[subject, parseAvroType(v1)]]),
    });
    const message = await fresh.encode(subject, { ...value, note: 'v2 field' });
    expect(message.readInt32BE(1)).toBe(id2);
    expect(await fresh.decode(message)).toEqual({ ...value, note: 'v2 field' });
    expect(await fresh.decodeAs(subject, message)).toEqual(value);
  });

  it('treats an id the registry does not know as poison', async () => {
    const serde = new AvroSerde({ source: client });
    const error = await Promise.resolve(
      serde.decode(frameWireMessage(MAX_SCHEMA_ID, Buffer.from([2, 0x41]))),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AvroPoisonMessageError);
    expect((error as AvroPoisonMessageError).reason).toBe('unknown-schema-id');
  });

  it('refuses to encode for a subject that is not registered', async () => {
    const serde = new AvroSerde<Record<string, unknown>>({ source: client });
    await expect(serde.encode(`it-${randomUUID()}-value`, value)).rejects.toBeInstanceOf(
      SubjectNotRegisteredError,
    );
  });
});

describe('a registry that answers, but not as the registry API (real registry behind faults)', () => {
  const closers: Array<() => void> = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  function clientAt(url: string): SchemaRegistryClient {
    const faulty = new SchemaRegistryClient({ ...config, url, retries: 0 });
    closers.push(() => faulty.close());
    return faulty;
  }

  /** A new subject registered at v1 on the real registry, and `value` encoded with it. */
  async function registeredMessage(): Promise<{ subject: string; message: Buffer }> {
    const subject = newSubject();
    await client.register(subject, v1Text, 'BACKWARD');
    const serde = new AvroSerde<Record<string, typeof value>>({ source: client });
    return { subject, message: await serde.encode(subject, value) };
  }

  /** A proxy to the real registry that answers 403 (an auth proxy whose token expired) while `refusing()`. */
  async function authProxy(refusing: () => boolean): Promise<string> {
    const upstream = new URL(config.url);
    const server = http.createServer((request, response) => {
      if (refusing()) {
        response.writeHead(403, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error_code: 40301, message: 'token expired, refreshing' }));
        return;
      }
      const forward = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: request.url,
          method: request.method,
          headers: request.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forward.on('error', (error) => response.destroy(error));
      request.pipe(forward);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      server.closeAllConnections();
      server.close();
    });
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}${upstream.pathname}`;
  }

  it('reports the root URL (SCHEMA_REGISTRY_URL without the API path) as unavailable, not poison, and verifyApi names the variable', async () => {
    const { subject, message } = await registeredMessage();

    const root = clientAt(new URL(config.url).origin);
    const error = await Promise.resolve(new AvroSerde({ source: root }).decode(message)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect((error as Error).message).toContain('SCHEMA_REGISTRY_URL');
    expect(await root.latestSchemaId(subject).catch((e: unknown) => e)).toBeInstanceOf(
      SchemaRegistryUnavailableError,
    );

    const misconfigured = await root.verifyApi().catch((e: unknown) => e);
    expect(misconfigured).toBeInstanceOf(ConfigError);
    expect((misconfigured as Error).message).toContain('SCHEMA_REGISTRY_URL');
    await client.verifyApi();
  });

  it('keeps a value retriable while an auth proxy refuses reads with 403, and decodes it once the proxy lets reads through', async () => {
    const { subject, message } = await registeredMessage();
    let refusing = true;
    const proxied = clientAt(await authProxy(() => refusing));
    const serde = new AvroSerde<Record<string, typeof value>>({ source: proxied });

    const error = await Promise.resolve(serde.decode(message)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect((error as SchemaRegistryUnavailableError).retriable).toBe(true);
    expect((error as Error).message).toContain('HTTP 403 (40301)');
    expect(await serde.writerSchemaId(subject).catch((e: unknown) => e)).toBeInstanceOf(
      SchemaRegistryUnavailableError,
    );

    refusing = false;
    expect(await serde.decode(message)).toEqual(value);
    expect(await serde.writerSchemaId(subject)).toBe(message.readInt32BE(1));
  });
});
