import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type ApplyReport,
  applyTopics,
  type ClusterPlan,
  planTopicsOnCluster,
  TopicApplyError,
} from './applyTopics.ts';
import { formatPlan } from './formatPlan.ts';
import { loadTopicCatalog } from './loadCatalog.ts';
import { loadTopicsConfig } from './topicsConfig.ts';
import { UnknownProfileError } from './topicsErrors.ts';

const usage = `usage: npm run -s topics -- <plan|apply> [--catalog FILE] [--profile NAME] [--name-prefix PREFIX]

  plan    print the difference between the catalog and the cluster; changes nothing
  apply   create missing topics (and DLQs), raise partition counts, align configs; idempotent

  --catalog FILE        catalog to use (TOPICS_CATALOG, default topics/catalog.yaml)
  --profile NAME        catalog profile (TOPICS_PROFILE, default local — required against a cluster
                        that is not on this machine)
  --name-prefix PREFIX  prepend PREFIX to every topic name (isolated test runs)

exit status: 0 done, nothing refused; 2 done, but some differences were refused (shrinking
partitions, changing replication — then nothing else of that topic changes either — lowering
min.insync.replicas, deleting topics missing from the catalog): a human must act; 1 error (bad
catalog or configuration, no profile named for a remote cluster, cluster unreachable, an action
failed).`;

/** Where the CLI writes; injectable so tests can read its output. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs the topics CLI with `argv` (without node and script); resolves to the exit status. */
export async function runTopicsCli(
  argv: readonly string[],
  io: CliIo = { env: process.env, out: console.log, err: console.error },
): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${usage}`);
    return 1;
  }
  const { command, values } = parsed;
  if (command === 'help') {
    io.out(usage);
    return 0;
  }

  try {
    const config = loadTopicsConfig(io.env);
    const catalogFile = values.catalog ? path.resolve(values.catalog) : config.catalogFile;
    const catalog = loadTopicCatalog(catalogFile);
    const profile = values.profile ?? config.profile;
    // The default profile fits the single local broker only: against any other cluster its
    // replication and min.insync.replicas would be a production topic's downgrade.
    if (
      values.profile === undefined &&
      io.env.TOPICS_PROFILE === undefined &&
      !isLoopback(config.kafkaBootstrap)
    ) {
      io.err(
        `topics ${command}: ${config.kafkaBootstrap} is not the local stack: name the profile (--profile production, or TOPICS_PROFILE)`,
      );
      return 1;
    }
    const options = { config, profile, namePrefix: values['name-prefix'] ?? '' };
    const overrides = catalog.profiles[profile];
    if (!overrides) throw new UnknownProfileError(profile, Object.keys(catalog.profiles));
    const relative = path.relative(process.cwd(), catalogFile);
    io.out(
      `topics ${command}: catalog ${relative.startsWith('..') ? catalogFile : relative}, profile ${profile} ` +
        `(replicationFactor ${overrides.replicationFactor ?? 'as declared'}, minInsyncReplicas ${overrides.minInsyncReplicas ?? 'as declared'}), ` +
        `cluster ${config.kafkaBootstrap}`,
    );

    let result: ClusterPlan | ApplyReport;
    let failures: ApplyReport['failures'] = [];
    if (command === 'plan') {
      result = await planTopicsOnCluster(catalog, options);
    } else {
      try {
        result = await applyTopics(catalog, options);
      } catch (error) {
        if (!(error instanceof TopicApplyError)) throw error;
        result = error.report;
        failures = error.report.failures;
      }
    }
    for (const line of formatPlan(result.plan, command === 'plan' ? 'plan' : 'done', failures)) io.out(line);
    if (failures.length > 0) return 1;
    return result.plan.refusals.length > 0 ? 2 : 0;
  } catch (error) {
    const retriable = (error as { retriable?: unknown }).retriable === true;
    io.err(
      `topics ${command}: ${(error as Error).message}${retriable ? '\n(retriable: try again once the cluster answers)' : ''}`,
    );
    return 1;
  }
}

/** Whether every bootstrap server is on this machine (the local stack). */
function isLoopback(bootstrap: string): boolean {
  return bootstrap
    .split(',')
    .every((server) => /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(server.trim()));
}

function parseCommandLine(argv: readonly string[]) {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      catalog: { type: 'string' },
      profile: { type: 'string' },
      'name-prefix': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { command: 'help' as const, values };
  const [command, ...extra] = positionals;
  if (command !== 'plan' && command !== 'apply') {
    throw new Error(
      command ? `unknown command ${JSON.stringify(command)}` : 'missing command: plan or apply',
    );
  }
  if (extra.length > 0) throw new Error(`unexpected argument ${JSON.stringify(extra[0])}`);
  return { command, values };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await runTopicsCli(process.argv.slice(2));
}
