import type { Type as AvroType } from 'avsc';
import { parseAvroType } from '../workers/runtime/avro/schemaRegistryClient.ts';
import { readAvroSchemaFile } from './avroSchemaFile.ts';
import { type SubjectDefinition, subjectDefinitions } from './subjects.ts';

/**
 * The local schema of each subject as an Avro type, for AvroSerde's `readerTypes`: consumers
 * then read every registered version as the schema their generated types were built from.
 */
export function loadReaderTypes(
  definitions: readonly SubjectDefinition[] = subjectDefinitions,
): ReadonlyMap<string, AvroType> {
  return new Map(
    definitions.map((definition) => [
      definition.subject,
      parseAvroType(readAvroSchemaFile(definition.schemaFile).json),
    ]),
  );
}
