import { describe, expect, it } from 'vitest';
import { formatPlan } from './formatPlan.ts';
import type { TopicPlan } from './planTopics.ts';

const plan: TopicPlan = {
  actions: [
    {
      kind: 'create-topic',
      topic: 'fleet.rental.events.v1.dlq',
      partitions: 12,
      replicationFactor: 1,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': '1209600000' },
    },
    { kind: 'add-partitions', topic: 'fleet.rental.events.v1', from: 12, to: 16 },
    {
      kind: 'alter-config',
      topic: 'fleet.rental.events.v1',
      config: 'retention.ms',
      from: '3600000',
      to: '604800000',
    },
  ],
  refusals: [
    {
      kind: 'delete-topic',
      topic: 'fleet.old.v1',
      from: null,
      to: null,
      reason: 'on the cluster but not in the catalog',
    },
    {
      kind: 'shrink-partitions',
      topic: 'fleet.reservation.events.v1',
      from: '12',
      to: '6',
      reason: 'Kafka cannot remove partitions',
    },
  ],
  inSync: ['fleet.reservation.commands.v1'],
};

describe('formatPlan', () => {
  it('prints one aligned line per action and refusal, then a summary', () => {
    expect(formatPlan(plan)).toEqual([
      'create          fleet.rental.events.v1.dlq   partitions=12 replication=1 cleanup.policy=delete retention.ms=1209600000 (14d)',
      'add partitions  fleet.rental.events.v1       12 → 16 (keys move: per-key order holds only among records written after)',
      'alter config    fleet.rental.events.v1       retention.ms: 3600000 (1h) → 604800000 (7d)',
      'REFUSE delete   fleet.old.v1                 on the cluster but not in the catalog',
      'REFUSE shrink   fleet.reservation.events.v1  12 → 6: Kafka cannot remove partitions',
      '3 to change, 2 refused, 1 in sync',
    ]);
  });

  it('speaks in the past tense after apply and marks failed actions', () => {
    const failed = plan.actions[2];
    if (!failed) throw new Error('fixture lost its alter-config action');
    const lines = formatPlan(plan, 'done', [{ action: failed, error: 'broker said no' }]);
    expect(lines[0]).toMatch(/^created +fleet\.rental\.events\.v1\.dlq/);
    expect(lines[2]).toMatch(/^FAILED alter config {2}fleet\.rental\.events\.v1 /);
    expect(lines[0]?.indexOf('fleet.')).toBe(lines[2]?.indexOf('fleet.'));
    expect(lines[2]).toContain('— broker said no');
    expect(lines.at(-1)).toBe('2 changed, 1 failed, 2 refused, 1 in sync');
  });

  it('says "no changes" when there is nothing to do', () => {
    expect(formatPlan({ actions: [], refusals: [], inSync: ['a', 'b'] })).toEqual([
      'no changes (2 topics in sync)',
    ]);
  });

  it('shows a config the broker did not report as unset', () => {
    const [line] = formatPlan({
      actions: [{ kind: 'alter-config', topic: 't', config: 'cleanup.policy', from: null, to: 'delete' }],
      refusals: [],
      inSync: [],
    });
    expect(line).toBe('alter config  t  cleanup.policy: (unset) → delete');
  });
});
