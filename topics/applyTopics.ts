import { setTimeout as sleep } from 'node:timers/promises';
import type { TopicCatalog } from './catalogSchema.ts';
import { type ClusterAdmin, openClusterAdmin, topicAlreadyExistsCode } from './clusterAdmin.ts';
import { type DesiredTopic, resolveDesiredTopics } from './desiredTopics.ts';
import { javaConfigAdmin, type TopicConfigAdmin } from './javaConfigAdmin.ts';
import {
  type ObservedTopic,
  planTopics,
  sameConfigValue,
  type TopicAction,
  type TopicPlan,
} from './planTopics.ts';
import { loadTopicsConfig, type TopicsConfig } from './topicsConfig.ts';
import { TopicAdminError } from './topicsErrors.ts';

/** Where and how to plan or apply. */
export interface TopicToolOptions {
  /** Catalog profile; default config.profile (TOPICS_PROFILE, else local). */
  profile?: string;
  /** Prepended to every catalog name (tests use a random one); the fleet prefix becomes `<namePrefix>fleet.`. */
  namePrefix?: string;
  /** Cluster, timeouts and jar locations; default loadTopicsConfig() from the environment. */
  config?: TopicsConfig;
  /** Reads and alters topic configs; default the Java helper built from `config`. */
  configAdmin?: TopicConfigAdmin;
}

/** A plan computed against a live cluster. */
export interface ClusterPlan {
  profile: string;
  bootstrap: string;
  desired: readonly DesiredTopic[];
  plan: TopicPlan;
}

/** What apply did: the plan it executed, and the actions that failed (refusals are in plan.refusals). */
export interface ApplyReport extends ClusterPlan {
  failures: readonly { action: TopicAction; error: string; retriable: boolean }[];
}

/** Some planned actions failed; `report` says which, and what was done anyway. */
export class TopicApplyError extends Error {
  readonly retriable: boolean;
  readonly report: ApplyReport;

  constructor(report: ApplyReport) {
    super(
      `topics apply: ${report.failures.length} action(s) failed:\n${report.failures
        .map((f) => `  ${f.action.kind} ${f.action.topic}: ${f.error}`)
        .join('\n')}`,
    );
    this.name = 'TopicApplyError';
    this.report = report;
    this.retriable = report.failures.every((failure) => failure.retriable);
  }
}

/** Diffs the catalog against the cluster without changing anything. */
export async function planTopicsOnCluster(
  catalog: TopicCatalog,
  options: TopicToolOptions = {},
): Promise<ClusterPlan> {
  return withAdmins(catalog, options, async (context) => context.planned);
}

/**
 * Creates missing topics, raises partition counts and aligns managed configs, then returns what
 * it did and what it refused. Idempotent: a second run finds nothing to do. Throws
 * TopicApplyError (with the report) when an action fails; refusals alone do not throw.
 */
export async function applyTopics(
  catalog: TopicCatalog,
  options: TopicToolOptions = {},
): Promise<ApplyReport> {
  return withAdmins(catalog, options, async ({ planned, cluster, configAdmin, timeoutMs }) => {
    const failures: ApplyReport['failures'][number][] = [];
    const fail = (action: TopicAction, error: unknown) =>
      failures.push({
        action,
        error: error instanceof Error ? error.message : String(error),
        retriable: error instanceof TopicAdminError ? error.retriable : false,
      });
    const { actions } = planned.plan;

    const creates = actions.filter((a) => a.kind === 'create-topic');
    const raises = actions.filter((a) => a.kind === 'add-partitions');
    const alters = actions.filter((a) => a.kind === 'alter-config');

    await Promise.all(
      creates.map((action) =>
        cluster
          .createTopic({
            name: action.topic,
            partitions: action.partitions,
            replicationFactor: action.replicationFactor,
            configs: action.configs,
          })
          .catch((error: unknown) => {
            // Another apply (a second fleet process) created it first; the next plan shows any difference.
            if (causeCode(error) !== topicAlreadyExistsCode) fail(action, error);
          }),
      ),
    );
    for (const action of raises) {
      await cluster.createPartitions(action.topic, action.to).catch((error: unknown) => fail(action, error));
    }

    // Consumers started right after apply must find every partition, so wait for the metadata.
    const grown = [...creates, ...raises].filter((a) => !failures.some((f) => f.action === a));
    const expected = new Map(grown.map((a) => [a.topic, a.kind === 'create-topic' ? a.partitions : a.to]));
    const missing = await waitForPartitions(cluster, expected, timeoutMs);
    for (const action of grown.filter((a) => missing.has(a.topic))) {
      fail(
        action,
        new TopicAdminError(`wait for ${action.topic}`, `partitions not visible after ${timeoutMs} ms`, true),
      );
    }

    if (alters.length > 0) {
      try {
        const refused = await configAdmin.alter(
          alters.map((a) => ({ topic: a.topic, config: a.config, value: a.to })),
        );
        for (const action of alters) {
          const error = refused.get(action.topic);
          if (error) fail(action, error);
        }
        const applied = alters.filter((a) => !refused.has(a.topic));
        for (const action of await waitForConfigs(configAdmin, applied, timeoutMs)) {
          fail(
            action,
            new TopicAdminError(
              `wait for ${action.topic}`,
              `${action.config} not visible after ${timeoutMs} ms`,
              true,
            ),
          );
        }
      } catch (error) {
        for (const action of alters) fail(action, error);
      }
    }

    const report: ApplyReport = { ...planned, failures };
    if (failures.length > 0) throw new TopicApplyError(report);
    return report;
  });
}

