import type { Type as AvroType } from 'avsc';
import { NotAvroSchemaError, SubjectNotRegisteredError, UnknownSchemaIdError } from './avroErrors.ts';
import { parseAvroType, type WriterSchemaSource } from './schemaRegistryClient.ts';

/**
 * A registry in memory, for unit tests of code that encodes or decodes Avro without a
 * registry: ids are handed out like a registry does (same text, same id), and every lookup
 * is counted so tests can prove what is cached.
 */
export class InMemorySchemaSource implements WriterSchemaSource {
  /** Lookups made so far, by kind. */
  readonly calls = { latestSchemaId: 0, avroTypeById: 0 };
  /** When set, every lookup fails with this error (e.g. a SchemaRegistryUnavailableError). */
  failWith: Error | undefined;
  private readonly idsByText = new Map<string, number>();
  private readonly textById = new Map<number, string>();
  private readonly latestBySubject = new Map<string, number>();
  private readonly notAvro = new Set<number>();

  /** Registers a schema (JSON text or object) under `subject` and returns its id. */
  register(subject: string, schema: string | object): number {
    const text = typeof schema === 'string' ? schema : JSON.stringify(schema);
    let id = this.idsByText.get(text);
    if (id === undefined) {
      id = this.textById.size + 1;
      this.idsByText.set(text, id);
      this.textById.set(id, text);
    }
    this.latestBySubject.set(subject, id);
    return id;
  }

  /** Registers a non-Avro schema (as a registry holding JSON Schema or Protobuf would) and returns its id. */
  registerNonAvro(text: string): number {
    const id = this.register(`non-avro-${this.textById.size}`, text);
    this.notAvro.add(id);
    return id;
  }

  /** The id last registered under `subject`; SubjectNotRegisteredError when none. */
  async latestSchemaId(subject: string): Promise<number> {
    this.calls.latestSchemaId += 1;
    if (this.failWith) throw this.failWith;
    const id = this.latestBySubject.get(subject);
    if (id === undefined) throw new SubjectNotRegisteredError(subject);
    return id;
  }

  /** The parsed type of `schemaId`; UnknownSchemaIdError or NotAvroSchemaError like a registry. */
  async avroTypeById(schemaId: number): Promise<AvroType> {
    this.calls.avroTypeById += 1;
    if (this.failWith) throw this.failWith;
    const text = this.textById.get(schemaId);
    if (text === undefined) throw new UnknownSchemaIdError(schemaId);
    if (this.notAvro.has(schemaId)) throw new NotAvroSchemaError(schemaId, 'it is registered as JSON Schema');
    return parseAvroType(text);
  }
}
