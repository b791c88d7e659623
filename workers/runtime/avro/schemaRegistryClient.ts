import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { Type as AvroType } from 'avsc';
import avro from 'avsc';
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

// The library's error middleware wraps every failure in a ResponseError whose message is
// "<clientId> - <registry message>"; transport failures (refused, reset, timeout) come out of
// mappersmith as a fake HTTP 400 whose message is "<clientId> - Error, status 400: <cause>",
// because there is no registry body to take a message from. That is the only way to tell them
// from a real 400, and they must be retriable.
const CLIENT_ID = 'fleetstream';
const TRANSPORT_FAILURE = new RegExp(`^${CLIENT_ID} - Error, status 400: `);

interface LibraryResponseError {
  status: number;
  message: string;
}

function isLibraryResponseError(error: unknown): error is LibraryResponseError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { status?: unknown }).status === 'number' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

/**
 * The fleet's schema registry client: `@kafkajs/confluent-schema-registry` for registration,
 * latest-id lookups and schema fetches (it deduplicates concurrent fetches of one id), plus
 * plain `fetch` for the endpoints that library does not expose (config, compatibility,
 * versions, deletion). Every failure becomes a typed error: SchemaRegistryUnavailableError
 * (retriable) when the registry did not answer, a permanent error otherwise.
 *
 * Apicurio 3.0.9's ccompat API differs from Confluent's in ways handled here:
 *  - ids are content ids only when the server runs with
 *    `apicurio.ccompat.legacy-id-mode.enabled=false` (our stack does); otherwise they are
 *    global ids, still consistent within the ccompat API;
 *  - `GET /config/{subject}` of an existing subject without its own level answers the global
 *    level (Confluent: 404/40408), so the library's register(), which compares that answer with
 *    the requested level, throws on such subjects: we always PUT the subject's level first;
 *  - the PUT answers `{"compatibilityLevel": …}` (Confluent: `{"compatibility": …}`) and an
 *    unknown level is a 500 (Confluent: 422); we only send known levels and read either field;
 *  - a level PUT before the subject exists is kept, and deleting the subject does not remove
 *    it: deleteSubject() also deletes the config;
 *  - a compatibility check against a subject that does not exist answers `is_compatible: true`
 *    (Confluent: 404 40401), and `verbose=true` adds no messages: schemas/ computes its own
 *    field-level diff;
 *  - registering re-uses an id only for byte-identical text (whitespace makes a new version and
 *    a new id), and `normalize=true` also matches schemas that differ only in `doc`, so we do
 *    not use it: callers register a canonical serialization instead.
 */
export class SchemaRegistryClient implements WriterSchemaSource {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly agent: http.Agent;
  private readonly registry: SchemaRegistry;

  constructor(config: SchemaRegistryConfig) {
    this.url = config.url.replace(/\/+$/, '');
    this.timeoutMs = config.requestTimeoutMs;
    this.retries = config.retries;
    // Our own keep-alive agent, so close() can release its sockets (tests must leave no handles).
    this.agent = this.url.startsWith('https:')
      ? new https.Agent({ keepAlive: true, maxSockets: 16 })
      : new http.Agent({ keepAlive: true, maxSockets: 16 });
    const timeoutMs = this.timeoutMs;
    this.registry = new SchemaRegistry(
      {
        host: this.url,
        clientId: CLIENT_ID,
        agent: this.agent,
        // A full retry object on purpose: the library Object.assign()s it into its shared
        // module-level default, so a partial one would inherit another instance's settings.
        retry: {
          retries: config.retries,
          initialRetryTimeInSecs: 0.1,
          maxRetryTimeInSecs: 2,
          factor: 0.2,
          multiplier: 2,
        },
        // The library sets no timeout; a registry that accepts connections and never answers
        // would otherwise stall a consumer forever.
        middlewares: [
          () => ({
            prepareRequest: (next) => next().then((request) => request.enhance({ timeout: timeoutMs })),
          }),
        ],
      },
      { [SchemaType.AVRO]: { ...avroTypeOptions } },
    );
  }

