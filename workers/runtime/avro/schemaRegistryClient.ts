import { setTimeout as sleep } from 'node:timers/promises';
import type { Type as AvroType } from 'avsc';
import avro from 'avsc';
import { ConfigError } from '../config/configError.ts';
import {
  NotAvroSchemaError,
  SchemaIncompatibleError,
  SchemaRegistryRequestError,
  SchemaRegistryUnavailableError,
  SubjectNotRegisteredError,
  UnknownSchemaIdError,
} from './avroErrors.ts';
import { type CompatibilityLevel, isCompatibilityLevel } from './compatibilityLevel.ts';
import type { SchemaRegistryConfig } from './schemaRegistryConfig.ts';

/** One registered version of a subject. */
export interface RegisteredSchemaVersion {
  subject: string;
  version: number;
  /** The id that goes into the wire format. */
  id: number;
  /** The schema text exactly as registered. */
  schema: string;
}

/** What the serde needs from a registry: the id to write with, and the schema behind any id. */
export interface WriterSchemaSource {
  /** The id of the subject's latest version; throws SubjectNotRegisteredError. */
  latestSchemaId(subject: string): Promise<number>;
  /** The parsed Avro type registered under `schemaId`; throws UnknownSchemaIdError or NotAvroSchemaError. */
  avroTypeById(schemaId: number): Promise<AvroType>;
}

/**
 * How every Avro type in the fleet is built, so that a value looks the same whichever
 * schema decoded it: `timestamp-millis` stays a number of epoch milliseconds and `uuid` a
 * string (no logical-type classes: no allocation per value on the hot path, and the
 * generated TypeScript types say `number`/`string`); unions of records are wrapped
 * (`{ "dev.fleetstream.x.Event": {...} }`) because the branch cannot be told apart
 * otherwise; `["null", T]` stays `T | null`.
 */
export const avroTypeOptions = Object.freeze({ wrapUnions: 'auto' as const, omitRecordMethods: true });

/** Parses an Avro schema (text or JSON) with the fleet's type options. */
export function parseAvroType(schema: string | object): AvroType {
  // A fresh options object per call: avsc stores its registry of named types in it.
  return avro.Type.forSchema(typeof schema === 'string' ? JSON.parse(schema) : schema, {
    ...avroTypeOptions,
  });
}

// Registry error codes (Confluent's, which Apicurio's ccompat API uses too). A 404 means "no
// such subject/version/schema" only with one of these in its body: a 404 without one comes from
// something else at that URL (a wrong base path answers RESTEasy's 404, a proxy an HTML page),
// and reading it as "unknown schema id" would dead-letter every valid message.
const SUBJECT_NOT_FOUND = 40401;
const VERSION_NOT_FOUND = 40402;
const SCHEMA_NOT_FOUND = 40403;
/** Answered when a soft-deleted subject is soft-deleted again. */
const SUBJECT_SOFT_DELETED = 40404;
/** Confluent's "the subject has no level of its own" (Apicurio answers the global level instead). */
const SUBJECT_LEVEL_NOT_FOUND = 40408;

/** Where the registry's Confluent-compatible API lives on Apicurio, for error messages. */
const CCOMPAT_PATH = '/apis/ccompat/v7';

/** One answer of the registry: status, parsed body, and the `error_code` of an error body. */
interface RegistryAnswer {
  status: number;
  body: unknown;
  errorCode: number | undefined;
}

/** Whether the request only reads (a refusal is then retriable) or changes the registry. */
type RequestKind = 'read' | 'write';

