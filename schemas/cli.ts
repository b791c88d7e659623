import { SchemaRegistryClient } from '../workers/runtime/avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../workers/runtime/avro/schemaRegistryConfig.ts';
import { ConfigError } from '../workers/runtime/config/configError.ts';
import { exitCodes, runSchemasCli } from './schemasCli.ts';
import { subjectDefinitions } from './subjects.ts';

// `npm run schemas -- register|check [--subject S]`; the logic lives in schemasCli.ts.
async function main(): Promise<number> {
  let client: SchemaRegistryClient;
  try {
    client = new SchemaRegistryClient(loadSchemaRegistryConfig());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return exitCodes.usage;
  }
  try {
    return await runSchemasCli(process.argv.slice(2), {
      registry: client,
      subjects: subjectDefinitions,
      out: (line) => console.log(line),
      err: (line) => console.error(line),
    });
  } finally {
    client.close();
  }
}

process.exitCode = await main();
