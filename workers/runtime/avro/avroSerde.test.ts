import { describe, expect, it } from 'vitest';
import { PoisonMessageError } from '../errors/processingErrors.ts';
import {
  AvroEncodeError,
  AvroPoisonMessageError,
  SchemaRegistryUnavailableError,
  SubjectNotRegisteredError,
} from './avroErrors.ts';
import { AvroSerde } from './avroSerde.ts';
import { InMemorySchemaSource } from './inMemorySchemaSource.ts';
import { parseAvroType } from './schemaRegistryClient.ts';
import { frameWireMessage } from './wireFormat.ts';

const started = {
  type: 'record',
  name: 'Started',
  doc: 'test',
  fields: [
    { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};
const stopped = {
  type: 'record',
  name: 'Stopped',
  fields: [
    { name: 'id', type: 'string' },
    {
      name: 'why',
      type: { type: 'enum', name: 'Why', symbols: ['done', 'failed', 'other'], default: 'other' },
    },
  ],
};
const envelopeV1 = {
  type: 'record',
  name: 'Envelope',
  namespace: 'dev.fleetstream.test',
  fields: [
    { name: 'eventId', type: 'string' },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'payload', type: [started, stopped] },
  ],
};
// v2 adds an optional field: old readers skip it, new readers default it.
const envelopeV2 = {
  ...envelopeV1,
  fields: [...envelopeV1.fields, { name: 'source', type: ['null', 'string'], default: null }],
};
const otherRecord = {
  type: 'record',
  name: 'Unrelated',
  namespace: 'dev.fleetstream.test',
  fields: [{ name: 'x', type: 'int' }],
};

interface Envelope {
  eventId: string;
  note: string | null;
  payload:
    | { 'dev.fleetstream.test.Started': { id: string; at: number } }
    | { 'dev.fleetstream.test.Stopped': { id: string; why: string } };
}
interface Values {
  'events-value': Envelope;
  'other-value': { x: number };
}

const startedValue: Envelope = {
  eventId: 'e-1',
  note: null,
  payload: {
    'dev.fleetstream.test.Started': { id: '9d2b7e0c-6f1a-4e4b-b8a4-2f6c1d3e5a77', at: 1_780_000_000_123 },
  },
};
const stoppedValue: Envelope = {
  eventId: 'e-2',
  note: 'bye',
  payload: { 'dev.fleetstream.test.Stopped': { id: 's', why: 'failed' } },
};

function setup(options: { readers?: boolean; now?: () => number } = {}) {
  const source = new InMemorySchemaSource();
  const v1 = source.register('events-value', envelopeV1);
  const serde = new AvroSerde<Values>({
    source,
    readerTypes: options.readers ? new Map([['events-value', parseAvroType(envelopeV1)]]) : undefined,
    now: options.now,
  });
  return { source, serde, v1 };
}

async function poisonOf(result: unknown): Promise<AvroPoisonMessageError> {
  try {
    await result;
  } catch (error) {
    if (error instanceof AvroPoisonMessageError) return error;
    throw error;
  }
  throw new Error('expected an AvroPoisonMessageError');
}

describe('AvroSerde encoding', () => {
  it('writes magic byte 0, the latest id of the subject, then the Avro body', async () => {
    const { serde, v1 } = setup();
    const message = await serde.encode('events-value', startedValue);
    expect(message[0]).toBe(0);
    expect(message.readInt32BE(1)).toBe(v1);
    expect(parseAvroType(envelopeV1).fromBuffer(message.subarray(5))).toEqual(startedValue);
  });

  it('looks the latest id up once per subject, even for concurrent first encodes', async () => {
    const { serde, source } = setup();
    await Promise.all([
      serde.encode('events-value', startedValue),
      serde.encode('events-value', stoppedValue),
      serde.encode('events-value', startedValue),
    ]);
    await serde.encode('events-value', stoppedValue);
    expect(source.calls).toEqual({ latestSchemaId: 1, avroTypeById: 1 });
  });

  it('names each invalid field and what it expected, without echoing values', async () => {
    const { serde } = setup();
    const bad = {
      eventId: 'e-3',
      note: null,
      payload: { 'dev.fleetstream.test.Started': { id: 'x', at: new Date(0) } },
    } as unknown as Envelope;
    const error = await serde.encode('events-value', bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AvroEncodeError);
    const encodeError = error as AvroEncodeError;
    expect(encodeError.retriable).toBe(false);
    expect(encodeError.problems).toEqual([
      'payload.dev.fleetstream.test.Started.at: expected long, got a Date (timestamps are epoch milliseconds)',
    ]);
  });

  it('refuses a subject with no registered schema', async () => {
    const { serde } = setup();
    await expect(serde.encode('other-value', { x: 1 })).rejects.toBeInstanceOf(SubjectNotRegisteredError);
  });

  it('encodes values larger than its scratch buffer', async () => {
    const { serde } = setup();
    const big = { ...stoppedValue, note: 'n'.repeat(100_000) };
    const message = await serde.encode('events-value', big);
    expect(await serde.decode(message)).toEqual(big);
    // and the next small value is not polluted by the bigger buffer
    expect(await serde.decode(await serde.encode('events-value', startedValue))).toEqual(startedValue);
  });
});

describe('AvroSerde decoding', () => {
  it('round-trips every branch of the union', async () => {
    const { serde } = setup();
    for (const value of [startedValue, stoppedValue]) {
      expect(await serde.decode(await serde.encode('events-value', value))).toEqual(value);
    }
  });

  it('fetches each schema id once and then decodes synchronously', async () => {
    const { serde, source, v1 } = setup();
    const body = parseAvroType(envelopeV1).toBuffer(startedValue);
    const message = frameWireMessage(v1, body);
    const first = serde.decode(message);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual(startedValue);
    const second = serde.decode(message);
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toEqual(startedValue);
    expect(source.calls.avroTypeById).toBe(1);
  });

  it('decodes by the id in the message, whichever version wrote it', async () => {
    const { serde, source } = setup();
    const v2 = source.register('events-value', envelopeV2);
    const v2Value = { ...startedValue, source: 'upstream' };
    const message = frameWireMessage(v2, parseAvroType(envelopeV2).toBuffer(v2Value));
    expect(await serde.decode(message)).toEqual(v2Value);
  });

  it('rejects bytes that are not in the wire format as poison', async () => {
    const { serde, source } = setup();
    for (const garbage of [Buffer.alloc(0), Buffer.from('not avro at all'), Buffer.from([0, 0, 0])]) {
      const error = await poisonOf(serde.decode(garbage));
      expect(error.reason).toBe('not-wire-format');
      expect(error).toBeInstanceOf(PoisonMessageError);
      expect(error.retriable).toBe(false);
    }
    expect(source.calls.avroTypeById).toBe(0);
  });

  it('rejects an id the registry does not know, and remembers it for a while', async () => {
    let now = 1_000;
    const { serde, source } = setup({ now: () => now });
    const message = frameWireMessage(999, Buffer.from([2, 0x41]));
    const error = await poisonOf(serde.decode(message));
    expect(error.reason).toBe('unknown-schema-id');
    expect(error.schemaId).toBe(999);
    expect(error.message).toContain('no schema with id 999');
    await poisonOf(serde.decode(message));
    expect(source.calls.avroTypeById).toBe(1);
    now += 30_001;
    await poisonOf(serde.decode(message));
    expect(source.calls.avroTypeById).toBe(2);
  });

  it('rejects an id that names a non-Avro schema', async () => {
    const { serde, source } = setup();
    const id = source.registerNonAvro('{"type":"object"}');
    const error = await poisonOf(serde.decode(frameWireMessage(id, Buffer.from([1]))));
    expect(error.reason).toBe('not-avro-schema');
  });

  it('rejects a body that does not match its schema: truncated, trailing bytes, bad union index', async () => {
    const { serde, v1 } = setup();
    const body = parseAvroType(envelopeV1).toBuffer(startedValue);
    const cases = {
      truncated: body.subarray(0, body.length - 2),
      trailing: Buffer.concat([body, Buffer.from([1, 2, 3])]),
      // eventId "e" (len 1), note null (branch 0), payload branch 7 (zig-zag 14): no such branch
      'bad union index': Buffer.from([2, 0x65, 0, 14]),
    };
    for (const [label, bad] of Object.entries(cases)) {
      const error = await poisonOf(serde.decode(frameWireMessage(v1, bad)));
      expect(error.reason, label).toBe('body-mismatch');
      expect(error.schemaId).toBe(v1);
      expect(error.message).toContain(`schema ${v1} (dev.fleetstream.test.Envelope)`);
    }
  });

  it('lets a registry outage through as retriable, and asks again next time', async () => {
    const { serde, source, v1 } = setup();
    source.failWith = new SchemaRegistryUnavailableError('http://registry', 'ECONNREFUSED');
    const message = frameWireMessage(v1, parseAvroType(envelopeV1).toBuffer(startedValue));
    const error = await Promise.resolve(serde.decode(message)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect((error as SchemaRegistryUnavailableError).retriable).toBe(true);
    source.failWith = undefined;
    expect(await serde.decode(message)).toEqual(startedValue);
  });
});

describe('AvroSerde decodeAs (schema resolution to the reader type)', () => {
  it('reads a newer writer as the older reader, dropping the field it does not know', async () => {
    const { serde, source } = setup({ readers: true });
    const v2 = source.register('events-value', envelopeV2);
    const message = frameWireMessage(
      v2,
      parseAvroType(envelopeV2).toBuffer({ ...stoppedValue, source: 'x' }),
    );
    expect(await serde.decodeAs('events-value', message)).toEqual(stoppedValue);
    // the resolver is cached: the second read is synchronous
    expect(serde.decodeAs('events-value', message)).not.toBeInstanceOf(Promise);
  });

  it('reads an older writer as a newer reader, filling defaults', async () => {
    const source = new InMemorySchemaSource();
    const v1 = source.register('events-value', envelopeV1);
    const serde = new AvroSerde<Values>({
      source,
      readerTypes: new Map([['events-value', parseAvroType(envelopeV2)]]),
    });
    const message = frameWireMessage(v1, parseAvroType(envelopeV1).toBuffer(startedValue));
    expect(await serde.decodeAs('events-value', message)).toEqual({ ...startedValue, source: null });
  });

  it('rejects a writer schema the reader cannot read as poison', async () => {
    const { serde, source } = setup({ readers: true });
    const id = source.register('other-value', otherRecord);
    const message = frameWireMessage(id, parseAvroType(otherRecord).toBuffer({ x: 1 }));
    const error = await poisonOf(serde.decodeAs('events-value', message));
    expect(error.reason).toBe('incompatible-writer-schema');
    expect(error.message).toContain('dev.fleetstream.test.Unrelated');
  });

  it('refuses a subject it has no reader type for', async () => {
    const { serde } = setup();
    const message = await serde.encode('events-value', startedValue);
    await expect(serde.decodeAs('events-value', message)).rejects.toThrow(
      'no reader type for subject events-value',
    );
  });
});
