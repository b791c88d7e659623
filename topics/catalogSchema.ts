import { z } from 'zod';
import { formatDurationMs, infiniteRetentionMs, parseRetentionMs } from './duration.ts';

/** `fleet.<domain>.<kind>.v<N>` (BRIEF §4); lower case so that names never differ only by case. */
export const topicNamePattern = /^fleet\.[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.v[1-9][0-9]*$/;

/** Suffix of a consumed topic's dead-letter topic (BRIEF §4). */
export const dlqSuffix = '.dlq';

/** The producer name for topics written by services outside the fleet (e.g. upstream rental events). */
export const upstreamProducer = 'upstream';

/** Kafka rejects topic names longer than 249 characters; leave room for the DLQ suffix. */
const maxTopicNameLength = 249 - dlqSuffix.length;

/** What `cleanup.policy` may be; `compact,delete` is stored in that order whichever way it is written. */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

/** Replication settings a profile may override for every topic (and its DLQ). */
export interface ProfileOverrides {
  description?: string;
  replicationFactor?: number;
  minInsyncReplicas?: number;
}

/** One topic of the catalog, validated; durations are in milliseconds (-1 = infinite). */
export interface CatalogTopic {
  name: string;
  description: string;
  /** What the record key means (e.g. "vehicle id"): it decides ordering and partitioning. */
  key: string;
  /** The worker that writes the topic, or `upstream` for services outside the fleet. */
  producer: string;
  /** Workers that read it; a topic with consumers gets a DLQ. */
  consumers: readonly string[];
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
  retentionMs: number;
  cleanupPolicy: CleanupPolicy;
  /** Schema registry subject of the values (TopicNameStrategy: `<name>-value`). */
  valueSubject: string;
  /** Retention of the derived `<name>.dlq`, or null when nothing consumes the topic (no DLQ). */
  dlqRetentionMs: number | null;
}

/** The validated topic catalog. */
export interface TopicCatalog {
  workers: readonly string[];
  profiles: Readonly<Record<string, ProfileOverrides>>;
  topics: readonly CatalogTopic[];
}

/** A zod error option that tells a missing field from a wrong one. */
function expected(what: string) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined ? `is required (${what})` : `expected ${what}`,
  };
}

const positiveInt = () =>
  z.int(expected('a positive integer')).positive({ error: 'expected a positive integer' });

const text = (what: string) =>
  z
    .string(expected(what))
    .trim()
    .min(1, { error: `expected ${what}` });

const workerName = z
  .string(expected('a worker name'))
  .regex(/^[a-z][a-z0-9-]*$/, { error: 'expected a kebab-case worker name such as reservation-settler' });

const retention = (what: string) =>
  z.unknown().transform((input, ctx) => {
    const ms = parseRetentionMs(input);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          input === undefined
            ? `is required (${what})`
            : `expected ${what}: a duration such as 7d, 12h or 30m, whole milliseconds, or infinite`,
      });
      return z.NEVER;
    }
    return ms;
  });

const cleanupPolicy = z
  .enum(
    ['delete', 'compact', 'compact,delete', 'delete,compact'],
    expected('delete, compact or compact,delete'),
  )
  .transform((policy): CleanupPolicy => (policy === 'delete,compact' ? 'compact,delete' : policy));

/** Rejects unknown keys by name, since a misspelt optional field would otherwise be silently ignored. */
const strict = {
  error: (issue: { code?: string; keys?: string[] }) =>
    issue.code === 'unrecognized_keys'
      ? `unknown field${(issue.keys?.length ?? 0) > 1 ? 's' : ''} ${issue.keys?.map((k) => JSON.stringify(k)).join(', ')}`
      : 'expected a mapping',
};

const topicSchema = z.strictObject(
  {
    name: z
      .string(expected('a topic name'))
      .regex(topicNamePattern, {
        error: 'expected fleet.<domain>.<kind>.v<N> in lower case, e.g. fleet.rental.events.v1',
      })
      .max(maxTopicNameLength, { error: `expected at most ${maxTopicNameLength} characters` }),
    description: text('a one-line description'),
    key: text('what the record key is, e.g. "vehicle id"'),
    producer: workerName,
    consumers: z.array(workerName, expected('a list of worker names')).default([]),
    partitions: positiveInt(),
    replicationFactor: positiveInt(),
    minInsyncReplicas: positiveInt(),
    retention: retention('the retention'),
    cleanupPolicy,
    valueSubject: text('the value subject, <name>-value'),
    dlqRetention: retention('the DLQ retention').optional(),
  },
  strict,
);

const profileSchema = z.strictObject(
  {
    description: z.string(expected('a description')).optional(),
    replicationFactor: positiveInt().optional(),
    minInsyncReplicas: positiveInt().optional(),
  },
  strict,
);

