import { describe, expect, it } from 'vitest';
import {
  loadTopicCatalog,
  parseTopicCatalog,
  parseTopicCatalogYaml,
  shippedPartitions,
} from './loadCatalog.ts';
import { CatalogError } from './topicsErrors.ts';

/** A small valid catalog in its raw (YAML-parsed) form; tests break one thing at a time. */
function rawCatalog() {
  return {
    workers: ['ingress', 'reservation-settler', 'notifier'],
    deadLetters: { retention: '14d' },
    profiles: {
      production: {},
      local: { replicationFactor: 1, minInsyncReplicas: 1 },
    },
    topics: [
      {
        name: 'fleet.reservation.commands.v1',
        description: 'commands',
        key: 'vehicle id',
        producer: 'ingress',
        consumers: ['reservation-settler'],
        partitions: 12,
        replicationFactor: 3,
        minInsyncReplicas: 2,
        retention: '7d',
        cleanupPolicy: 'delete',
        valueSubject: 'fleet.reservation.commands.v1-value',
      },
      {
        name: 'fleet.reservation.events.v1',
        description: 'events',
        key: 'vehicle id',
        producer: 'reservation-settler',
        consumers: ['notifier'],
        partitions: 12,
        replicationFactor: 3,
        minInsyncReplicas: 2,
        retention: 604800000,
        cleanupPolicy: 'delete',
        valueSubject: 'fleet.reservation.events.v1-value',
      },
      {
        name: 'fleet.rental.events.v1',
        description: 'rentals',
        key: 'rental id',
        producer: 'upstream',
        partitions: 12,
        replicationFactor: 3,
        minInsyncReplicas: 2,
        retention: '30d',
        cleanupPolicy: 'delete,compact',
        valueSubject: 'fleet.rental.events.v1-value',
      },
    ] as Record<string, unknown>[],
  };
}

/** The problems of an invalid catalog, as `where: message` lines. */
function problemsOf(input: unknown): string[] {
  try {
    parseTopicCatalog(input);
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as CatalogError).retriable).toBe(false);
    return (error as CatalogError).problems.map((p) => `${p.where}: ${p.message}`);
  }
  throw new Error('expected the catalog to be refused');
}

function withTopic(index: number, change: Record<string, unknown>) {
  const raw = rawCatalog();
  raw.topics[index] = { ...raw.topics[index], ...change };
  return raw;
}