/**
 * The fleet's schema registry client, on plain `fetch` with a per-request timeout and its own
 * bounded retry (each instance's `retries`; no state shared between instances). Every failure
 * becomes a typed error:
 *  - SchemaRegistryUnavailableError (retriable: a consumer pauses the partition, nothing is
 *    dead-lettered) when the registry did not answer, answered 5xx/408/429, answered a 404
 *    without a registry error code (a wrong SCHEMA_REGISTRY_URL or a proxy), or refused a read
 *    (401, 403, any 4xx other than the not-found answer the read expects: an expired token or an
 *    auth proxy must not turn valid messages into dead letters);
 *  - UnknownSchemaIdError / SubjectNotRegisteredError only for the registry's own not-found
 *    codes (40403, 40401/40402);
 *  - SchemaRegistryRequestError (permanent) when the registry refused a change (register, set a
 *    level, delete) for a reason no retry will fix, SchemaIncompatibleError for a 409.
 * `@kafkajs/confluent-schema-registry` is not used: it drops the error code of an answer, which
 * the classification above needs, and it merges its retry settings into a module-level default
 * shared by every instance in the process.
 *
 * Apicurio 3.0.9's ccompat API differs from Confluent's in ways handled here:
 *  - ids are content ids only when the server runs with
 *    `apicurio.ccompat.legacy-id-mode.enabled=false` (our stack does); otherwise they are
 *    global ids, still consistent within the ccompat API;
 *  - `GET /config/{subject}` of an existing subject without its own level answers the global
 *    level (Confluent: 404/40408): register() always PUTs the subject's level first;
 *  - the PUT answers `{"compatibilityLevel": …}` (Confluent: `{"compatibility": …}`) and an
 *    unknown level is a 500 (Confluent: 422); we only send known levels and read either field;
 *  - a level PUT before the subject exists is kept, and deleting the subject does not remove
 *    it: deleteSubject() also deletes the config;
 *  - a compatibility check against a subject that does not exist answers `is_compatible: true`
 *    (Confluent: 404 40401), and `verbose=true` adds no messages: schemas/ computes its own
 *    field-level diff;
 *  - registering re-uses an id only for byte-identical text (whitespace makes a new version and
 *    a new id), and `normalize=true` also matches schemas that differ only in `doc`, so we do
 *    not use it: callers register a canonical serialization instead;
 *  - registering the exact text of an older version returns that version's id and creates no
 *    version: the latest version stays what it was (schemas/registerSubject.ts refuses that).
 */
export class SchemaRegistryClient implements WriterSchemaSource {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  /** Aborted by close(), so that no request outlives the client. */
  private closing = new AbortController();

  constructor(config: SchemaRegistryConfig) {
    this.url = config.url.replace(/\/+$/, '');
    this.timeoutMs = config.requestTimeoutMs;
    this.retries = config.retries;
  }

  /**
   * Checks that the URL serves a registry's Confluent-compatible API (GET /config); throws a
   * ConfigError naming SCHEMA_REGISTRY_URL when something else answers there (a wrong base path,
   * a web page), SchemaRegistryUnavailableError when the registry does not answer or refuses.
   */
  async verifyApi(): Promise<void> {
    const answer = await this.call('GET', '/config');
    if (answer.status === 200 && readLevel(answer.body) !== undefined) return;
    if (answer.status === 200 || isForeignNotFound(answer)) {
      throw new ConfigError([
        {
          variable: 'SCHEMA_REGISTRY_URL',
          value: this.url,
          expected: `the base URL of the registry's Confluent-compatible API (Apicurio: http://<host>:8081${CCOMPAT_PATH}); GET ${this.url}/config answered ${describeAnswer(answer)}`,
        },
      ]);
    }
    throw this.failure('the global compatibility level', answer, 'read');
  }

  /**
   * Registers `schemaText` under `subject` at `level` (setting the level first) and returns its
   * id; the same text returns the same id. Registering is idempotent, so it is retried like a
   * read when the registry fails: Apicurio 3.0.9 answers 500 (a foreign-key violation) when a
   * registration races with the permanent deletion of another subject holding the same content
   * (3.0.9 deletes orphaned content on every deletion; Apicurio issue #9571 is the same race
   * with the later scheduled cleanup).
   */
  async register(subject: string, schemaText: string, level: CompatibilityLevel): Promise<number> {
    await this.setCompatibilityLevel(subject, level);
    const request = `registering a schema under ${subject}`;
    const answer = await this.call('POST', `${subjectPath(subject)}/versions`, { schema: schemaText });
    const id = (answer.body as { id?: unknown } | null)?.id;
    if (answer.status === 200 && typeof id === 'number') return id;
    if (answer.status === 409) throw new SchemaIncompatibleError(subject, messageOf(answer.body));
    throw this.failure(request, answer, 'write');
  }

  /** The id of the subject's latest version; throws SubjectNotRegisteredError when the subject has none. */
  async latestSchemaId(subject: string): Promise<number> {
    const answer = await this.call('GET', `${subjectPath(subject)}/versions/latest`);
    if (isNotFound(answer, SUBJECT_NOT_FOUND, VERSION_NOT_FOUND))
      throw new SubjectNotRegisteredError(subject);
    const id = (answer.body as { id?: unknown } | null)?.id;
    if (answer.status === 200 && typeof id === 'number') return id;
    throw this.failure(`the latest version of ${subject}`, answer, 'read');
  }

