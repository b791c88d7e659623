import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { AvroSerde } from '../workers/runtime/avro/avroSerde.ts';
import { SchemaRegistryClient } from '../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../workers/runtime/avro/schemaRegistryConfig.ts';
import { readAvroSchemaFile } from './avroSchemaFile.ts';
import { sampleValues } from './fixtures/sampleValues.ts';
import { loadReaderTypes } from './readerTypes.ts';
import { type SubjectValueTypes, subjectDefinitions, type ValueSubject } from './subjects.ts';

// Every event type of every subject through the real registry: registered under random
// subject names (deleted afterwards), encoded in the wire format, decoded back.
const client = new SchemaRegistryClient(loadSchemaRegistryConfig());
// Soft deletes only: a permanent delete in Apicurio 3.0.9 can break a subject that another
// test (or another project's test) is creating at the same moment (see deleteSubject()).
const SOFT = { permanent: false } as const;
const prefix = `it-${randomUUID().slice(0, 8)}-`;
afterAll(async () => {
  for (const { subject } of subjectDefinitions) await client.deleteSubject(prefix + subject, SOFT);
  client.close();
});

type Prefixed = { [S in ValueSubject as `${string}${S}`]: SubjectValueTypes[S] };

describe('every event type of every subject through the registry', () => {
  it('encodes with the registry id of its subject and decodes back to the same value', async () => {
    const ids = new Map<string, number>();
    for (const definition of subjectDefinitions) {
      const text = readAvroSchemaFile(definition.schemaFile).canonicalText;
      ids.set(
        definition.subject,
        await client.register(prefix + definition.subject, text, definition.compatibility),
      );
    }
    const readers = loadReaderTypes();
    const serde = new AvroSerde<Prefixed>({
      source: client,
      readerTypes: new Map([...readers].map(([subject, type]) => [prefix + subject, type])),
    });
    // A fresh serde that has never seen the ids decodes them from the registry alone.
    const decoder = new AvroSerde({ source: client });

    let roundTrips = 0;
    for (const definition of subjectDefinitions) {
      const subject = (prefix + definition.subject) as keyof Prefixed;
      for (const value of sampleValues[definition.subject as ValueSubject]) {
        const message = await serde.encode(subject, value as Prefixed[typeof subject]);
        expect(message[0]).toBe(0x00);
        expect(message.readInt32BE(1)).toBe(ids.get(definition.subject));
        expect(await decoder.decode(message)).toEqual(value);
        expect(await serde.decodeAs(subject, message)).toEqual(value);
        roundTrips += 1;
      }
      expect(await client.latestSchemaId(subject)).toBe(ids.get(definition.subject));
    }
    expect(roundTrips).toBe(10);
  });
});
