import {
  DependencyUnavailableError,
  PermanentError,
  PoisonMessageError,
} from '../errors/processingErrors.ts';

/** Why a value could not be decoded; also the suffix of the error's `code`. */
export type AvroPoisonReason =
  /** Too short, or the first byte is not the magic byte 0. */
  | 'not-wire-format'
  /** The registry has no schema under the id in the header. */
  | 'unknown-schema-id'
  /** The id names a JSON Schema or Protobuf schema, or one that does not parse. */
  | 'not-avro-schema'
  /** The body does not decode with the writer schema (truncated, trailing bytes, bad union index…). */
  | 'body-mismatch'
  /** The writer schema cannot be read as the subject's reader schema (a different record or an incompatible change). */
  | 'incompatible-writer-schema';

/**
 * A value that no retry will decode: the engine dead-letters it at once. `reason` is stable
 * for metrics and DLQ headers; the message says precisely what was wrong.
 */
export class AvroPoisonMessageError extends PoisonMessageError {
  readonly reason: AvroPoisonReason;
  /** The schema id from the header, when the header was readable. */
  readonly schemaId: number | undefined;

  constructor(
    reason: AvroPoisonReason,
    message: string,
    options: { schemaId?: number; cause?: unknown } = {},
  ) {
    super(`undecodable Avro value (${reason}): ${message}`, {
      cause: options.cause,
      code: `AVRO_${reason.toUpperCase().replaceAll('-', '_')}`,
    });
    this.reason = reason;
    this.schemaId = options.schemaId;
  }
}

/**
 * The registry did not answer (refused, timed out, 5xx): retriable. It is a
 * DependencyUnavailableError so the engine pauses the partition instead of dead-lettering.
 */
export class SchemaRegistryUnavailableError extends DependencyUnavailableError {
  readonly url: string;

  constructor(url: string, detail: string, options: { cause?: unknown } = {}) {
    super('schema-registry', `schema registry at ${url} is unavailable: ${detail}`, options);
    this.url = url;
  }
}

/** The registry answered with an error no retry will change (4xx other than the cases below). */
export class SchemaRegistryRequestError extends PermanentError {
  readonly status: number;
  /** The registry's `error_code` (for example 42201), when its body had one. */
  readonly errorCode: number | undefined;

  constructor(request: string, status: number, errorCode: number | undefined, detail: string) {
    super(
      `schema registry refused ${request}: HTTP ${status}${errorCode ? ` (${errorCode})` : ''}: ${detail}`,
      {
        code: 'SCHEMA_REGISTRY_REQUEST',
      },
    );
    this.status = status;
    this.errorCode = errorCode;
  }
}

/** Encoding for a subject that has no registered schema: register it first (`npm run schemas -- register`). */
export class SubjectNotRegisteredError extends PermanentError {
  readonly subject: string;

  constructor(subject: string) {
    super(`subject ${subject} has no registered schema; run \`npm run schemas -- register\``, {
      code: 'SUBJECT_NOT_REGISTERED',
    });
    this.subject = subject;
  }
}

/** The registry has no schema under this id. */
export class UnknownSchemaIdError extends PermanentError {
  readonly schemaId: number;

  constructor(schemaId: number) {
    super(`schema registry has no schema with id ${schemaId}`, { code: 'UNKNOWN_SCHEMA_ID' });
    this.schemaId = schemaId;
  }
}

/** The id names a schema that is not Avro (or does not parse as Avro). */
export class NotAvroSchemaError extends PermanentError {
  readonly schemaId: number;

  constructor(schemaId: number, detail: string, options: { cause?: unknown } = {}) {
    super(`schema ${schemaId} is not a usable Avro schema: ${detail}`, {
      code: 'NOT_AVRO_SCHEMA',
      ...options,
    });
    this.schemaId = schemaId;
  }
}

/** The registry refused to register a schema because it breaks the subject's compatibility level. */
export class SchemaIncompatibleError extends PermanentError {
  readonly subject: string;

  constructor(subject: string, detail: string) {
    super(`schema for ${subject} is incompatible with its registered versions: ${detail}`, {
      code: 'SCHEMA_INCOMPATIBLE',
    });
    this.subject = subject;
  }
}

/** A value does not match the subject's writer schema: a bug in the producing code, never retriable. */
export class AvroEncodeError extends PermanentError {
  readonly subject: string;
  /** Each invalid spot as `path: value (expected type)`. */
  readonly problems: readonly string[];

  constructor(subject: string, problems: readonly string[], options: { cause?: unknown } = {}) {
    super(
      `value does not match the schema of ${subject}: ${problems.length > 0 ? problems.join('; ') : 'invalid value'}`,
      { code: 'AVRO_ENCODE', ...options },
    );
    this.subject = subject;
    this.problems = problems;
  }
}
