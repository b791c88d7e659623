/** One observation of a partition's log-end offset: by `time` (ms since epoch) the log ended at `offset`. */
export interface OffsetPoint {
  offset: number;
  time: number;
}

/**
 * Adds a log-end observation to a partition's timeline (oldest first) and returns the new one.
 * A flat run (no new records) is kept as its first and last sighting, so the time a record was
 * written is bracketed by the last poll that did not see it and the first one that did, however
 * long the topic was idle before. A log end that went back means the topic was recreated: the
 * old timeline says nothing about the new log and is dropped. At most `maxPoints` are kept.
 */
export function appendLogEnd(
  timeline: readonly OffsetPoint[],
  point: OffsetPoint,
  maxPoints: number,
): OffsetPoint[] {
  const last = timeline[timeline.length - 1];
  if (last === undefined || point.offset < last.offset) return [point];
  if (point.time <= last.time) return [...timeline];
  const beforeLast = timeline[timeline.length - 2];
  let next: OffsetPoint[];
  if (point.offset === last.offset && beforeLast !== undefined && beforeLast.offset === last.offset) {
    // Extend the flat run: keep its first sighting, move its last one.
    next = [...timeline.slice(0, -1), point];
  } else {
    next = [...timeline, point];
  }
  return next.length > maxPoints ? next.slice(next.length - maxPoints) : next;
}

/**
 * When the record at `offset` was written, estimated from the timeline the way kafka-lag-exporter
 * does: between the two points that bracket it, `t = t2 − (o2 − o)·(t2 − t1)/(o2 − o1)`. Below the
 * oldest point the oldest rising segment is extended (an estimate, flagged by the caller's docs).
 * Undefined when the timeline has no two points with different offsets: nothing to interpolate on.
 */
export function estimateWriteTime(timeline: readonly OffsetPoint[], offset: number): number | undefined {
  const upperIndex = timeline.findIndex((p) => p.offset > offset);
  if (upperIndex === -1) return undefined;
  let lower: OffsetPoint | undefined;
  let upper: OffsetPoint | undefined;
  if (upperIndex > 0) {
    lower = timeline[upperIndex - 1];
    upper = timeline[upperIndex];
  } else {
    // Older than the whole timeline: extrapolate along the first segment that rises.
    lower = timeline[0];
    upper = timeline.find((p) => lower !== undefined && p.offset > lower.offset);
  }
  if (lower === undefined || upper === undefined || upper.offset === lower.offset) return undefined;
  return upper.time - ((upper.offset - offset) * (upper.time - lower.time)) / (upper.offset - lower.offset);
}

/**
 * Consumer lag in seconds for a committed offset: 0 when caught up with the latest log end,
 * otherwise `now` minus the estimated write time of the first unconsumed record, never negative.
 * Undefined (unknown, never 0) when the timeline cannot place the record.
 */
export function lagSeconds(
  timeline: readonly OffsetPoint[],
  committed: number,
  now: number,
): number | undefined {
  const latest = timeline[timeline.length - 1];
  if (latest === undefined) return undefined;
  if (committed >= latest.offset) return 0;
  const writtenAt = estimateWriteTime(timeline, committed);
  if (writtenAt === undefined) return undefined;
  return Math.max(0, (now - writtenAt) / 1000);
}
