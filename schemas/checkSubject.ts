import {
  type CompatibilityLevel,
  directionsOf,
  isTransitive,
} from '../workers/runtime/avro/compatibilityLevel.ts';
import type { SchemaRegistryClient } from '../workers/runtime/avro/schemaRegistryClient.ts';
import { findIncompatibilities } from './avroCompatibility.ts';
import { readAvroSchemaFile } from './avroSchemaFile.ts';
import type { SubjectDefinition } from './subjects.ts';

/** The registry operations a check needs (SchemaRegistryClient provides them). */
export type CheckRegistry = Pick<
  SchemaRegistryClient,
  'listVersions' | 'schemaVersion' | 'isCompatible' | 'compatibilityLevel'
>;

/** The outcome of checking one subject's local schema against the registry. */
export interface SubjectCheck {
  subject: string;
  /** new: nothing registered yet; unchanged: identical to the latest version. */
  status: 'new' | 'unchanged' | 'compatible' | 'incompatible';
  /** The declared level the check applied. */
  level: CompatibilityLevel;
  /** Registered versions the schema was compared with. */
  comparedVersions: number[];
  /** One line per incompatibility, naming the field: "<subject>: field X.y removed without a default [...]". */
  problems: string[];
  /** Things worth knowing that do not fail the check. */
  notes: string[];
  /** The schema text that would be registered. */
  schemaText: string;
}

/**
 * Checks whether the subject's local schema may replace the registered ones at the subject's
 * declared level. The registry is asked too, but it only answers yes or no, so the
 * incompatibilities are also computed locally to name the fields; either one refusing fails
 * the check. A subject with no versions yet is always fine.
 */
export async function checkSubject(
  registry: CheckRegistry,
  definition: SubjectDefinition,
): Promise<SubjectCheck> {
  const { subject, compatibility: level } = definition;
  const document = readAvroSchemaFile(definition.schemaFile);
  const result: SubjectCheck = {
    subject,
    status: 'compatible',
    level,
    comparedVersions: [],
    problems: [],
    notes: [],
    schemaText: document.canonicalText,
  };
  const versions = await registry.listVersions(subject);
  const latestVersion = versions.at(-1);
  if (latestVersion === undefined) return { ...result, status: 'new' };

  const registeredLevel = await registry.compatibilityLevel(subject);
  if (registeredLevel !== undefined && registeredLevel !== level) {
    result.notes.push(
      `${subject}: the registry holds level ${registeredLevel}, the subject map declares ${level}; \`schemas register\` sets it`,
    );
  }

  const compared = isTransitive(level) ? versions : [latestVersion];
  const issues = new Map<string, number[]>();
  for (const version of compared) {
    const registered = await registry.schemaVersion(subject, version);
    if (registered === undefined) continue; // deleted between the listing and now
    if (version === latestVersion && registered.schema === document.canonicalText) {
      return { ...result, status: 'unchanged', comparedVersions: [version] };
    }
    result.comparedVersions.push(version);
    for (const direction of directionsOf(level)) {
      for (const issue of findIncompatibilities(JSON.parse(registered.schema), document.json, direction)) {
        issues.set(issue.message, [...(issues.get(issue.message) ?? []), version]);
      }
    }
  }
  for (const [message, against] of issues) {
    result.problems.push(`${subject}: ${message} [${describeVersions(against)}, ${level}]`);
  }

  const registryAccepts =
    level === 'NONE' ||
    (await registry.isCompatible(subject, document.canonicalText, isTransitive(level) ? 'all' : 'latest'));
  if (!registryAccepts && result.problems.length === 0) {
    result.problems.push(
      `${subject}: the registry reports the schema incompatible at level ${registeredLevel ?? level}, but no field-level difference was found locally`,
    );
  }
  result.status = result.problems.length > 0 ? 'incompatible' : 'compatible';
  return result;
}

function describeVersions(versions: readonly number[]): string {
  return versions.length === 1 ? `vs version ${versions[0]}` : `vs versions ${versions.join(', ')}`;
}
