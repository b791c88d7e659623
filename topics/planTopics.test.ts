import { describe, expect, it } from 'vitest';
import type { DesiredTopic } from './desiredTopics.ts';
import { isEmptyPlan, type ObservedTopic, planTopics } from './planTopics.ts';

const scope = { fleetPrefix: 'fleet.' };

function desired(name: string, overrides: Partial<DesiredTopic> = {}): DesiredTopic {
  return {
    name,
    partitions: 12,
    replicationFactor: 1,
    configs: { 'cleanup.policy': 'delete', 'min.insync.replicas': '1', 'retention.ms': '604800000' },
    deadLetterOf: null,
    ...overrides,
  };
}

/** The cluster copy of a desired topic, with broker-side extras the tool must ignore. */
function observedLike(topic: DesiredTopic, overrides: Partial<ObservedTopic> = {}): ObservedTopic {
  return {
    name: topic.name,
    partitions: topic.partitions,
    replicationFactor: topic.replicationFactor,
    configs: { ...topic.configs, 'segment.bytes': '1073741824', 'compression.type': 'producer' },
    ...overrides,
  };
}

describe('planTopics', () => {
  const commands = desired('fleet.reservation.commands.v1');
  const commandsDlq = desired('fleet.reservation.commands.v1.dlq', {
    configs: { 'cleanup.policy': 'delete', 'min.insync.replicas': '1', 'retention.ms': '1209600000' },
    deadLetterOf: 'fleet.reservation.commands.v1',
  });

  it('creates every missing topic with its partitions, replication and configs, in catalog order', () => {
    const plan = planTopics([commands, commandsDlq], [], scope);
    expect(plan.actions).toEqual([
      {
        kind: 'create-topic',
        topic: 'fleet.reservation.commands.v1',
        partitions: 12,
        replicationFactor: 1,
        configs: { 'cleanup.policy': 'delete', 'min.insync.replicas': '1', 'retention.ms': '604800000' },
      },
      {
        kind: 'create-topic',
        topic: 'fleet.reservation.commands.v1.dlq',
        partitions: 12,
        replicationFactor: 1,
        configs: { 'cleanup.policy': 'delete', 'min.insync.replicas': '1', 'retention.ms': '1209600000' },
      },
    ]);
    expect(plan.refusals).toEqual([]);
    expect(plan.inSync).toEqual([]);
  });

  it('is empty when the cluster matches, ignoring configs the catalog does not manage', () => {
    const plan = planTopics(
      [commands, commandsDlq],
      [observedLike(commands), observedLike(commandsDlq)],
      scope,
    );
    expect(isEmptyPlan(plan)).toBe(true);
    expect(plan.inSync).toEqual(['fleet.reservation.commands.v1', 'fleet.reservation.commands.v1.dlq']);
  });

  it('treats cleanup policies listed in another order as equal', () => {
    const compacted = desired('fleet.vehicle.state.v1', {
      configs: {
        'cleanup.policy': 'compact,delete',
        'min.insync.replicas': '1',
        'retention.ms': '604800000',
      },
    });
    const observed = observedLike(compacted, {
      configs: {
        'cleanup.policy': 'delete, compact',
        'min.insync.replicas': '1',
        'retention.ms': '604800000',
      },
    });
    expect(isEmptyPlan(planTopics([compacted], [observed], scope))).toBe(true);
  });

  it('raises the partition count of a topic that has fewer partitions', () => {
    const plan = planTopics([commands], [observedLike(commands, { partitions: 6 })], scope);
    expect(plan.actions).toEqual([
      { kind: 'add-partitions', topic: 'fleet.reservation.commands.v1', from: 6, to: 12 },
    ]);
    expect(plan.refusals).toEqual([]);
  });

  it('refuses to shrink partitions and does nothing else to the partition count', () => {
    const plan = planTopics([commands], [observedLike(commands, { partitions: 24 })], scope);
    expect(plan.actions).toEqual([]);
    expect(plan.refusals).toEqual([
      expect.objectContaining({
        kind: 'shrink-partitions',
        topic: 'fleet.reservation.commands.v1',
        from: '24',
        to: '12',
        reason: expect.stringContaining('cannot remove partitions'),
      }),
    ]);
    expect(plan.inSync).toEqual([]);
  });

  it('refuses a replication-factor change in either direction', () => {
    const up = planTopics(
      [desired('fleet.a.b.v1', { replicationFactor: 3 })],
      [observedLike(desired('fleet.a.b.v1'))],
      scope,
    );
    expect(up.refusals).toEqual([
      expect.objectContaining({
        kind: 'change-replication-factor',
        topic: 'fleet.a.b.v1',
        from: '1',
        to: '3',
      }),
    ]);
    const down = planTopics(
      [desired('fleet.a.b.v1')],
      [observedLike(desired('fleet.a.b.v1'), { replicationFactor: 3 })],
      scope,
    );
    expect(down.refusals).toEqual([
      expect.objectContaining({ kind: 'change-replication-factor', from: '3', to: '1' }),
    ]);
    expect(down.actions).toEqual([]);
  });

  it('alters each drifted managed config with its old and new value', () => {
    const observed = observedLike(commands, {
      configs: { 'cleanup.policy': 'compact', 'min.insync.replicas': '1', 'retention.ms': '3600000' },
    });
    const plan = planTopics([commands], [observed], scope);
    expect(plan.actions).toEqual([
      { kind: 'alter-config', topic: commands.name, config: 'cleanup.policy', from: 'compact', to: 'delete' },
      {
        kind: 'alter-config',
        topic: commands.name,
        config: 'retention.ms',
        from: '3600000',
        to: '604800000',
      },
    ]);
  });

  it('sets a managed config the broker did not report', () => {
    const observed = observedLike(commands, {
      configs: { 'cleanup.policy': 'delete', 'min.insync.replicas': '1' },
    });
    expect(planTopics([commands], [observed], scope).actions).toEqual([
      { kind: 'alter-config', topic: commands.name, config: 'retention.ms', from: null, to: '604800000' },
    ]);
  });

  it('refuses a min.insync.replicas above the replicas the topic really has', () => {
    const tooMany = desired('fleet.a.b.v1', {
      configs: { 'cleanup.policy': 'delete', 'min.insync.replicas': '2', 'retention.ms': '604800000' },
    });
    const plan = planTopics([tooMany], [observedLike(desired('fleet.a.b.v1'))], scope);
    expect(plan.actions).toEqual([]);
    expect(plan.refusals).toEqual([
      expect.objectContaining({ kind: 'alter-config', config: 'min.insync.replicas', from: '1', to: '2' }),
    ]);
  });

  it('refuses to lower min.insync.replicas: fewer replicas would acknowledge acks=all writes', () => {
    const observed = observedLike(commands, {
      configs: { ...commands.configs, 'min.insync.replicas': '2' },
      replicationFactor: 1,
    });
    const plan = planTopics([commands], [observed], scope);
    expect(plan.actions).toEqual([]);
    expect(plan.refusals).toEqual([
      expect.objectContaining({ kind: 'alter-config', config: 'min.insync.replicas', from: '2', to: '1' }),
    ]);
  });

  it("changes nothing on a topic whose replication factor is not the profile's (the local profile against production)", () => {
    const production = observedLike(commands, {
      replicationFactor: 3,
      configs: { ...commands.configs, 'min.insync.replicas': '2', 'retention.ms': '1' },
    });
    const plan = planTopics([commands], [production], scope);
    expect(plan.actions).toEqual([]);
    expect(plan.refusals).toEqual([
      expect.objectContaining({ kind: 'change-replication-factor', from: '3', to: '1' }),
    ]);
    expect(plan.refusals[0]?.reason).toMatch(/--profile/);
  });

  it('reports fleet topics missing from the catalog instead of deleting them, sorted by name', () => {
    const plan = planTopics(
      [commands],
      [
        observedLike(commands),
        observedLike(desired('fleet.zzz.old.v1')),
        observedLike(desired('fleet.aaa.old.v1')),
        observedLike(desired('__consumer_offsets')),
        observedLike(desired('other-team.events')),
      ],
      scope,
    );
    expect(plan.actions).toEqual([]);
    expect(plan.refusals.map((r) => [r.kind, r.topic])).toEqual([
      ['delete-topic', 'fleet.aaa.old.v1'],
      ['delete-topic', 'fleet.zzz.old.v1'],
    ]);
    expect(plan.refusals[0]?.reason).toContain('not deleted');
  });

  it('only answers for topics under its own prefix', () => {
    const prefixed = desired('t1.fleet.a.b.v1');
    const plan = planTopics(
      [prefixed],
      [
        observedLike(prefixed),
        observedLike(desired('fleet.a.b.v1')),
        observedLike(desired('t2.fleet.a.b.v1')),
      ],
      { fleetPrefix: 't1.fleet.' },
    );
    expect(isEmptyPlan(plan)).toBe(true);
  });

  it('combines independent differences on one topic', () => {
    const observed = observedLike(commands, {
      partitions: 6,
      configs: { ...commands.configs, 'retention.ms': '1' },
    });
    const plan = planTopics([commands, commandsDlq], [observed], scope);
    expect(plan.actions.map((a) => `${a.kind} ${a.topic}`)).toEqual([
      'add-partitions fleet.reservation.commands.v1',
      'alter-config fleet.reservation.commands.v1',
      'create-topic fleet.reservation.commands.v1.dlq',
    ]);
  });

  it('does not mutate its inputs', () => {
    const input = [commands];
    const observed = [observedLike(commands, { partitions: 3 })];
    const snapshot = structuredClone({ input, observed });
    planTopics(input, observed, scope);
    expect({ input, observed }).toEqual(snapshot);
  });
});
