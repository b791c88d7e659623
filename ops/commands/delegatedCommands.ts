import { runSchemasCli } from '../../schemas/schemasCli.ts';
import { subjectDefinitions } from '../../schemas/subjects.ts';
import { runTopicsCli } from '../../topics/cli.ts';
import { SchemaRegistryClient } from '../../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../../workers/runtime/avro/schemaRegistryConfig.ts';
import type { CliIo } from '../cliSupport.ts';

/** `ops topics plan|apply …`: the topic catalog tool (topics/cli.ts), its options and exit codes unchanged. */
export function runTopicsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return runTopicsCli(argv, io);
}

/** `ops schemas check|register …`: the schema tool (schemas/schemasCli.ts), its options and exit codes unchanged. */
export async function runSchemasCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const registry = new SchemaRegistryClient(loadSchemaRegistryConfig(io.env));
  try {
    return await runSchemasCli(argv, { registry, subjects: subjectDefinitions, out: io.out, err: io.err });
  } finally {
    registry.close();
  }
}
