/** Milliseconds per unit of the human duration forms accepted in the catalog (`500ms`, `30s`, `15m`, `12h`, `7d`, `2w`). */
const unitMs: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Kafka's spelling of "keep forever" for retention.ms. */
export const infiniteRetentionMs = -1;

/**
 * Parses a retention: a whole number of milliseconds, a single-unit human form such as `7d`,
 * or `infinite` / -1 (Kafka's "never delete"). Returns undefined when the input is none of these.
 */
export function parseRetentionMs(input: unknown): number | undefined {
  if (typeof input === 'number') {
    if (input === infiniteRetentionMs) return infiniteRetentionMs;
    return Number.isSafeInteger(input) && input > 0 ? input : undefined;
  }
  if (typeof input !== 'string') return undefined;
  const text = input.trim();
  if (text === 'infinite' || text === '-1') return infiniteRetentionMs;
  const match = /^(\d+)\s*(ms|s|m|h|d|w)?$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]) * (unitMs[match[2] ?? 'ms'] ?? 1);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** Renders milliseconds in the largest unit that divides them exactly (`604800000` → `7d`), for plan output. */
export function formatDurationMs(ms: number): string {
  if (ms === infiniteRetentionMs) return 'infinite';
  // Days, not weeks: ops read "14d" faster than "2w" next to Kafka's own day-based defaults.
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = unitMs[unit] ?? 1;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
