import { describe, expect, it } from 'vitest';
import { PoisonMessageError } from '../errors/processingErrors.ts';
import { AvroPoisonMessageError } from './avroErrors.ts';
import { frameWireMessage, readWireSchemaId, unframeWireMessage, WIRE_HEADER_SIZE } from './wireFormat.ts';

function poisonOf(fn: () => unknown): AvroPoisonMessageError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AvroPoisonMessageError) return error;
    throw error;
  }
  throw new Error('expected an AvroPoisonMessageError');
}

describe('Confluent wire format', () => {
  it('frames a body behind magic byte 0 and the big-endian schema id', () => {
    const message = frameWireMessage(0x01020304, Buffer.from([0xaa, 0xbb]));
    expect([...message]).toEqual([0x00, 0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb]);
  });

  it('unframes what it framed, the body being a view of the message', () => {
    const body = Buffer.from('avro body');
    const message = frameWireMessage(42, body);
    const unframed = unframeWireMessage(message);
    expect(unframed.schemaId).toBe(42);
    expect(unframed.body.equals(body)).toBe(true);
    expect(unframed.body.buffer).toBe(message.buffer);
    expect(readWireSchemaId(message)).toBe(42);
  });

  it('frames an empty body (a record with no fields encodes to zero bytes)', () => {
    const message = frameWireMessage(7, new Uint8Array(0));
    expect(message.length).toBe(WIRE_HEADER_SIZE);
    expect(unframeWireMessage(message)).toMatchObject({ schemaId: 7 });
  });

  it('refuses ids that do not fit a positive int32', () => {
    for (const id of [0, -1, 1.5, 2 ** 31, Number.NaN]) {
      expect(() => frameWireMessage(id, Buffer.alloc(0))).toThrow(RangeError);
    }
  });

  it('treats a value shorter than the header as poison', () => {
    const error = poisonOf(() => readWireSchemaId(Buffer.from([0, 0, 1])));
    expect(error.reason).toBe('not-wire-format');
    expect(error.message).toContain('3 byte(s) long');
    expect(error.retriable).toBe(false);
    expect(error).toBeInstanceOf(PoisonMessageError);
    expect(error.code).toBe('AVRO_NOT_WIRE_FORMAT');
  });

  it('treats a wrong magic byte as poison and says which byte it saw', () => {
    const error = poisonOf(() => unframeWireMessage(Buffer.from('{"json":"value"}')));
    expect(error.reason).toBe('not-wire-format');
    expect(error.message).toContain('0x7b');
  });

  it('treats a non-positive schema id as poison without asking anyone', () => {
    const error = poisonOf(() => readWireSchemaId(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1])));
    expect(error.reason).toBe('unknown-schema-id');
    expect(error.schemaId).toBe(-1);
  });
});
