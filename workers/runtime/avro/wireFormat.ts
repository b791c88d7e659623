import { AvroPoisonMessageError } from './avroErrors.ts';

/** The Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian int, then the Avro binary body. */
export const WIRE_MAGIC_BYTE = 0;
/** Bytes before the Avro body. */
export const WIRE_HEADER_SIZE = 5;
/** Largest id the 4-byte signed field can carry; Confluent and Apicurio ids are positive int32. */
export const MAX_SCHEMA_ID = 0x7fffffff;

/** Writes the 5-byte header for `schemaId` at the start of `target`. */
export function writeWireHeader(target: Buffer, schemaId: number): void {
  target[0] = WIRE_MAGIC_BYTE;
  target.writeInt32BE(schemaId, 1);
}

/** Frames an Avro body as a wire-format message (one copy of the body). */
export function frameWireMessage(schemaId: number, avroBody: Uint8Array): Buffer {
  assertSchemaId(schemaId);
  const message = Buffer.allocUnsafe(WIRE_HEADER_SIZE + avroBody.length);
  writeWireHeader(message, schemaId);
  message.set(avroBody, WIRE_HEADER_SIZE);
  return message;
}

/** A wire-format message split into its schema id and Avro body (a view, no copy). */
export interface UnframedWireMessage {
  schemaId: number;
  body: Buffer;
}

/** Splits a wire-format message; throws AvroPoisonMessageError('not-wire-format') when it is not one. */
export function unframeWireMessage(message: Buffer): UnframedWireMessage {
  return { schemaId: readWireSchemaId(message), body: message.subarray(WIRE_HEADER_SIZE) };
}

/** The schema id of a wire-format message; throws AvroPoisonMessageError('not-wire-format') when it is not one. */
export function readWireSchemaId(message: Buffer): number {
  if (message.length < WIRE_HEADER_SIZE) {
    throw new AvroPoisonMessageError(
      'not-wire-format',
      `value is ${message.length} byte(s) long, shorter than the ${WIRE_HEADER_SIZE}-byte Confluent wire-format header`,
    );
  }
  if (message[0] !== WIRE_MAGIC_BYTE) {
    throw new AvroPoisonMessageError(
      'not-wire-format',
      `value starts with byte 0x${message[0]!.toString(16).padStart(2, '0')}, not the wire-format magic byte 0x00`,
    );
  }
  const schemaId = message.readInt32BE(1);
  if (schemaId <= 0) {
    // Registries hand out positive ids only, so asking the registry about this one would be wasted.
    throw new AvroPoisonMessageError(
      'unknown-schema-id',
      `value names schema id ${schemaId}; ids are positive`,
      {
        schemaId,
      },
    );
  }
  return schemaId;
}

function assertSchemaId(schemaId: number): void {
  if (!Number.isInteger(schemaId) || schemaId <= 0 || schemaId > MAX_SCHEMA_ID) {
    throw new RangeError(`schema id must be an integer in 1..${MAX_SCHEMA_ID}, got ${schemaId}`);
  }
}