describe('the shipped catalog', () => {
  const catalog = loadTopicCatalog();

  it('is valid and declares the three contract topics with production intent', () => {
    expect(catalog.topics.map((t) => t.name)).toEqual([
      'fleet.reservation.commands.v1',
      'fleet.reservation.events.v1',
      'fleet.rental.events.v1',
    ]);
    for (const topic of catalog.topics) {
      expect(topic).toMatchObject({ partitions: 12, replicationFactor: 3, minInsyncReplicas: 2 });
      expect(topic.valueSubject).toBe(`${topic.name}-value`);
      expect(topic.dlqRetentionMs).toBe(14 * 86_400_000);
    }
  });

  it('keys reservations by vehicle and rentals by rental, with the owners of the brief', () => {
    const [commands, events, rentals] = catalog.topics;
    expect(commands).toMatchObject({ producer: 'ingress', consumers: ['reservation-settler'] });
    expect(commands?.key).toMatch(/^vehicle id/);
    expect(events).toMatchObject({ producer: 'reservation-settler', consumers: ['notifier'] });
    expect(events?.key).toMatch(/^vehicle id/);
    expect(rentals).toMatchObject({ producer: 'upstream', consumers: ['rental-ledger'] });
    expect(rentals?.key).toMatch(/^rental id/);
  });

  it("answers a declared topic's partitions and refuses an undeclared topic", () => {
    expect(shippedPartitions('fleet.reservation.events.v1')).toBe(12);
    expect(() => shippedPartitions('fleet.nothing.here.v1')).toThrow(
      /does not declare fleet\.nothing\.here\.v1/,
    );
  });

  it('has a local profile that fits a single broker', () => {
    expect(catalog.profiles.local).toMatchObject({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(catalog.profiles.production).toBeDefined();
  });
});

describe('parseTopicCatalog', () => {
  it('normalizes durations to milliseconds and cleanup policies to one spelling', () => {
    const catalog = parseTopicCatalog(rawCatalog());
    expect(catalog.topics.map((t) => t.retentionMs)).toEqual([604_800_000, 604_800_000, 2_592_000_000]);
    expect(catalog.topics[2]?.cleanupPolicy).toBe('compact,delete');
  });

  it('derives a DLQ only for consumed topics, with the default or its own retention', () => {
    const catalog = parseTopicCatalog(withTopic(1, { dlqRetention: '30d' }));
    expect(catalog.topics.map((t) => t.dlqRetentionMs)).toEqual([1_209_600_000, 2_592_000_000, null]);
  });

  it('names the entry and field of a bad partition count', () => {
    expect(problemsOf(withTopic(2, { partitions: 0 }))).toEqual([
      'topics[2] (fleet.rental.events.v1).partitions: expected a positive integer',
    ]);
    expect(problemsOf(withTopic(0, { partitions: '12' }))).toEqual([
      'topics[0] (fleet.reservation.commands.v1).partitions: expected a positive integer',
    ]);
  });

  it('tells a missing field from a wrong one', () => {
    const raw = rawCatalog();
    delete raw.topics[1]?.key;
    expect(problemsOf(raw)).toEqual([
      'topics[1] (fleet.reservation.events.v1).key: is required (what the record key is, e.g. "vehicle id")',
    ]);
  });

  it('rejects unknown fields, so a typo never goes unnoticed', () => {
    expect(problemsOf(withTopic(0, { partiton: 3 }))).toEqual([
      'topics[0] (fleet.reservation.commands.v1): unknown field "partiton"',
    ]);
  });

  it('enforces the fleet.<domain>.<kind>.v<N> name pattern', () => {
    for (const name of [
      'reservation.commands.v1',
      'fleet.Reservation.commands.v1',
      'fleet.reservation.v1',
      'fleet.a.b.v0',
    ]) {
      expect(problemsOf(withTopic(0, { name, valueSubject: `${name}-value` }))).toEqual([
        `topics[0] (${name}).name: expected fleet.<domain>.<kind>.v<N> in lower case, e.g. fleet.rental.events.v1`,
      ]);
    }
  });

  it('rejects retention it cannot read', () => {
    expect(problemsOf(withTopic(0, { retention: '7 days' }))).toEqual([
      'topics[0] (fleet.reservation.commands.v1).retention: expected the retention: a duration such as 7d, 12h or 30m, whole milliseconds, or infinite',
    ]);
  });

  it('rejects min.insync.replicas above the replication factor', () => {
    expect(problemsOf(withTopic(0, { minInsyncReplicas: 4 }))).toEqual([
      'topics[0] (fleet.reservation.commands.v1).minInsyncReplicas: 4 exceeds replicationFactor 3: acks=all writes could never succeed',
    ]);
  });

  it('checks min.insync.replicas under every profile too', () => {
    const raw = rawCatalog();
    (raw.profiles as Record<string, unknown>).staging = { replicationFactor: 1 };
    expect(problemsOf(raw)).toEqual([
      'profiles.staging: gives topics[0] (fleet.reservation.commands.v1) minInsyncReplicas 2 > replicationFactor 1',
      'profiles.staging: gives topics[1] (fleet.reservation.events.v1) minInsyncReplicas 2 > replicationFactor 1',
      'profiles.staging: gives topics[2] (fleet.rental.events.v1) minInsyncReplicas 2 > replicationFactor 1',
    ]);
  });

  it('rejects duplicate names, pointing at the later entry', () => {
    const raw = rawCatalog();
    raw.topics.push({ ...raw.topics[0] });
    expect(problemsOf(raw)).toEqual(['topics[3] (fleet.reservation.commands.v1).name: duplicates topics[0]']);
  });

  it('requires the value subject to follow TopicNameStrategy', () => {
    expect(problemsOf(withTopic(1, { valueSubject: 'reservation-events' }))).toEqual([
      'topics[1] (fleet.reservation.events.v1).valueSubject: expected fleet.reservation.events.v1-value (TopicNameStrategy), got reservation-events',
    ]);
  });

  it('requires producers and consumers to be fleet workers (or upstream for producers)', () => {
    expect(
      problemsOf(withTopic(0, { producer: 'ingres', consumers: ['reservation-settler', 'billing'] })),
    ).toEqual([
      'topics[0] (fleet.reservation.commands.v1).producer: ingres is not in workers (nor upstream)',
      'topics[0] (fleet.reservation.commands.v1).consumers[1]: billing is not in workers',
    ]);
  });

  it('keeps DLQs at least as long as their topics', () => {
    expect(problemsOf(withTopic(0, { retention: '30d' }))).toEqual([
      "topics[0] (fleet.reservation.commands.v1).retention: the DLQ retention 14d (deadLetters.retention) must be at least the topic's retention 30d",
    ]);
    expect(problemsOf(withTopic(0, { retention: 'infinite' }))).toHaveLength(1);
    expect(
      parseTopicCatalog(withTopic(0, { retention: 'infinite', dlqRetention: 'infinite' })).topics[0],
    ).toMatchObject({ retentionMs: -1, dlqRetentionMs: -1 });
  });

  it('refuses a DLQ retention on a topic nobody consumes', () => {
    expect(problemsOf(withTopic(2, { dlqRetention: '30d' }))).toEqual([
      'topics[2] (fleet.rental.events.v1).dlqRetention: only a consumed topic has a DLQ: list its consumers or drop dlqRetention',
    ]);
  });

  it('reports every problem at once', () => {
    const raw = withTopic(0, { partitions: -1, cleanupPolicy: 'remove' });
    raw.topics[2] = { ...raw.topics[2], replicationFactor: 0 };
    expect(problemsOf(raw)).toEqual([
      'topics[0] (fleet.reservation.commands.v1).partitions: expected a positive integer',
      'topics[0] (fleet.reservation.commands.v1).cleanupPolicy: expected delete, compact or compact,delete',
      'topics[2] (fleet.rental.events.v1).replicationFactor: expected a positive integer',
    ]);
  });

  it('rejects an empty catalog', () => {
    expect(problemsOf({ ...rawCatalog(), topics: [] })).toEqual(['topics: expected at least one topic']);
    expect(problemsOf(null)).toEqual([': expected a mapping']);
  });
});

describe('parseTopicCatalogYaml', () => {
  it('locates YAML syntax errors by line', () => {
    expect(() => parseTopicCatalogYaml('topics:\n  - name: [unclosed\n', 'broken.yaml')).toThrow(
      /^invalid topic catalog broken\.yaml:\n {2}line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a \]$/,
    );
  });

  it('rejects duplicate keys rather than letting the last one win', () => {
    expect(() => parseTopicCatalogYaml('workers: [a]\nworkers: [b]\n')).toThrow(
      /line 2, column 1: Map keys must be unique/,
    );
  });
});
