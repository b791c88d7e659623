/**
 * Replay progress of one DLQ partition, kept durably as the committed offset and commit
 * metadata of the consumer group `fleet.ops.dlq-replay.<dlq topic>`:
 *  - the committed offset is `next`: every record below it was replayed;
 *  - `done` lists replayed offsets at or above `next` (a filtered replay skips records, so
 *    replayed ones can lie beyond the first record still waiting);
 *  - `pending` is written before a record is sent and cleared once the broker acknowledged
 *    it: a run that died in between left it, and the next run looks for the replay marker on
 *    the original topic to learn whether the send landed.
 */
export interface ReplayProgress {
  next: number;
  /** Sorted, unique, all ≥ next. */
  done: readonly number[];
  pending: PendingReplay | undefined;
}

/** A send that was started and not known to be acknowledged. */
export interface PendingReplay {
  /** DLQ offset of the record being sent. */
  offset: number;
  /** When the send started (ms since epoch); also the replayed record's timestamp. */
  at: number;
  /** Where it was sent. */
  topic: string;
  /**
   * The partition it was sent to; undefined when the key picked one (the topic has fewer
   * partitions than the one it came from) or in progress written before this was recorded.
   */
  partition: number | undefined;
  /**
   * Latest time (ms since epoch) the send could still have been appended: past this the producer
   * gave up on it. Undefined in progress written before this was recorded.
   */
  until: number | undefined;
}

/** Kafka's default offset.metadata.max.bytes is 4096; stay well below it. */
export const maxProgressMetadataBytes = 3500;

/** The commit metadata is not ours or is damaged: a human must look before anything is replayed again. */
export class ReplayProgressError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ReplayProgressError';
  }
}

/** The progress of a partition nobody replayed yet: everything from the log start waits. */
export function freshProgress(logStart: number): ReplayProgress {
  return { next: logStart, done: [], pending: undefined };
}

/** Reads a committed offset and its metadata; `undefined` offset means nothing was committed. */
export function decodeProgress(
  committed: number | undefined,
  metadata: string | null | undefined,
  logStart: number,
): ReplayProgress {
  if (committed === undefined || committed < 0) return freshProgress(logStart);
  // librdkafka may keep the C string's terminating NUL.
  const text = (metadata ?? '').replace(/\0+$/, '');
  if (text === '') return normalize({ next: committed, done: [], pending: undefined }, logStart);
  let parsed: { v?: unknown; done?: unknown; pending?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new ReplayProgressError(
      `replay progress metadata is not JSON: ${JSON.stringify(text.slice(0, 100))}`,
    );
  }
  if (parsed.v !== 1 || typeof parsed.done !== 'string') {
    throw new ReplayProgressError(`replay progress metadata has an unknown format: ${text.slice(0, 100)}`);
  }
  const pending = parsed.pending as
    | { o?: unknown; at?: unknown; t?: unknown; p?: unknown; u?: unknown }
    | undefined;
  if (pending !== undefined && !isWellFormedPending(pending)) {
    throw new ReplayProgressError(
      `replay progress metadata has a malformed pending send: ${text.slice(0, 100)}`,
    );
  }
  return normalize(
    {
      next: committed,
      done: decodeRanges(parsed.done),
      pending: pending
        ? {
            offset: pending.o as number,
            at: pending.at as number,
            topic: pending.t as string,
            partition: pending.p as number | undefined,
            until: pending.u as number | undefined,
          }
        : undefined,
    },
    logStart,
  );
}

/** The stored form of a pending send; `p` and `u` are optional so that older progress still reads. */
interface StoredPending {
  o: number;
  at: number;
  t: string;
  p?: number;
  u?: number;
}

function isWellFormedPending(pending: Record<string, unknown>): boolean {
  const optionalInteger = (value: unknown) => value === undefined || Number.isSafeInteger(value);
  return (
    Number.isSafeInteger(pending.o) &&
    Number.isSafeInteger(pending.at) &&
    typeof pending.t === 'string' &&
    optionalInteger(pending.p) &&
    optionalInteger(pending.u)
  );
}

/** The committed offset and metadata that store `progress`. */
export function encodeProgress(progress: ReplayProgress): { offset: number; metadata: string } {
  const body: { v: 1; done: string; pending?: StoredPending } = {
    v: 1,
    done: encodeRanges(progress.done),
  };
  const pending = progress.pending;
  if (pending) {
    body.pending = { o: pending.offset, at: pending.at, t: pending.topic };
    if (pending.partition !== undefined) body.pending.p = pending.partition;
    if (pending.until !== undefined) body.pending.u = pending.until;
  }
  return { offset: progress.next, metadata: JSON.stringify(body) };
}

/** Whether storing `progress` fits the broker's metadata limit. */
export function fitsMetadata(progress: ReplayProgress): boolean {
  return Buffer.byteLength(encodeProgress(progress).metadata) <= maxProgressMetadataBytes;
}

/** Whether the record at `offset` was already replayed. */
export function isReplayed(progress: ReplayProgress, offset: number): boolean {
  return offset < progress.next || progress.done.includes(offset);
}

/** Records `offset` as replayed (and clears a pending send of it); `next` moves past every contiguous done offset. */
export function markReplayed(progress: ReplayProgress, offset: number): ReplayProgress {
  const pending = progress.pending?.offset === offset ? undefined : progress.pending;
  if (offset < progress.next) return { ...progress, pending };
  const done = [...new Set([...progress.done, offset])].sort((a, b) => a - b);
  return normalize({ next: progress.next, done, pending }, progress.next);
}

/** Records that a send of the record at `offset` starts (where to, when, and by when it lands or fails). */
export function markPending(
  progress: ReplayProgress,
  offset: number,
  send: Omit<PendingReplay, 'offset'>,
): ReplayProgress {
  return { ...progress, pending: { offset, ...send } };
}

/** Clears a pending send that did not land (the record is still to be replayed). */
export function clearPending(progress: ReplayProgress): ReplayProgress {
  return { ...progress, pending: undefined };
}

/**
 * Records deleted by retention can never be replayed: `next` moves up to the log start, and
 * `next` moves past done offsets that follow it directly, so `done` stays short.
 */
function normalize(progress: ReplayProgress, logStart: number): ReplayProgress {
  let next = Math.max(progress.next, logStart);
  const done = progress.done.filter((o) => o >= next);
  let i = 0;
  while (i < done.length && done[i] === next) {
    next++;
    i++;
  }
  return { next, done: done.slice(i), pending: progress.pending };
}

/** `3-5,9` ⇄ [3, 4, 5, 9]. */
function encodeRanges(offsets: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < offsets.length) {
    const start = offsets[i]!;
    let end = start;
    while (i + 1 < offsets.length && offsets[i + 1] === end + 1) {
      end++;
      i++;
    }
    parts.push(start === end ? String(start) : `${start}-${end}`);
    i++;
  }
  return parts.join(',');
}

function decodeRanges(text: string): number[] {
  if (text === '') return [];
  const offsets: number[] = [];
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    const start = Number(match?.[1]);
    const end = Number(match?.[2] ?? match?.[1]);
    if (
      !match ||
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      end < start ||
      end - start > 1e7
    ) {
      throw new ReplayProgressError(`replay progress metadata has a malformed range ${JSON.stringify(part)}`);
    }
    for (let o = start; o <= end; o++) offsets.push(o);
  }
  return [...new Set(offsets)].sort((a, b) => a - b);
}
