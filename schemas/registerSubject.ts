import { SchemaIncompatibleError } from '../workers/runtime/avro/avroErrors.ts';
import type {
  RegisteredSchemaVersion,
  SchemaRegistryClient,
} from '../workers/runtime/avro/schemaRegistryClient.ts';
import { PermanentError } from '../workers/runtime/errors/processingErrors.ts';
import { type CheckRegistry, checkSubject } from './checkSubject.ts';
import type { SubjectDefinition } from './subjects.ts';

/** The registry operations a registration needs. */
export type RegisterRegistry = CheckRegistry & Pick<SchemaRegistryClient, 'register'>;

/** What registering one subject did. */
export interface SubjectRegistration {
  subject: string;
  /** The id producers write into the wire format. */
  id: number;
  /** The subject's latest version after registering. */
  version: number;
  outcome: 'registered' | 'unchanged';
}

/**
 * The local schema is byte-identical to an older version, so the registry answered that
 * version's id and created nothing: the latest version, which producers write with, did not
 * change. Not retriable: the schema text has to change.
 */
export class SchemaMatchesOlderVersionError extends PermanentError {
  readonly subject: string;

  constructor(
    subject: string,
    id: number,
    olderVersion: number | undefined,
    latest: RegisteredSchemaVersion,
  ) {
    const older =
      olderVersion === undefined ? `an older version (id ${id})` : `version ${olderVersion} (id ${id})`;
    super(
      `${subject}: the schema is identical to ${older}, so the registry created no new version; ` +
        `the latest version ${latest.version} (id ${latest.id}) is unchanged and producers keep writing it. ` +
        `A rollback needs a new text, e.g. the old schema with an edited doc, which registers as version ${latest.version + 1}.`,
      { code: 'SCHEMA_MATCHES_OLDER_VERSION' },
    );
    this.subject = subject;
  }
}

/**
 * Sets the subject's level and registers its local schema. Idempotent: the same schema gets
 * the same id and no new version. An incompatible schema is refused before anything is sent,
 * with the same field-level messages as `schemas check`. A schema identical to an older version
 * (a rollback by re-registering old text) is refused with SchemaMatchesOlderVersionError: the
 * registry returns the old id without making it the latest version.
 */
export async function registerSubject(
  registry: RegisterRegistry,
  definition: SubjectDefinition,
): Promise<SubjectRegistration> {
  const check = await checkSubject(registry, definition);
  if (check.status === 'incompatible') {
    throw new SchemaIncompatibleError(definition.subject, check.problems.join('; '));
  }
  const id = await registry.register(definition.subject, check.schemaText, definition.compatibility);
  const latest = await registry.schemaVersion(definition.subject, 'latest');
  if (latest !== undefined && latest.id !== id) {
    const olderVersion = await versionWithId(registry, definition.subject, id);
    throw new SchemaMatchesOlderVersionError(definition.subject, id, olderVersion, latest);
  }
  return {
    subject: definition.subject,
    id,
    version: latest?.version ?? 0,
    outcome: check.status === 'unchanged' ? 'unchanged' : 'registered',
  };
}

/** The subject's version registered under `id`, newest first; undefined when none is. */
async function versionWithId(
  registry: CheckRegistry,
  subject: string,
  id: number,
): Promise<number | undefined> {
  for (const version of (await registry.listVersions(subject)).reverse()) {
    if ((await registry.schemaVersion(subject, version))?.id === id) return version;
  }
  return undefined;
}
