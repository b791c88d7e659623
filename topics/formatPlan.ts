import { formatDurationMs } from './duration.ts';
import type { TopicAction, TopicPlan, TopicRefusal } from './planTopics.ts';

/** Whether lines describe what will happen (plan) or what happened (apply). */
export type Tense = 'plan' | 'done';

const verbs: Readonly<Record<TopicAction['kind'], Readonly<Record<Tense, string>>>> = {
  'create-topic': { plan: 'create', done: 'created' },
  'add-partitions': { plan: 'add partitions', done: 'added partitions' },
  'alter-config': { plan: 'alter config', done: 'altered config' },
};

const refusalVerbs: Readonly<Record<TopicRefusal['kind'], string>> = {
  'shrink-partitions': 'REFUSE shrink',
  'change-replication-factor': 'REFUSE replication',
  'delete-topic': 'REFUSE delete',
  'alter-config': 'REFUSE config',
};

/** One row per action and refusal (verb, topic, detail), aligned in columns; "no changes" when there is nothing. */
export function formatPlan(
  plan: TopicPlan,
  tense: Tense = 'plan',
  failures: readonly { action: TopicAction; error: string }[] = [],
): string[] {
  const failed = new Set(failures.map((failure) => failure.action));
  const rows: [string, string, string][] = [
    ...plan.actions.map((action): [string, string, string] => [
      failed.has(action) ? `FAILED ${verbs[action.kind].plan}` : verbs[action.kind][tense],
      action.topic,
      describeAction(action) +
        (failed.has(action) ? ` — ${failures.find((f) => f.action === action)?.error}` : ''),
    ]),
    ...plan.refusals.map((refusal): [string, string, string] => [
      refusalVerbs[refusal.kind],
      refusal.topic,
      describeRefusal(refusal),
    ]),
  ];
  if (rows.length === 0) return [`no changes (${plan.inSync.length} topics in sync)`];
  const verbWidth = Math.max(...rows.map((row) => row[0].length));
  const topicWidth = Math.max(...rows.map((row) => row[1].length));
  const lines = rows.map(([verb, topic, detail]) =>
    `${verb.padEnd(verbWidth)}  ${topic.padEnd(topicWidth)}  ${detail}`.trimEnd(),
  );
  return [...lines, summarize(plan, tense, failures.length)];
}

function summarize(plan: TopicPlan, tense: Tense, failureCount: number): string {
  const parts = [
    `${plan.actions.length - failureCount} ${tense === 'plan' ? 'to change' : 'changed'}`,
    ...(failureCount > 0 ? [`${failureCount} failed`] : []),
    `${plan.refusals.length} refused`,
    `${plan.inSync.length} in sync`,
  ];
  return parts.join(', ');
}

function describeAction(action: TopicAction): string {
  switch (action.kind) {
    case 'create-topic':
      return [
        `partitions=${action.partitions}`,
        `replication=${action.replicationFactor}`,
        ...Object.entries(action.configs).map(([name, value]) => `${name}=${describeValue(name, value)}`),
      ].join(' ');
    case 'add-partitions':
      // Raising the count re-hashes keys, which matters for a fleet that relies on per-key order.
      return `${action.from} → ${action.to} (keys move: per-key order holds only among records written after)`;
    case 'alter-config':
      return `${action.config}: ${describeValue(action.config, action.from)} → ${describeValue(action.config, action.to)}`;
  }
}

function describeRefusal(refusal: TopicRefusal): string {
  const change =
    refusal.from === null && refusal.to === null
      ? ''
      : `${refusal.config ? `${refusal.config}: ` : ''}${describeValue(refusal.config ?? '', refusal.from)} → ${describeValue(refusal.config ?? '', refusal.to)}: `;
  return `${change}${refusal.reason}`;
}

/** Shows retention in milliseconds as Kafka stores it, plus the human form the catalog uses. */
function describeValue(config: string, value: string | null): string {
  if (value === null) return '(unset)';
  if (config.endsWith('.ms') && /^-?\d+$/.test(value)) return `${value} (${formatDurationMs(Number(value))})`;
  return value;
}
