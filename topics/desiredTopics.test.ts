import { describe, expect, it } from 'vitest';
import { deadLetterTopicName, resolveDesiredTopics } from './desiredTopics.ts';
import { loadTopicCatalog } from './loadCatalog.ts';
import { UnknownProfileError } from './topicsErrors.ts';

const catalog = loadTopicCatalog();

describe('resolveDesiredTopics', () => {
  it('follows each consumed topic with its DLQ: same partitions and replication, delete policy, DLQ retention', () => {
    const topics = resolveDesiredTopics(catalog, { profile: 'production' });
    expect(topics.map((t) => t.name)).toEqual([
      'fleet.reservation.commands.v1',
      'fleet.reservation.commands.v1.dlq',
      'fleet.reservation.events.v1',
      'fleet.reservation.events.v1.dlq',
      'fleet.rental.events.v1',
      'fleet.rental.events.v1.dlq',
    ]);
    expect(topics[0]).toEqual({
      name: 'fleet.reservation.commands.v1',
      partitions: 12,
      replicationFactor: 3,
      configs: { 'cleanup.policy': 'delete', 'min.insync.replicas': '2', 'retention.ms': '604800000' },
      deadLetterOf: null,
    });
    expect(topics[1]).toEqual({
      name: 'fleet.reservation.commands.v1.dlq',
      partitions: 12,
      replicationFactor: 3,
      configs: { 'cleanup.policy': 'delete', 'min.insync.replicas': '2', 'retention.ms': '1209600000' },
      deadLetterOf: 'fleet.reservation.commands.v1',
    });
  });

  it('applies the local profile to topics and DLQs alike', () => {
    const topics = resolveDesiredTopics(catalog, { profile: 'local' });
    for (const topic of topics) {
      expect(topic.replicationFactor).toBe(1);
      expect(topic.configs['min.insync.replicas']).toBe('1');
    }
  });

  it('keeps a compacted topic’s DLQ on delete, so no dead letter is compacted away', () => {
    const compacted = {
      ...catalog,
      topics: catalog.topics.map((t) => ({ ...t, cleanupPolicy: 'compact' as const })),
    };
    const topics = resolveDesiredTopics(compacted, { profile: 'local' });
    expect(topics.filter((t) => t.deadLetterOf === null).map((t) => t.configs['cleanup.policy'])).toEqual([
      'compact',
      'compact',
      'compact',
    ]);
    expect(topics.filter((t) => t.deadLetterOf !== null).map((t) => t.configs['cleanup.policy'])).toEqual([
      'delete',
      'delete',
      'delete',
    ]);
  });

  it('prefixes every name, DLQs included', () => {
    const topics = resolveDesiredTopics(catalog, { profile: 'local', namePrefix: 'it-1234.' });
    expect(topics.every((t) => t.name.startsWith('it-1234.fleet.'))).toBe(true);
    expect(topics[1]?.deadLetterOf).toBe('it-1234.fleet.reservation.commands.v1');
  });

  it('rejects a profile the catalog does not have, naming the ones it has', () => {
    expect(() => resolveDesiredTopics(catalog, { profile: 'staging' })).toThrow(UnknownProfileError);
    expect(() => resolveDesiredTopics(catalog, { profile: 'staging' })).toThrow(
      'no profile named "staging" in the catalog (it has production, local)',
    );
  });
});

describe('deadLetterTopicName', () => {
  it('appends .dlq', () => {
    expect(deadLetterTopicName('fleet.rental.events.v1')).toBe('fleet.rental.events.v1.dlq');
  });
});
