import type { GroupLag, LagSnapshot } from '../workers/lag-monitor/lagSnapshot.ts';
import { formatTable } from './cliSupport.ts';

/** How `ops lag` shows an unknown figure: never as 0. */
export const unknownMark = '?';

function count(value: number | null): string {
  return value === null ? unknownMark : String(value);
}

function decimal(value: number | null, digits: number): string {
  return value === null ? unknownMark : value.toFixed(digits);
}

/** Sum of a group's per-topic rates; unknown when any topic's is. */
function groupRate(group: GroupLag, field: 'consumeRate' | 'produceRate'): number | null {
  if (group.topics.length === 0) return null;
  let sum = 0;
  for (const topic of group.topics) {
    const rate = topic[field];
    if (rate === null) return null;
    sum += rate;
  }
  return sum;
}

/** The `ops lag` table: one row per group, unknown figures as `?`. */
export function formatLagTable(snapshot: LagSnapshot): string[] {
  const rows = snapshot.groups.map((g) => [
    g.group,
    g.status ?? unknownMark,
    count(g.members),
    count(g.lag),
    decimal(g.lagSeconds, 1),
    decimal(groupRate(g, 'consumeRate'), 1),
    decimal(groupRate(g, 'produceRate'), 1),
    count(g.autoscale.desiredReplicas),
    count(g.autoscale.kedaReplicas),
  ]);
  const lines = formatTable(
    ['GROUP', 'STATUS', 'MEMBERS', 'LAG', 'LAG_S', 'CONSUME/S', 'PRODUCE/S', 'DESIRED', 'KEDA'],
    rows,
  );
  if (snapshot.groups.length === 0) lines.push('(no consumer group matched)');
  for (const g of snapshot.groups) {
    for (const error of g.errors) lines.push(`${g.group}: ${error}`);
    if (g.autoscale.excluded.length > 0) {
      const parts = g.autoscale.excluded.map((p) => `${p.topic}/${p.partition}`).join(', ');
      lines.push(`${g.group}: left out of DESIRED (STALL): ${parts}`);
    }
  }
  if (!snapshot.up) lines.push(`Kafka could not be read: ${snapshot.error ?? 'unknown error'}`);
  return lines;
}