  /** The Avro type registered under `schemaId`, parsed with the fleet's options (AvroSerde caches it). */
  async avroTypeById(schemaId: number): Promise<AvroType> {
    const answer = await this.call('GET', `/schemas/ids/${schemaId}`);
    if (isNotFound(answer, SCHEMA_NOT_FOUND)) throw new UnknownSchemaIdError(schemaId);
    const entry = answer.body as { schema?: unknown; schemaType?: unknown } | null;
    if (answer.status !== 200 || typeof entry?.schema !== 'string') {
      throw this.failure(`schema ${schemaId}`, answer, 'read');
    }
    // Confluent's API omits schemaType for Avro.
    if (entry.schemaType !== undefined && entry.schemaType !== 'AVRO') {
      throw new NotAvroSchemaError(schemaId, `it is registered as ${String(entry.schemaType)}`);
    }
    try {
      return parseAvroType(entry.schema);
    } catch (error) {
      throw new NotAvroSchemaError(schemaId, (error as Error).message, { cause: error });
    }
  }

  /** The subject's version numbers, oldest first; empty when the subject does not exist. */
  async listVersions(subject: string): Promise<number[]> {
    const answer = await this.call('GET', `${subjectPath(subject)}/versions`);
    if (isNotFound(answer, SUBJECT_NOT_FOUND)) return [];
    if (answer.status !== 200 || !Array.isArray(answer.body)) {
      throw this.failure(`the versions of ${subject}`, answer, 'read');
    }
    return answer.body.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  }

  /** One registered version (number or 'latest'); undefined when the subject or version does not exist. */
  async schemaVersion(
    subject: string,
    version: number | 'latest',
  ): Promise<RegisteredSchemaVersion | undefined> {
    const answer = await this.call(
      'GET',
      `${subjectPath(subject)}/versions/${encodeURIComponent(String(version))}`,
    );
    if (isNotFound(answer, SUBJECT_NOT_FOUND, VERSION_NOT_FOUND)) return undefined;
    const entry = answer.body as Partial<RegisteredSchemaVersion> | null;
    if (answer.status !== 200 || typeof entry?.id !== 'number' || typeof entry.schema !== 'string') {
      throw this.failure(`version ${version} of ${subject}`, answer, 'read');
    }
    return { subject, version: Number(entry.version), id: entry.id, schema: entry.schema };
  }

  /** The level the registry applies to the subject (its own, else the global one); undefined when the subject is unknown. */
  async compatibilityLevel(subject: string): Promise<CompatibilityLevel | undefined> {
    const answer = await this.call('GET', `/config/${encodeURIComponent(subject)}`);
    if (isNotFound(answer, SUBJECT_NOT_FOUND, SUBJECT_LEVEL_NOT_FOUND)) return undefined;
    const level = readLevel(answer.body);
    if (answer.status !== 200 || level === undefined) {
      throw this.failure(`the level of ${subject}`, answer, 'read');
    }
    return level;
  }

  /** Sets the subject's compatibility level (works before the subject has any version). */
  async setCompatibilityLevel(subject: string, level: CompatibilityLevel): Promise<void> {
    const answer = await this.call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
    if (answer.status !== 200) {
      throw this.failure(`setting the level of ${subject} to ${level}`, answer, 'write');
    }
  }

  /**
   * Asks the registry whether `schemaText` may be registered under `subject`, at the level the
   * registry holds for it, against the latest version or against every version. A subject
   * without versions is compatible.
   */
  async isCompatible(subject: string, schemaText: string, against: 'latest' | 'all'): Promise<boolean> {
    const path = `/compatibility${subjectPath(subject)}/versions${against === 'latest' ? '/latest' : ''}`;
    const answer = await this.call('POST', path, { schema: schemaText });
    if (isNotFound(answer, SUBJECT_NOT_FOUND, VERSION_NOT_FOUND)) return true;
    const verdict = (answer.body as { is_compatible?: unknown } | null)?.is_compatible;
    if (answer.status !== 200 || typeof verdict !== 'boolean') {
      throw this.failure(`a compatibility check for ${subject}`, answer, 'read');
    }
    return verdict;
  }

  /**
   * Deletes the subject and the level set for it; a subject that does not exist is fine.
   * `permanent: false` stops at the soft delete (the subject disappears from the API but stays
   * in storage): Apicurio 3.0.9 can leave a subject that is being created at the same moment
   * without its artifact (versions listed, `versions/latest` 404 for good) when another subject
   * is deleted permanently, so tests that share a registry soft-delete.
   */
  async deleteSubject(subject: string, options: { permanent?: boolean } = {}): Promise<void> {
    for (const suffix of options.permanent === false ? [''] : ['', '?permanent=true']) {
      const answer = await this.call('DELETE', subjectPath(subject) + suffix);
      if (answer.status !== 200 && !isNotFound(answer, SUBJECT_NOT_FOUND, SUBJECT_SOFT_DELETED)) {
        throw this.failure(`deleting ${subject}`, answer, 'write');
      }
    }
    const answer = await this.call('DELETE', `/config/${encodeURIComponent(subject)}`);
    if (answer.status !== 200 && !isNotFound(answer, SUBJECT_NOT_FOUND, SUBJECT_LEVEL_NOT_FOUND)) {
      throw this.failure(`deleting the level of ${subject}`, answer, 'write');
    }
  }