  /**
   * Registers `schemaText` under `subject` at `level` (setting the level first) and returns its
   * id; the same text returns the same id. Retried when the registry fails (5xx, no answer):
   * registering is idempotent, and Apicurio 3.0.9 answers 500 (a foreign-key violation) when a
   * registration races with the permanent deletion of another subject holding the same content
   * (3.0.9 deletes orphaned content on every deletion; Apicurio issue #9571 is the same race with
   * the later scheduled cleanup).
   */
  async register(subject: string, schemaText: string, level: CompatibilityLevel): Promise<number> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.registerOnce(subject, schemaText, level);
      } catch (error) {
        if (!(error instanceof SchemaRegistryUnavailableError) || attempt >= this.retries) throw error;
        await sleep(100 * 2 ** attempt);
      }
    }
  }

  private async registerOnce(
    subject: string,
    schemaText: string,
    level: CompatibilityLevel,
  ): Promise<number> {
    await this.setCompatibilityLevel(subject, level);
    try {
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: schemaText },
        // updateConfig off: the level is already set above, for new and existing subjects alike.
        { subject, compatibility: COMPATIBILITY[level], updateConfig: false },
      );
      return id;
    } catch (error) {
      if (isLibraryResponseError(error) && error.status === 409) {
        throw new SchemaIncompatibleError(subject, stripClientId(error.message));
      }
      throw this.libraryFailure(`registering a schema under ${subject}`, error);
    }
  }

  /** The id of the subject's latest version; throws SubjectNotRegisteredError when the subject has none. */
  async latestSchemaId(subject: string): Promise<number> {
    try {
      return await this.registry.getLatestSchemaId(subject);
    } catch (error) {
      if (isLibraryResponseError(error) && error.status === 404) throw new SubjectNotRegisteredError(subject);
      throw this.libraryFailure(`the latest version of ${subject}`, error);
    }
  }

  /** The Avro type registered under `schemaId`, parsed once per id by the library and cached there. */
  async avroTypeById(schemaId: number): Promise<AvroType> {
    let schema: unknown;
    try {
      schema = await this.registry.getSchema(schemaId);
    } catch (error) {
      if (isLibraryResponseError(error) && error.status === 404) throw new UnknownSchemaIdError(schemaId);
      if (error instanceof Error && error.name === 'ConfluentSchemaRegistryArgumentError') {
        throw new NotAvroSchemaError(schemaId, error.message, { cause: error });
      }
      throw this.libraryFailure(`schema ${schemaId}`, error);
    }
    if (!avro.Type.isType(schema)) {
      throw new NotAvroSchemaError(schemaId, 'it is registered as JSON Schema or Protobuf');
    }
    return schema as AvroType;
  }

  /** The subject's version numbers, oldest first; empty when the subject does not exist. */
  async listVersions(subject: string): Promise<number[]> {
    const { status, body } = await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
    if (status === 404) return [];
    if (status !== 200 || !Array.isArray(body))
      throw requestError(`the versions of ${subject}`, status, body);
    return body.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  }

  /** One registered version (number or 'latest'); undefined when the subject or version does not exist. */
  async schemaVersion(
    subject: string,
    version: number | 'latest',
  ): Promise<RegisteredSchemaVersion | undefined> {
    const { status, body } = await this.call(
      'GET',
      `/subjects/${encodeURIComponent(subject)}/versions/${encodeURIComponent(String(version))}`,
    );
    if (status === 404) return undefined;
    const entry = body as Partial<RegisteredSchemaVersion> | null;
    if (status !== 200 || typeof entry?.id !== 'number' || typeof entry.schema !== 'string') {
      throw requestError(`version ${version} of ${subject}`, status, body);
    }
    return { subject, version: Number(entry.version), id: entry.id, schema: entry.schema };
  }

  /** The level the registry applies to the subject (its own, else the global one); undefined when the subject is unknown. */
  async compatibilityLevel(subject: string): Promise<CompatibilityLevel | undefined> {
    const { status, body } = await this.call('GET', `/config/${encodeURIComponent(subject)}`);
    if (status === 404) return undefined;
    const level = readLevel(body);
    if (status !== 200 || level === undefined) throw requestError(`the level of ${subject}`, status, body);
    return level;
  }

  /** Sets the subject's compatibility level (works before the subject has any version). */
  async setCompatibilityLevel(subject: string, level: CompatibilityLevel): Promise<void> {
    const { status, body } = await this.call('PUT', `/config/${encodeURIComponent(subject)}`, {
      compatibility: level,
    });
    if (status !== 200) throw requestError(`setting the level of ${subject} to ${level}`, status, body);
  }

  /**
   * Asks the registry whether `schemaText` may be registered under `subject`, at the level the
   * registry holds for it, against the latest version or against every version. A subject
   * without versions is compatible.
   */
  async isCompatible(subject: string, schemaText: string, against: 'latest' | 'all'): Promise<boolean> {
    const path = `/compatibility/subjects/${encodeURIComponent(subject)}/versions${against === 'latest' ? '/latest' : ''}`;
    const { status, body } = await this.call('POST', path, { schema: schemaText });
    if (status === 404) return true;
    const verdict = (body as { is_compatible?: unknown } | null)?.is_compatible;
    if (status !== 200 || typeof verdict !== 'boolean') {
      throw requestError(`a compatibility check for ${subject}`, status, body);
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
    const path = `/subjects/${encodeURIComponent(subject)}`;
    for (const suffix of options.permanent === false ? [''] : ['', '?permanent=true']) {
      const { status, body } = await this.call('DELETE', path + suffix);
      if (status !== 200 && status !== 404) throw requestError(`deleting ${subject}`, status, body);
    }
    const { status, body } = await this.call('DELETE', `/config/${encodeURIComponent(subject)}`);
    if (status !== 200 && status !== 404)
      throw requestError(`deleting the level of ${subject}`, status, body);
  }

  /** Releases the client's sockets; calls after close() open new ones. */
  close(): void {
    this.agent.destroy();
  }

  private async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await fetch(this.url + path, {
        method,
        headers: { accept: 'application/json', 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new SchemaRegistryUnavailableError(
        this.url,
        `${method} ${path}: ${describeFetchFailure(error)}`,
        {
          cause: error,
        },
      );
    }
    const text = await response.text();
    if (response.status >= 500 || response.status === 408 || response.status === 429) {
      throw new SchemaRegistryUnavailableError(
        this.url,
        `${method} ${path}: HTTP ${response.status} ${text}`,
      );
    }
    return { status: response.status, body: parseJson(text) };
  }

  private libraryFailure(request: string, error: unknown): Error {
    if (!isLibraryResponseError(error)) {
      return error instanceof Error ? error : new Error(`${request} failed: ${String(error)}`);
    }
    const detail = stripClientId(error.message);
    if (
      error.status >= 500 ||
      error.status === 408 ||
      error.status === 429 ||
      TRANSPORT_FAILURE.test(error.message)
    ) {
      return new SchemaRegistryUnavailableError(this.url, `${request}: ${detail}`, { cause: error });
    }
    return new SchemaRegistryRequestError(request, error.status, undefined, detail);
  }
}

function stripClientId(message: string): string {
  return message.startsWith(`${CLIENT_ID} - `) ? message.slice(CLIENT_ID.length + 3) : message;
}

function readLevel(body: unknown): CompatibilityLevel | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  // Apicurio answers `compatibilityLevel`, Confluent's PUT answers `compatibility`.
  const record = body as { compatibilityLevel?: unknown; compatibility?: unknown };
  const level = record.compatibilityLevel ?? record.compatibility;
  return isCompatibilityLevel(level) ? level : undefined;
}

function requestError(request: string, status: number, body: unknown): SchemaRegistryRequestError {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const errorCode = typeof record.error_code === 'number' ? record.error_code : undefined;
  const message = typeof record.message === 'string' ? record.message : JSON.stringify(body);
  return new SchemaRegistryRequestError(request, status, errorCode, message);
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describeFetchFailure(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer within the request timeout';
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
