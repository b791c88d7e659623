import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyTopics, planTopicsOnCluster, TopicApplyError } from './applyTopics.ts';
import type { TopicCatalog } from './catalogSchema.ts';
import { runTopicsCli } from './cli.ts';
import { resolveDesiredTopics } from './desiredTopics.ts';
import { javaConfigAdmin, type TopicConfigAdmin } from './javaConfigAdmin.ts';
import { loadTopicCatalog, parseTopicCatalog } from './loadCatalog.ts';
import { loadTopicsConfig } from './topicsConfig.ts';

const config = loadTopicsConfig();
const catalog = loadTopicCatalog();
const configAdmin: TopicConfigAdmin = javaConfigAdmin({
  bootstrap: config.kafkaBootstrap,
  timeoutMs: config.timeoutMs,
  kafkaLibsDir: config.kafkaLibsDir,
  cacheDir: config.cacheDir,
});

// An independent client (the KafkaJS-style admin) reads partitions back and cleans up, so the
// assertions do not rely on the code under test.
const admin = new KafkaJS.Kafka({
  kafkaJS: { brokers: config.kafkaBootstrap.split(','), logLevel: KafkaJS.logLevel.NOTHING },
}).admin();

const prefixes: string[] = [];

/** A fresh name prefix: each test gets topics no other test (or run) can see. */
function newPrefix(): string {
  const prefix = `it-${randomBytes(4).toString('hex')}.`;
  prefixes.push(prefix);
  return prefix;
}

function options(namePrefix: string, profile = 'local') {
  return { config, configAdmin, profile, namePrefix };
}

/** The shipped catalog with one topic changed, validated like a file would be. */
function catalogWith(
  topicName: string,
  change: Partial<{ partitions: number; retention: string }>,
): TopicCatalog {
  return parseTopicCatalog({
    workers: catalog.workers,
    deadLetters: { retention: '14d' },
    profiles: catalog.profiles,
    topics: catalog.topics.map(({ retentionMs, dlqRetentionMs, ...topic }) => ({
      ...topic,
      retention: retentionMs,
      ...(dlqRetentionMs === null ? {} : { dlqRetention: dlqRetentionMs }),
      ...(topic.name === topicName ? change : {}),
    })),
  });
}

/**
 * Polls until `ready` holds: the broker applies metadata changes made by other clients
 * asynchronously, so a test that changes the cluster behind the tool's back waits for it to show.
 */
