import { describe, expect, it } from 'vitest';
import { parseAvroType } from '../workers/runtime/avro/schemaRegistryClient.ts';
import { readAvroSchemaFile } from './avroSchemaFile.ts';
import { sampleValues } from './fixtures/sampleValues.ts';
import { loadReaderTypes } from './readerTypes.ts';
import { findSubjectDefinition, listValueSubjects, subjectDefinitions, subjectForTopic } from './subjects.ts';

type Json = Record<string, unknown>;

/** Every record, field and enum in a schema that lacks a doc string, by name. */
function missingDocs(schema: unknown, where = ''): string[] {
  if (Array.isArray(schema)) return schema.flatMap((branch) => missingDocs(branch, where));
  if (typeof schema !== 'object' || schema === null) return [];
  const json = schema as Json;
  const missing: string[] = [];
  const hasDoc = (node: Json) => typeof node.doc === 'string' && node.doc.trim().length > 0;
  if (json.type === 'record' || json.type === 'enum') {
    if (!hasDoc(json)) missing.push(String(json.name));
    for (const field of (json.fields as Json[] | undefined) ?? []) {
      if (!hasDoc(field)) missing.push(`${json.name}.${field.name}`);
      missing.push(...missingDocs(field.type, `${json.name}.${field.name}`));
    }
  } else if (typeof json.type === 'object') {
    missing.push(...missingDocs(json.type, where));
  }
  return missing;
}

function payloadBranches(schema: Json): string[] {
  const payload = (schema.fields as Json[]).find((f) => f.name === 'payload');
  return ((payload?.type ?? []) as Json[]).map((b) => `${schema.namespace}.${b.name}`);
}

describe('subject map', () => {
  it('lists one value subject per topic, named by TopicNameStrategy', () => {
    expect(listValueSubjects()).toEqual([
      'fleet.reservation.commands.v1-value',
      'fleet.reservation.events.v1-value',
      'fleet.rental.events.v1-value',
    ]);
    for (const definition of subjectDefinitions) {
      expect(definition.subject).toBe(`${definition.topic}-value`);
      expect(definition.topic).toMatch(/^fleet\.[a-z]+\.[a-z]+\.v\d+$/);
      expect(subjectForTopic(definition.topic)).toBe(definition.subject);
      expect(findSubjectDefinition(definition.subject)).toBe(definition);
    }
    expect(subjectForTopic('fleet.unknown.events.v1')).toBeUndefined();
  });

  it('requires BACKWARD compatibility or stricter everywhere', () => {
    for (const { compatibility } of subjectDefinitions) {
      expect(['BACKWARD', 'BACKWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE']).toContain(compatibility);
    }
  });

  it('finds missing docs in nested records and enums (the check below is not vacuous)', () => {
    const nested = {
      type: 'record',
      name: 'X',
      doc: 'd',
      fields: [
        { name: 'p', doc: 'd', type: [{ type: 'record', name: 'Y', fields: [{ name: 'q', type: 'int' }] }] },
        { name: 'e', doc: 'd', type: ['null', { type: 'enum', name: 'E', symbols: ['a'] }] },
      ],
    };
    expect(missingDocs(nested)).toEqual(['Y', 'Y.q', 'E']);
  });

  it('points at valid envelope schemas in dev.fleetstream.* with a doc on every record, enum and field', () => {
    for (const definition of subjectDefinitions) {
      const { json, fullName } = readAvroSchemaFile(definition.schemaFile);
      expect(fullName).toMatch(/^dev\.fleetstream\.[a-z]+\.[A-Z]\w+$/);
      expect(fullName.endsWith(`.${definition.valueType}`)).toBe(true);
      expect(missingDocs(json), definition.subject).toEqual([]);
      const fieldNames = (json.fields as Json[]).map((f) => f.name);
      expect(fieldNames).toEqual(expect.arrayContaining(['occurredAt', 'correlationId', 'payload']));
      expect(fieldNames.some((n) => n === 'eventId' || n === 'commandId')).toBe(true);
    }
  });
});

describe('sample values (typed with the generated types)', () => {
  const readers = loadReaderTypes();

  it('cover every event type of every subject', () => {
    for (const definition of subjectDefinitions) {
      const { json } = readAvroSchemaFile(definition.schemaFile);
      const samples = sampleValues[definition.subject as keyof typeof sampleValues];
      const covered = samples.map((sample) => Object.keys(sample.payload)[0]);
      expect(covered.sort(), definition.subject).toEqual(payloadBranches(json).sort());
    }
  });

  it('are valid for their schema and survive an Avro round trip unchanged', () => {
    for (const definition of subjectDefinitions) {
      const type = readers.get(definition.subject)!;
      for (const sample of sampleValues[definition.subject as keyof typeof sampleValues]) {
        const problems: string[] = [];
        type.isValid(sample, { errorHook: (path) => problems.push(path.join('.')) });
        expect(problems, definition.subject).toEqual([]);
        expect(type.fromBuffer(type.toBuffer(sample))).toEqual(sample);
      }
    }
  });

  it('reader types are parsed with the runtime options (wrapped record unions)', () => {
    const type = readers.get('fleet.rental.events.v1-value')!;
    expect(type.equals(parseAvroType(readAvroSchemaFile(subjectDefinitions[2]!.schemaFile).json))).toBe(true);
    expect(() =>
      type.toBuffer({ ...sampleValues['fleet.rental.events.v1-value'][0], payload: {} }),
    ).toThrow();
  });
});
