import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAvroType } from '../workers/runtime/avro/schemaRegistryClient.ts';
import { findIncompatibilities } from './avroCompatibility.ts';
import { readAvroSchemaFile } from './avroSchemaFile.ts';

const base = readAvroSchemaFile(
  fileURLToPath(new URL('./avro/reservation-events.v1.avsc', import.meta.url)),
).json;
const fixture = (name: string) =>
  readAvroSchemaFile(fileURLToPath(new URL(`./fixtures/reservation-events.v1.${name}.avsc`, import.meta.url)))
    .json;

function messages(oldSchema: unknown, newSchema: unknown, direction: 'backward' | 'forward'): string[] {
  return findIncompatibilities(oldSchema, newSchema, direction).map((i) => i.message);
}

/** avsc's own resolver as a second opinion on whether `reader` can read `writer`. */
function avscCanRead(reader: unknown, writer: unknown): boolean {
  try {
    parseAvroType(reader as object).createResolver(parseAvroType(writer as object));
    return true;
  } catch {
    return false;
  }
}

const record = (fields: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'record',
  name: 'Thing',
  namespace: 'dev.fleetstream.test',
  fields,
  ...extra,
});

describe('field-level compatibility on the fixture evolutions of reservation events', () => {
  it('accepts an optional field added with a default and an enum symbol added to an enum with a default', () => {
    expect(messages(base, fixture('compatible'), 'backward')).toEqual([]);
    expect(messages(base, fixture('compatible'), 'forward')).toEqual([]);
    expect(avscCanRead(fixture('compatible'), base)).toBe(true);
    expect(avscCanRead(base, fixture('compatible'))).toBe(true);
  });

  it('names a field removed without a default (old readers need it)', () => {
    expect(messages(base, fixture('field-removed'), 'forward')).toEqual([
      'field ReservationConfirmed.vehicleId removed without a default',
    ]);
    // new readers simply ignore the old field
    expect(messages(base, fixture('field-removed'), 'backward')).toEqual([]);
    expect(avscCanRead(base, fixture('field-removed'))).toBe(false);
  });

  it('names a field whose type changed, in both directions', () => {
    const expected = ['ReservationConfirmed.startsAt changed type from long (timestamp-millis) to string'];
    expect(messages(base, fixture('type-changed'), 'backward')).toEqual(expected);
    expect(messages(base, fixture('type-changed'), 'forward')).toEqual(expected);
    expect(avscCanRead(fixture('type-changed'), base)).toBe(false);
  });
});

describe('field-level compatibility rules', () => {
  const a = { name: 'a', type: 'int' };

  it('names a field added without a default (new readers cannot fill it from old data)', () => {
    const next = record([a, { name: 'b', type: 'string' }]);
    expect(messages(record([a]), next, 'backward')).toEqual(['field Thing.b added without a default']);
    expect(messages(record([a]), next, 'forward')).toEqual([]);
  });

  it('allows the promotions of the specification and refuses the reverse', () => {
    const asLong = record([{ name: 'a', type: 'long' }]);
    expect(messages(record([a]), asLong, 'backward')).toEqual([]);
    expect(messages(record([a]), asLong, 'forward')).toEqual(['Thing.a changed type from int to long']);
  });

  it('follows a field renamed through an alias', () => {
    const renamed = record([{ name: 'alpha', type: 'int', aliases: ['a'] }]);
    expect(messages(record([a]), renamed, 'backward')).toEqual([]);
  });

  it('refuses a new enum symbol that old readers without a default cannot read', () => {
    const enumOf = (symbols: string[]) =>
      record([{ name: 'e', type: { type: 'enum', name: 'Color', symbols } }]);
    expect(messages(enumOf(['red']), enumOf(['red', 'blue']), 'forward')).toEqual([
      "enum Color symbol 'blue' added, but the old enum has no default symbol to read it as",
    ]);
    expect(messages(enumOf(['red', 'blue']), enumOf(['red']), 'backward')).toEqual([
      "enum Color symbol 'blue' removed without a default symbol",
    ]);
  });

  it('refuses a union branch that the other side does not know', () => {
    const one = { type: 'record', name: 'One', fields: [] };
    const two = { type: 'record', name: 'Two', fields: [] };
    const before = record([{ name: 'payload', type: [one] }]);
    const after = record([{ name: 'payload', type: [one, two] }]);
    expect(messages(before, after, 'backward')).toEqual([]);
    expect(messages(before, after, 'forward')).toEqual([
      'Two added to the union at Thing.payload: readers of the old schema cannot read it',
    ]);
  });

  it('refuses a changed logical type even though the underlying type is the same', () => {
    const at = (logicalType: string) => record([{ name: 'at', type: { type: 'long', logicalType } }]);
    expect(messages(at('timestamp-millis'), at('timestamp-micros'), 'backward')).toEqual([
      'Thing.at changed logical type from long (timestamp-millis) to long (timestamp-micros)',
    ]);
  });

  it('terminates on recursive records', () => {
    const node = (extra: unknown[]) =>
      record([{ name: 'next', type: ['null', 'dev.fleetstream.test.Thing'], default: null }, ...extra]);
    expect(messages(node([]), node([{ name: 'v', type: 'int' }]), 'backward')).toEqual([
      'field Thing.v added without a default',
    ]);
  });
});
