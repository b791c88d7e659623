import { describe, expect, it } from 'vitest';
import { AvroPoisonMessageError } from './avroErrors.ts';
import { AvroSerde } from './avroSerde.ts';
import { avroValueDecoder, valueSubjectOfTopic } from './avroValueDecoder.ts';
import { InMemorySchemaSource } from './inMemorySchemaSource.ts';
import { parseAvroType } from './schemaRegistryClient.ts';

const v1 = {
  type: 'record',
  name: 'Thing',
  namespace: 'dev.fleetstream.test',
  fields: [{ name: 'a', type: 'int' }],
};
const v2 = { ...v1, fields: [...v1.fields, { name: 'b', type: 'string', default: 'none' }] };

describe('avroValueDecoder', () => {
  it('derives the value subject from the topic, a DLQ topic keeping its source subject', () => {
    expect(valueSubjectOfTopic('fleet.rental.events.v1')).toBe('fleet.rental.events.v1-value');
    expect(valueSubjectOfTopic('fleet.rental.events.v1.dlq')).toBe('fleet.rental.events.v1-value');
  });

  it('reads through the reader type of the topic subject when there is one, else as written', async () => {
    const source = new InMemorySchemaSource();
    source.register('things-value', v1);
    const writer = new AvroSerde<{ 'things-value': { a: number } }>({ source });
    const message = await writer.encode('things-value', { a: 7 });
    const withReader = avroValueDecoder(
      new AvroSerde({ source, readerTypes: new Map([['things-value', parseAvroType(v2)]]) }),
    );
    expect(await withReader(message, 'things')).toEqual({ a: 7, b: 'none' });
    expect(await withReader(message, 'things.dlq')).toEqual({ a: 7, b: 'none' });
    expect(await avroValueDecoder(new AvroSerde({ source }))(message, 'things')).toEqual({ a: 7 });
  });

  it('treats a null value (tombstone) as poison', async () => {
    const decode = avroValueDecoder(new AvroSerde({ source: new InMemorySchemaSource() }));
    const error = await Promise.resolve(decode(null, 'things')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AvroPoisonMessageError);
    expect((error as AvroPoisonMessageError).message).toContain('tombstone');
  });
});
