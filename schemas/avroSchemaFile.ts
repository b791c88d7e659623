import { readFileSync } from 'node:fs';
import { parseAvroType } from '../workers/runtime/avro/schemaRegistryClient.ts';

/** An .avsc file, parsed and checked. */
export interface AvroSchemaDocument {
  /** Absolute path of the file. */
  path: string;
  /** The schema as JSON. */
  json: Record<string, unknown>;
  /**
   * The schema as it is registered: compact JSON in the file's key order. The registry reuses
   * an id only for byte-identical text, so this must not depend on how the file is formatted.
   */
  canonicalText: string;
  /** Full name of the top-level record, e.g. dev.fleetstream.reservation.ReservationEvent. */
  fullName: string;
}

/** An .avsc file that cannot be read, is not JSON or is not a valid Avro record schema. */
export class SchemaFileError extends Error {
  readonly retriable = false;
  readonly path: string;

  constructor(path: string, problem: string, options: { cause?: unknown } = {}) {
    super(`${path}: ${problem}`, options);
    this.name = 'SchemaFileError';
    this.path = path;
  }
}

/** Reads, parses and validates an .avsc file whose top level is a named record. */
export function readAvroSchemaFile(path: string): AvroSchemaDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new SchemaFileError(path, 'cannot be read', { cause });
  }
  return parseAvroSchemaText(path, text);
}

/** Parses and validates schema text; `path` only names it in errors. */
export function parseAvroSchemaText(path: string, text: string): AvroSchemaDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new SchemaFileError(path, `is not JSON: ${(cause as Error).message}`, { cause });
  }
  if (
    typeof json !== 'object' ||
    json === null ||
    Array.isArray(json) ||
    (json as { type?: unknown }).type !== 'record'
  ) {
    throw new SchemaFileError(path, 'top level must be an Avro record (one envelope record per subject)');
  }
  const record = json as Record<string, unknown>;
  if (typeof record.name !== 'string' || typeof record.namespace !== 'string') {
    throw new SchemaFileError(path, 'top-level record needs a name and a namespace');
  }
  try {
    parseAvroType(record);
  } catch (cause) {
    throw new SchemaFileError(path, `is not a valid Avro schema: ${(cause as Error).message}`, { cause });
  }
  return {
    path,
    json: record,
    canonicalText: JSON.stringify(record),
    fullName: record.name.includes('.') ? record.name : `${record.namespace}.${record.name}`,
  };
}