async function eventually<T>(read: () => Promise<T>, ready: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (ready(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function partitionCounts(names: readonly string[]): Promise<Record<string, number>> {
  const metadata = await admin.fetchTopicMetadata({ topics: [...names] });
  return Object.fromEntries(metadata.map((topic) => [topic.name, topic.partitions.length]));
}

async function managedConfigs(names: readonly string[]) {
  const configs = await configAdmin.describe(names);
  return Object.fromEntries(
    names.map((name) => {
      const topic = configs.get(name) ?? {};
      return [
        name,
        {
          'cleanup.policy': topic['cleanup.policy'],
          'min.insync.replicas': topic['min.insync.replicas'],
          'retention.ms': topic['retention.ms'],
        },
      ];
    }),
  );
}

beforeAll(async () => {
  await admin.connect();
});

afterEach(async () => {
  const names = (await admin.listTopics()).filter((name) =>
    prefixes.some((prefix) => name.startsWith(prefix)),
  );
  prefixes.length = 0;
  if (names.length > 0) await admin.deleteTopics({ topics: names, timeout: 30_000 });
});

afterAll(async () => {
  await admin.disconnect();
  await configAdmin.close();
});

describe('applyTopics against the local broker', () => {
  it('creates every topic and DLQ with the catalog configs, then finds nothing to do', async () => {
    const prefix = newPrefix();
    const desired = resolveDesiredTopics(catalog, { profile: 'local', namePrefix: prefix });
    const names = desired.map((topic) => topic.name);
    expect(names).toHaveLength(6);

    const report = await applyTopics(catalog, options(prefix));
    expect(report.plan.actions.map((a) => `${a.kind} ${a.topic}`)).toEqual(
      names.map((n) => `create-topic ${n}`),
    );
    expect(report.plan.refusals).toEqual([]);

    expect(await partitionCounts(names)).toEqual(Object.fromEntries(names.map((name) => [name, 12])));
    const metadata = await admin.fetchTopicMetadata({ topics: names });
    for (const topic of metadata)
      for (const partition of topic.partitions) expect(partition.replicas).toHaveLength(1);
    expect(await managedConfigs(names)).toEqual(Object.fromEntries(desired.map((t) => [t.name, t.configs])));
    expect(await managedConfigs([`${prefix}fleet.rental.events.v1.dlq`])).toEqual({
      [`${prefix}fleet.rental.events.v1.dlq`]: {
        'cleanup.policy': 'delete',
        'min.insync.replicas': '1',
        'retention.ms': String(14 * 86_400_000),
      },
    });

    const again = await applyTopics(catalog, options(prefix));
    expect(again.plan).toEqual({ actions: [], refusals: [], inSync: names });
  });

  it('plans and then repairs a config changed behind its back', async () => {
    const prefix = newPrefix();
    await applyTopics(catalog, options(prefix));
    const topic = `${prefix}fleet.reservation.events.v1`;
    const refused = await configAdmin.alter([
      { topic, config: 'retention.ms', value: '3600000' },
      { topic, config: 'cleanup.policy', value: 'compact' },
    ]);
    expect(refused).toEqual(new Map());
    const drifted = { 'cleanup.policy': 'compact', 'min.insync.replicas': '1', 'retention.ms': '3600000' };
    expect(
      await eventually(
        () => managedConfigs([topic]),
        (c) => isDeepStrictEqual(c[topic], drifted),
      ),
    ).toEqual({
      [topic]: drifted,
    });

    const { plan } = await planTopicsOnCluster(catalog, options(prefix));
    expect(plan.actions).toEqual([
      { kind: 'alter-config', topic, config: 'cleanup.policy', from: 'compact', to: 'delete' },
      { kind: 'alter-config', topic, config: 'retention.ms', from: '3600000', to: '604800000' },
    ]);
    expect(plan.inSync).toHaveLength(5);

    const out: string[] = [];
    const status = await runTopicsCli(['plan', '--name-prefix', prefix], {
      env: process.env,
      out: (line) => out.push(line),
      err: (line) => out.push(line),
    });
    expect(status).toBe(0);
    expect(out.slice(1)).toEqual([
      `alter config  ${topic}  cleanup.policy: compact → delete`,
      `alter config  ${topic}  retention.ms: 3600000 (1h) → 604800000 (7d)`,
      '2 to change, 0 refused, 5 in sync',
    ]);

    await applyTopics(catalog, options(prefix));
    expect(await managedConfigs([topic])).toEqual({
      [topic]: { 'cleanup.policy': 'delete', 'min.insync.replicas': '1', 'retention.ms': '604800000' },
    });
    expect((await planTopicsOnCluster(catalog, options(prefix))).plan.actions).toEqual([]);
  });

  it('reports a config value the broker refuses, per topic, without touching the others', async () => {
    const prefix = newPrefix();
    await applyTopics(catalog, options(prefix));
    const bad = `${prefix}fleet.reservation.commands.v1`;
    const good = `${prefix}fleet.rental.events.v1`;
    const refused = await configAdmin.alter([
      { topic: bad, config: 'cleanup.policy', value: 'shred' },
      { topic: good, config: 'retention.ms', value: '7200000' },
    ]);
    expect([...refused.keys()]).toEqual([bad]);
    expect(refused.get(bad)?.message).toMatch(/InvalidConfigurationException.*shred/);
    expect(refused.get(bad)?.retriable).toBe(false);
    const read = () => managedConfigs([bad, good]);
    expect(
      (await eventually(read, (c) => c[good]?.['retention.ms'] === '7200000'))[good]?.['retention.ms'],
    ).toBe('7200000');
    expect((await managedConfigs([bad]))[bad]?.['cleanup.policy']).toBe('delete');
  });

  it('raises partitions of a topic and its DLQ, and refuses to shrink them back', async () => {
    const prefix = newPrefix();
    await applyTopics(catalog, options(prefix));
    const topic = `${prefix}fleet.rental.events.v1`;
    const dlq = `${topic}.dlq`;

    const grown = await applyTopics(
      catalogWith('fleet.rental.events.v1', { partitions: 16 }),
      options(prefix),
    );
    expect(grown.plan.actions).toEqual([
      { kind: 'add-partitions', topic, from: 12, to: 16 },
      { kind: 'add-partitions', topic: dlq, from: 12, to: 16 },
    ]);
    expect(await partitionCounts([topic, dlq])).toEqual({ [topic]: 16, [dlq]: 16 });

    const shrunk = await applyTopics(
      catalogWith('fleet.rental.events.v1', { partitions: 4 }),
      options(prefix),
    );
    expect(shrunk.plan.actions).toEqual([]);
    expect(shrunk.plan.refusals).toEqual([
      expect.objectContaining({ kind: 'shrink-partitions', topic, from: '16', to: '4' }),
      expect.objectContaining({ kind: 'shrink-partitions', topic: dlq, from: '16', to: '4' }),
    ]);
    expect(shrunk.plan.refusals[0]?.reason).toContain('Kafka cannot remove partitions');
    expect(await partitionCounts([topic, dlq])).toEqual({ [topic]: 16, [dlq]: 16 });
  });

  it('reports fleet topics missing from the catalog and leaves them alone; the CLI exits 2', async () => {
    const prefix = newPrefix();
    await applyTopics(catalog, options(prefix));
    const stray = `${prefix}fleet.vehicle.telemetry.v1`;
    await admin.createTopics({ topics: [{ topic: stray, numPartitions: 1, replicationFactor: 1 }] });
    expect(
      await eventually(
        () => admin.listTopics(),
        (names) => names.includes(stray),
      ),
    ).toContain(stray);

    const out: string[] = [];
    const status = await runTopicsCli(['apply', '--name-prefix', prefix], {
      env: process.env,
      out: (line) => out.push(line),
      err: (line) => out.push(line),
    });
    expect(status).toBe(2);
    expect(out.slice(1)).toEqual([
      `REFUSE delete  ${stray}  on the cluster but not in the catalog; not deleted: check that nothing reads it, then delete it by hand`,
      '0 changed, 1 refused, 6 in sync',
    ]);
    expect(await admin.listTopics()).toContain(stray);
  });

  it('refuses a production catalog on a single broker instead of weakening it', async () => {
    const prefix = newPrefix();
    const failure = await applyTopics(catalog, options(prefix, 'production')).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TopicApplyError);
    const { report, retriable } = failure as TopicApplyError;
    expect(retriable).toBe(false);
    expect(report.failures).toHaveLength(6);
    expect(report.failures[0]?.error).toMatch(
      /replication factor of 3 cannot be reached because only 1 broker/,
    );
    expect((await admin.listTopics()).filter((name) => name.startsWith(prefix))).toEqual([]);
  });

  it('refuses an invalid catalog with a precise message and creates nothing', async () => {
    const prefix = newPrefix();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'topics-int-'));
    try {
      const file = path.join(dir, 'catalog.yaml');
      const shipped = fs.readFileSync(new URL('./catalog.yaml', import.meta.url), 'utf8');
      fs.writeFileSync(
        file,
        shipped.replace(
          'minInsyncReplicas: 2\n    retention: 7d\n    cleanupPolicy: delete\n    valueSubject: fleet.rental',
          'minInsyncReplicas: 5\n    retention: 7d\n    cleanupPolicy: delete\n    valueSubject: fleet.rental',
        ),
      );
      const err: string[] = [];
      const status = await runTopicsCli(['apply', '--catalog', file, '--name-prefix', prefix], {
        env: process.env,
        out: (line) => err.push(line),
        err: (line) => err.push(line),
      });
      expect(status).toBe(1);
      expect(err.join('\n')).toContain(
        'topics[2] (fleet.rental.events.v1).minInsyncReplicas: 5 exceeds replicationFactor 3: acks=all writes could never succeed',
      );
      expect((await admin.listTopics()).filter((name) => name.startsWith(prefix))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
