import { readAvroSchemaFile } from '../../../schemas/avroSchemaFile.ts';
import { findSubjectDefinition } from '../../../schemas/subjects.ts';
import type { SchemaRegistryClient } from '../avro/schemaRegistryClient.ts';

/**
 * Registers the real schema (and compatibility) of `contractSubject` under `<topic>-value`, so a
 * test topic with a random name carries the contract's schema; returns that subject. Test helper.
 */
export async function registerContractSchema(
  registry: Pick<SchemaRegistryClient, 'register'>,
  topic: string,
  contractSubject: string,
): Promise<string> {
  const definition = findSubjectDefinition(contractSubject);
  if (!definition) throw new Error(`unknown subject ${contractSubject}`);
  const subject = `${topic}-value`;
  await registry.register(
    subject,
    readAvroSchemaFile(definition.schemaFile).canonicalText,
    definition.compatibility,
  );
  return subject;
}