  /** Aborts the requests in flight (a stopping process must not wait for a hung registry); later calls work again. */
  close(): void {
    this.closing.abort();
    this.closing = new AbortController();
  }

  /**
   * One request, retried `retries` times with exponential backoff while the registry gives no
   * usable answer (refused, reset, timed out, 5xx, 408, 429). Every request we send is
   * idempotent (reads, compatibility checks, level PUTs, registrations of the same text,
   * deletions that accept 404), so a retry never does anything twice.
   */
  private async call(method: string, path: string, body?: unknown): Promise<RegistryAnswer> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.callOnce(method, path, body);
      } catch (error) {
        if (!(error instanceof SchemaRegistryUnavailableError) || attempt >= this.retries) throw error;
        await sleep(Math.min(100 * 2 ** attempt, 2000));
      }
    }
  }

  private async callOnce(method: string, path: string, body?: unknown): Promise<RegistryAnswer> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url + path, {
        method,
        headers: { accept: 'application/json', 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.closing.signal]),
      });
      text = await response.text();
    } catch (error) {
      throw new SchemaRegistryUnavailableError(
        this.url,
        `${method} ${path}: ${describeFetchFailure(error)}`,
        {
          cause: error,
        },
      );
    }
    const answer = toAnswer(response.status, text);
    if (response.status >= 500 || response.status === 408 || response.status === 429) {
      throw new SchemaRegistryUnavailableError(this.url, `${method} ${path}: ${describeAnswer(answer)}`);
    }
    return answer;
  }

  /**
   * The error for an answer the caller cannot use. A refused read is retriable (the registry or
   * a proxy in front of it is misbehaving, the message is fine); a refused change is permanent,
   * except a 404 that is not the registry's own, which means the URL is wrong.
   */
  private failure(request: string, answer: RegistryAnswer, kind: RequestKind): Error {
    if (kind === 'read' || isForeignNotFound(answer)) {
      const hint = isForeignNotFound(answer)
        ? ` (not a registry answer: does SCHEMA_REGISTRY_URL end with the API base path, e.g. ${CCOMPAT_PATH}?)`
        : '';
      return new SchemaRegistryUnavailableError(this.url, `${request}: ${describeAnswer(answer)}${hint}`);
    }
    return new SchemaRegistryRequestError(request, answer.status, answer.errorCode, messageOf(answer.body));
  }
}

function subjectPath(subject: string): string {
  return `/subjects/${encodeURIComponent(subject)}`;
}

/** Whether the answer is the registry's own 404 with one of `codes`. */
function isNotFound(answer: RegistryAnswer, ...codes: number[]): boolean {
  return answer.status === 404 && answer.errorCode !== undefined && codes.includes(answer.errorCode);
}

/** A 404 without a registry's 404xx error code: a wrong base path, a proxy, another server. */
function isForeignNotFound(answer: RegistryAnswer): boolean {
  const code = answer.errorCode;
  return answer.status === 404 && (code === undefined || code < 40400 || code > 40499);
}

function toAnswer(status: number, text: string): RegistryAnswer {
  const body = parseJson(text);
  const code =
    typeof body === 'object' && body !== null ? (body as { error_code?: unknown }).error_code : undefined;
  return { status, body, errorCode: typeof code === 'number' ? code : undefined };
}

/** "HTTP 403 (40301): token expired", with a non-JSON body cut short (an HTML error page). */
function describeAnswer(answer: RegistryAnswer): string {
  const code = answer.errorCode === undefined ? '' : ` (${answer.errorCode})`;
  const message = messageOf(answer.body);
  return `HTTP ${answer.status}${code}${message === '' ? '' : `: ${message.slice(0, 200)}`}`;
}

function messageOf(body: unknown): string {
  if (typeof body === 'string') return body;
  const message =
    typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
  if (typeof message === 'string') return message;
  return body === null ? '' : JSON.stringify(body);
}

function readLevel(body: unknown): CompatibilityLevel | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  // Apicurio answers `compatibilityLevel`, Confluent's PUT answers `compatibility`.
  const record = body as { compatibilityLevel?: unknown; compatibility?: unknown };
  const level = record.compatibilityLevel ?? record.compatibility;
  return isCompatibilityLevel(level) ? level : undefined;
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON (an HTML error page from a proxy): kept as text for the error message.
    return text;
  }
}

function describeFetchFailure(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer within the request timeout';
  if (error instanceof Error && error.name === 'AbortError') return 'aborted: the client was closed';
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
