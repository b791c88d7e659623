import { SchemaIncompatibleError } from '../workers/runtime/avro/avroErrors.ts';
import type { SchemaRegistryClient } from '../workers/runtime/avro/schemaRegistryClient.ts';
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
 * Sets the subject's level and registers its local schema. Idempotent: the same schema gets
 * the same id and no new version. An incompatible schema is refused before anything is sent,
 * with the same field-level messages as `schemas check`.
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
  return {
    subject: definition.subject,
    id,
    version: latest?.version ?? 0,
    outcome: check.status === 'unchanged' ? 'unchanged' : 'registered',
  };
}
