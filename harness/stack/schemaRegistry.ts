import path from 'node:path';
import { ensureApicurioDistribution } from './distributions.ts';
import { probeRegistry } from './healthProbes.ts';
import { ManagedProcessService } from './managedJvmService.ts';
import { type StackConfig, stackPaths } from './stackConfig.ts';

/** Apicurio Registry 3.x with in-memory storage, serving the Confluent-compatible API at /apis/ccompat/v7. */
export function schemaRegistryService(
  config: StackConfig,
  log: (line: string) => void,
): ManagedProcessService {
  const paths = stackPaths(config.stackDir);
  const url = new URL(config.endpoints.schemaRegistryUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  let runner = '';

  return new ManagedProcessService({
    name: 'schema-registry',
    endpoint: config.endpoints.schemaRegistryUrl,
    runDir: paths.run,
    logDir: paths.logs,
    startTimeoutMs: config.startTimeoutMs,
    probe: () => probeRegistry(config.endpoints.schemaRegistryUrl),
    prepare: async () => {
      runner = await ensureApicurioDistribution(paths.dist, config.apicurioVersion, log);
    },
    command: () => ({
      command: 'java',
      args: [
        '-Xms128m',
        `-Xmx${config.registryHeap}`,
        '-XX:+UseSerialGC',
        `-Dquarkus.http.host=${url.hostname}`,
        `-Dquarkus.http.port=${port}`,
        // Confluent serdes embed the id the ccompat API returns; make it the content id, as Confluent does.
        '-Dapicurio.ccompat.legacy-id-mode.enabled=false',
        '-Dapicurio.rest.deletion.artifact.enabled=true',
        '-Dapicurio.rest.deletion.artifact-version.enabled=true',
        '-Dapicurio.rest.deletion.group.enabled=true',
        '-Dquarkus.log.console.json=false',
        `-Dfleetstream.stack=${config.stackDir}`,
        '-Dfleetstream.service=schema-registry',
        '-jar',
        runner,
      ],
      cwd: path.dirname(runner),
      marker: '-Dfleetstream.service=schema-registry',
    }),
  });
}
