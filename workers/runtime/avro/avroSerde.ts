import type { Type as AvroType, Resolver } from 'avsc';
import {
  AvroEncodeError,
  AvroPoisonMessageError,
  NotAvroSchemaError,
  UnknownSchemaIdError,
} from './avroErrors.ts';
import type { WriterSchemaSource } from './schemaRegistryClient.ts';
import { readWireSchemaId, WIRE_HEADER_SIZE, writeWireHeader } from './wireFormat.ts';

/** A value, or a promise of it: awaiting either works; the plain value saves a promise on the hot path. */
export type MaybePromise<T> = T | Promise<T>;

export interface AvroSerdeOptions {
  /** Where ids and schemas come from (the SchemaRegistryClient, or a fake in unit tests). */
  source: WriterSchemaSource;
  /**
   * The schema each subject's consumers were built against. decodeAs() reads any writer
   * version through it, so a handler always sees the fields of its own TypeScript type.
   */
  readerTypes?: ReadonlyMap<string, AvroType>;
  /** How long an id the registry does not know stays known as unknown, so a flood of garbage does not flood the registry. Default 30 s. */
  unknownIdTtlMs?: number;
  /** Clock for the unknown-id cache (tests inject one). */
  now?: () => number;
}

interface WriterSchema {
  id: number;
  type: AvroType;
}

interface UnknownId {
  error: AvroPoisonMessageError;
  expiresAt: number;
}

/** The writer type decodes the body as it is; a Resolver maps it onto the reader type. */
type ReadPlan = { reader: AvroType; resolver: Resolver | undefined } | { poison: AvroPoisonMessageError };

const MAX_UNKNOWN_IDS = 10_000;

/**
 * Avro values in the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro
 * binary). Encoding writes with the latest id registered for the subject, looked up once and
 * cached; decoding reads any id, fetching and parsing each schema once. Everything after the
 * first message of an id is synchronous: no registry call, no schema parse, no promise.
 *
 * Decoding failures are AvroPoisonMessageError (never retriable, with a precise reason); a
 * registry that does not answer is SchemaRegistryUnavailableError (retriable).
 */
export class AvroSerde<Values extends object = Record<string, unknown>> {
  private readonly source: WriterSchemaSource;
  private readonly readerTypes: ReadonlyMap<string, AvroType>;
  private readonly unknownIdTtlMs: number;
  private readonly now: () => number;
  private readonly typesById = new Map<number, AvroType>();
  private readonly pendingTypes = new Map<number, Promise<AvroType>>();
  private readonly unknownIds = new Map<number, UnknownId>();
  private readonly writers = new Map<string, WriterSchema>();
  private readonly pendingWriters = new Map<string, Promise<WriterSchema>>();
  private readonly readPlans = new Map<string, Map<number, ReadPlan>>();
  // Encoding goes through one growing scratch buffer, then a single exact-size copy.
  private scratch = Buffer.allocUnsafe(8 * 1024);