/** Raw catalog shape; cross-field rules run only once every field has the right shape. */
export const catalogSchema = z
  .strictObject(
    {
      workers: z.array(workerName, expected('the list of fleet worker names')).min(1),
      deadLetters: z.strictObject({ retention: retention('the default DLQ retention') }, strict),
      profiles: z.record(
        z.string().regex(/^[a-z][a-z0-9-]*$/, { error: 'expected a kebab-case profile name' }),
        profileSchema,
        expected('a mapping of profile names to overrides'),
      ),
      topics: z
        .array(topicSchema, expected('a list of topics'))
        .min(1, { error: 'expected at least one topic' }),
    },
    strict,
  )
  .transform((raw, ctx): TopicCatalog => {
    const problem = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const workers = new Set<string>();
    raw.workers.forEach((worker, index) => {
      if (workers.has(worker)) problem(['workers', index], `${worker} is listed twice`);
      workers.add(worker);
    });

    const firstIndexByName = new Map<string, number>();
    raw.topics.forEach((topic, index) => {
      const earlier = firstIndexByName.get(topic.name);
      if (earlier !== undefined) problem(['topics', index, 'name'], `duplicates topics[${earlier}]`);
      else firstIndexByName.set(topic.name, index);
    });

    const topics = raw.topics.map((topic, index): CatalogTopic => {
      const at = (field: string) => ['topics', index, field];
      if (topic.minInsyncReplicas > topic.replicationFactor) {
        problem(
          at('minInsyncReplicas'),
          `${topic.minInsyncReplicas} exceeds replicationFactor ${topic.replicationFactor}: acks=all writes could never succeed`,
        );
      }
      if (topic.valueSubject !== `${topic.name}-value`) {
        problem(
          at('valueSubject'),
          `expected ${topic.name}-value (TopicNameStrategy), got ${topic.valueSubject}`,
        );
      }
      if (topic.producer !== upstreamProducer && !workers.has(topic.producer)) {
        problem(at('producer'), `${topic.producer} is not in workers (nor ${upstreamProducer})`);
      }
      topic.consumers.forEach((consumer, position) => {
        if (!workers.has(consumer))
          problem(['topics', index, 'consumers', position], `${consumer} is not in workers`);
        if (topic.consumers.indexOf(consumer) !== position) {
          problem(['topics', index, 'consumers', position], `${consumer} is listed twice`);
        }
      });

      const consumed = topic.consumers.length > 0;
      if (!consumed && topic.dlqRetention !== undefined) {
        problem(
          at('dlqRetention'),
          'only a consumed topic has a DLQ: list its consumers or drop dlqRetention',
        );
      }
      const dlqRetentionMs = consumed ? (topic.dlqRetention ?? raw.deadLetters.retention) : null;
      if (dlqRetentionMs !== null) {
        const dlqName = `${topic.name}${dlqSuffix}`;
        const clash = firstIndexByName.get(dlqName);
        if (clash !== undefined) problem(at('name'), `its DLQ ${dlqName} collides with topics[${clash}]`);
        // A dead letter must outlive the records it may be replayed next to, or triage loses context.
        if (outlives(topic.retention, dlqRetentionMs)) {
          problem(
            at(topic.dlqRetention === undefined ? 'retention' : 'dlqRetention'),
            `the DLQ retention ${formatDurationMs(dlqRetentionMs)}${topic.dlqRetention === undefined ? ' (deadLetters.retention)' : ''} must be at least the topic's retention ${formatDurationMs(topic.retention)}`,
          );
        }
      }

      return {
        name: topic.name,
        description: topic.description,
        key: topic.key,
        producer: topic.producer,
        consumers: topic.consumers,
        partitions: topic.partitions,
        replicationFactor: topic.replicationFactor,
        minInsyncReplicas: topic.minInsyncReplicas,
        retentionMs: topic.retention,
        cleanupPolicy: topic.cleanupPolicy,
        valueSubject: topic.valueSubject,
        dlqRetentionMs,
      };
    });

    for (const [profileName, overrides] of Object.entries(raw.profiles)) {
      topics.forEach((topic, index) => {
        // A topic that breaks the rule on its own is reported once, above, not once per profile.
        if (topic.minInsyncReplicas > topic.replicationFactor) return;
        const replicationFactor = overrides.replicationFactor ?? topic.replicationFactor;
        const minInsyncReplicas = overrides.minInsyncReplicas ?? topic.minInsyncReplicas;
        if (minInsyncReplicas > replicationFactor) {
          problem(
            ['profiles', profileName],
            `gives topics[${index}] (${topic.name}) minInsyncReplicas ${minInsyncReplicas} > replicationFactor ${replicationFactor}`,
          );
        }
      });
    }

    return { workers: raw.workers, profiles: raw.profiles, topics };
  });

/** True when retention `a` keeps records longer than retention `b` (-1 means forever). */
function outlives(a: number, b: number): boolean {
  if (b === infiniteRetentionMs) return false;
  return a === infiniteRetentionMs || a > b;
}