interface AdminContext {
  planned: ClusterPlan;
  cluster: ClusterAdmin;
  configAdmin: TopicConfigAdmin;
  timeoutMs: number;
}

/** Opens the admin clients, observes the cluster, plans, runs `work`, and always closes the clients. */
async function withAdmins<T>(
  catalog: TopicCatalog,
  options: TopicToolOptions,
  work: (context: AdminContext) => Promise<T>,
): Promise<T> {
  const config = options.config ?? loadTopicsConfig();
  const profile = options.profile ?? config.profile;
  const bootstrap = config.kafkaBootstrap;
  const timeoutMs = config.timeoutMs;
  const namePrefix = options.namePrefix ?? '';
  const desired = resolveDesiredTopics(catalog, { profile, namePrefix });
  const ownConfigAdmin = options.configAdmin === undefined;
  const configAdmin =
    options.configAdmin ??
    javaConfigAdmin({
      bootstrap,
      timeoutMs,
      kafkaLibsDir: config.kafkaLibsDir,
      cacheDir: config.cacheDir,
    });

  const cluster = openClusterAdmin({ bootstrap, timeoutMs });
  try {
    const fleetPrefix = `${namePrefix}fleet.`;
    const observed = await observeCluster(cluster, configAdmin, desired, fleetPrefix);
    const plan = planTopics(desired, observed, { fleetPrefix });
    return await work({ planned: { profile, bootstrap, desired, plan }, cluster, configAdmin, timeoutMs });
  } finally {
    cluster.close();
    if (ownConfigAdmin) await configAdmin.close();
  }
}

/** Reads layouts of every topic under the fleet prefix, and configs of the catalog's own topics. */
async function observeCluster(
  cluster: ClusterAdmin,
  configAdmin: TopicConfigAdmin,
  desired: readonly DesiredTopic[],
  fleetPrefix: string,
): Promise<ObservedTopic[]> {
  const desiredNames = new Set(desired.map((topic) => topic.name));
  const names = (await cluster.listTopics()).filter(
    (name) => name.startsWith(fleetPrefix) || desiredNames.has(name),
  );
  const layouts = await cluster.describeTopics(names);
  // Only existing catalog topics need configs; on a fresh cluster the Java helper never starts.
  const configs = await configAdmin.describe([...layouts.keys()].filter((name) => desiredNames.has(name)));
  return [...layouts].map(([name, layout]) => ({ name, ...layout, configs: configs.get(name) ?? {} }));
}

/** Polls metadata until each topic shows its expected partition count; returns the topics that never did. */
async function waitForPartitions(
  cluster: ClusterAdmin,
  expected: ReadonlyMap<string, number>,
  timeoutMs: number,
): Promise<Set<string>> {
  const pending = new Set(expected.keys());
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    const layouts = await cluster.describeTopics([...pending]);
    for (const [name, layout] of layouts) {
      if (layout.partitions >= (expected.get(name) ?? 0)) pending.delete(name);
    }
    if (pending.size === 0 || Date.now() >= deadline) break;
    await sleep(100);
  }
  return pending;
}

/**
 * Re-reads altered configs until the broker reports the new values (it applies the controller's
 * records asynchronously), so a plan run right after apply sees what apply did. Returns the laggards.
 */
async function waitForConfigs(
  configAdmin: TopicConfigAdmin,
  altered: readonly Extract<TopicAction, { kind: 'alter-config' }>[],
  timeoutMs: number,
): Promise<Extract<TopicAction, { kind: 'alter-config' }>[]> {
  let pending = [...altered];
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0) {
    const configs = await configAdmin.describe([...new Set(pending.map((a) => a.topic))]);
    pending = pending.filter((a) => {
      const value = configs.get(a.topic)?.[a.config];
      return typeof value !== 'string' || !sameConfigValue(a.config, value, a.to);
    });
    if (pending.length === 0 || Date.now() >= deadline) break;
    await sleep(200);
  }
  return pending;
}

function causeCode(error: unknown): number | undefined {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'number' ? cause.code : undefined;
}