  constructor(options: AvroSerdeOptions) {
    this.source = options.source;
    this.readerTypes = options.readerTypes ?? new Map();
    this.unknownIdTtlMs = options.unknownIdTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** Encodes `value` for `subject` with the subject's latest registered schema; throws AvroEncodeError naming each invalid field. */
  async encode<S extends keyof Values & string>(subject: S, value: Values[S]): Promise<Buffer> {
    const writer = this.writers.get(subject) ?? (await this.loadWriter(subject));
    return this.encodeWith(subject, writer, value);
  }

  /** The id encode() writes for `subject` (looked up once). */
  async writerSchemaId(subject: keyof Values & string): Promise<number> {
    return (this.writers.get(subject) ?? (await this.loadWriter(subject))).id;
  }

  /**
   * Decodes any wire-format value with the schema its id names, as that schema shaped it.
   * Returns the value itself once the id is cached; failures always come as a rejected promise.
   */
  decode(message: Buffer): MaybePromise<unknown> {
    try {
      const schemaId = readWireSchemaId(message);
      const writer = this.typesById.get(schemaId);
      if (writer !== undefined) return readBody(message, schemaId, writer, undefined);
      return this.writerType(schemaId).then((type) => readBody(message, schemaId, type, undefined));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Decodes a value of `subject`, reading whatever version wrote it as the subject's reader type
   * (schema resolution: new fields get their defaults, removed ones are skipped). A writer
   * schema the reader cannot read (another record, an incompatible change) is poison.
   */
  decodeAs<S extends keyof Values & string>(subject: S, message: Buffer): MaybePromise<Values[S]> {
    try {
      const reader = this.readerTypes.get(subject);
      if (reader === undefined) throw new Error(`no reader type for subject ${subject}`);
      const schemaId = readWireSchemaId(message);
      const plan = this.readPlans.get(subject)?.get(schemaId);
      if (plan !== undefined) return readWithPlan(message, schemaId, plan) as Values[S];
      return this.writerType(schemaId).then(
        (writer) =>
          readWithPlan(message, schemaId, this.planRead(subject, reader, schemaId, writer)) as Values[S],
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Whether decodeAs() can be used for `subject`. */
  hasReaderType(subject: string): boolean {
    return this.readerTypes.has(subject);
  }

  private encodeWith(subject: string, writer: WriterSchema, value: unknown): Buffer {
    let end: number;
    try {
      end = writer.type.encode(value, this.scratch, WIRE_HEADER_SIZE);
      while (end < 0) {
        // encode() returns minus the number of missing bytes when the buffer is too small.
        this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.scratch.length - end));
        end = writer.type.encode(value, this.scratch, WIRE_HEADER_SIZE);
      }
    } catch (cause) {
      throw new AvroEncodeError(subject, invalidSpots(writer.type, value), { cause });
    }
    const message = Buffer.allocUnsafe(end);
    this.scratch.copy(message, 0, 0, end);
    writeWireHeader(message, writer.id);
    return message;
  }

  private loadWriter(subject: string): Promise<WriterSchema> {
    let pending = this.pendingWriters.get(subject);
    if (pending === undefined) {
      pending = (async () => {
        const id = await this.source.latestSchemaId(subject);
        const type = this.typesById.get(id) ?? (await this.fetchType(id));
        const writer = { id, type };
        this.writers.set(subject, writer);
        return writer;
      })().finally(() => this.pendingWriters.delete(subject));
      this.pendingWriters.set(subject, pending);
    }
    return pending;
  }

  /** The writer type of an id, mapping "no such schema" to poison (remembered for a while). */
  private writerType(schemaId: number): Promise<AvroType> {
    const unknown = this.unknownIds.get(schemaId);
    if (unknown !== undefined) {
      if (unknown.expiresAt > this.now()) return Promise.reject(unknown.error);
      this.unknownIds.delete(schemaId);
    }
    return this.fetchType(schemaId).catch((error: unknown) => {
      const poison = poisonForLookup(schemaId, error);
      if (poison === undefined) throw error;
      if (this.unknownIds.size >= MAX_UNKNOWN_IDS) {
        // Drop the oldest entry (Map keeps insertion order) so the cache stays bounded.
        this.unknownIds.delete(this.unknownIds.keys().next().value as number);
      }
      this.unknownIds.set(schemaId, { error: poison, expiresAt: this.now() + this.unknownIdTtlMs });
      throw poison;
    });
  }

  private fetchType(schemaId: number): Promise<AvroType> {
    let pending = this.pendingTypes.get(schemaId);
    if (pending === undefined) {
      pending = this.source
        .avroTypeById(schemaId)
        .then((type) => {
          this.typesById.set(schemaId, type);
          return type;
        })
        .finally(() => this.pendingTypes.delete(schemaId));
      this.pendingTypes.set(schemaId, pending);
    }
    return pending;
  }

  private planRead(subject: string, reader: AvroType, schemaId: number, writer: AvroType): ReadPlan {
    let plans = this.readPlans.get(subject);
    if (plans === undefined) {
      plans = new Map();
      this.readPlans.set(subject, plans);
    }
    let plan: ReadPlan;
    if (writer.equals(reader)) {
      // Same canonical form: the bytes decode directly with the reader type, no resolver needed.
      plan = { reader, resolver: undefined };
    } else {
      try {
        plan = { reader, resolver: reader.createResolver(writer) };
      } catch (cause) {
        plan = {
          poison: new AvroPoisonMessageError(
            'incompatible-writer-schema',
            `schema ${schemaId} (${writer.name ?? writer.typeName}) cannot be read as ${subject}'s ${reader.name ?? reader.typeName}: ${errorMessage(cause)}`,
            { schemaId, cause },
          ),
        };
      }
    }
    plans.set(schemaId, plan);
    return plan;
  }
}

function readWithPlan(message: Buffer, schemaId: number, plan: ReadPlan): unknown {
  if ('poison' in plan) throw plan.poison;
  return readBody(message, schemaId, plan.reader, plan.resolver);
}

function readBody(
  message: Buffer,
  schemaId: number,
  type: AvroType,
  resolver: Resolver | undefined,
): unknown {
  const body = message.subarray(WIRE_HEADER_SIZE);
  try {
    return type.fromBuffer(body, resolver);
  } catch (cause) {
    throw new AvroPoisonMessageError(
      'body-mismatch',
      `${body.length}-byte body does not decode with schema ${schemaId} (${type.name ?? type.typeName}): ${errorMessage(cause)}`,
      { schemaId, cause },
    );
  }
}

function poisonForLookup(schemaId: number, error: unknown): AvroPoisonMessageError | undefined {
  if (error instanceof UnknownSchemaIdError) {
    return new AvroPoisonMessageError('unknown-schema-id', `the registry has no schema with id ${schemaId}`, {
      schemaId,
      cause: error,
    });
  }
  if (error instanceof NotAvroSchemaError) {
    return new AvroPoisonMessageError('not-avro-schema', error.message, { schemaId, cause: error });
  }
  return undefined;
}

/** Each invalid spot of `value` as "path: expected type, got description" (values are not echoed: they may be personal data). */
function invalidSpots(type: AvroType, value: unknown): string[] {
  const spots: string[] = [];
  try {
    type.isValid(value, {
      errorHook: (path: string[], invalid: unknown, expected: AvroType) => {
        spots.push(
          `${path.length > 0 ? path.join('.') : '(value)'}: expected ${expected.name ?? expected.typeName}, got ${describeValue(invalid)}`,
        );
      },
    });
  } catch {
    // isValid itself can throw on exotic inputs; the caller still reports the encode failure.
  }
  return spots;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isFinite(value) ? `number ${value}` : String(value);
  if (typeof value === 'string') return `a string of ${value.length} character(s)`;
  if (value instanceof Date) return 'a Date (timestamps are epoch milliseconds)';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
