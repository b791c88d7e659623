import { Redis } from 'ioredis';
import { answerWithin } from './answerWithin.ts';
import type { DeadLetterBlock } from './deadLetterCaps.ts';
import { failFastRedisOptions } from './failFastRedis.ts';
import { type ResilienceLogger, silentLogger } from './resilienceLogger.ts';
import { stripUndefined } from './sharedDeadLetterRate.ts';

/** A partition of a topic. */
export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

/**
 * Where a partition's dead-letter-cap block outlives the replica that tripped it, so the
 * partition's next owner (after a rebalance, a scale-out, a restart) inherits the pause instead
 * of dead-lettering another run of the same poison flood. An interface so unit tests can inject
 * a fake. Every method answers within its timeout and never throws: without the store a block
 * is local to its replica, as it was before.
 */
export interface DeadLetterBlockStore {
  start(): Promise<void>;
  /**
   * Records a partition block until it lifts (its cool-down) or at most `operatorBlockTtlMs`;
   * never replaces a newer block of the partition (a later `since`). Retried in the background
   * while Redis does not answer.
   */
  save(block: DeadLetterBlock): Promise<void>;
  /**
   * Forgets a lifted partition block — only that block (same `since`): a late delete from an old
   * owner must not erase the block its successor tripped since. Retried like `save`.
   */
  remove(block: DeadLetterBlock): Promise<void>;
  /** The blocks still in force among `partitions`, by `topic:partition`; empty when the store cannot answer. */
  load(partitions: readonly TopicPartitionRef[]): Promise<Map<string, DeadLetterBlock>>;
  stop(): Promise<void>;
}

export interface RedisDeadLetterBlocksOptions {
  /** Worker name: its replicas share the blocks (the consumer group's partitions). */
  worker: string;
  redisUrl: string;
  /** Longest wait for one Redis round trip, in ms. Default 500. */
  timeoutMs?: number;
  /**
   * How long a block that only an operator lifts (no cool-down) is kept for the next owner, in
   * ms. Default 24 h: every Redis key has a TTL (BRIEF §6).
   */
  operatorBlockTtlMs?: number;
  /** Key prefix. Default 'fleet:dlq-block:'. */
  keyPrefix?: string;
  now?: () => number;
  logger?: ResilienceLogger;
}

/** The default prefix of the block keys (`<prefix><worker>:<topic>:<partition>`). */
export const deadLetterBlockKeyPrefix = 'fleet:dlq-block:';

/** A stored block as `ops dlq blocks` lists it: whose it is and how long its key has left. */
export interface StoredDeadLetterBlock extends DeadLetterBlock {
  worker: string;
  /** Milliseconds until the key expires (the block then stops following its partition). */
  ttlMs: number;
}

/**
 * Every block stored for `worker` (or for every worker), oldest trip first: what the fleet's
 * replicas will inherit for those partitions. Reads with SCAN, never KEYS. Rejects when Redis
 * does not answer (the caller reports it).
 */
export async function listStoredBlocks(
  redis: Redis,
  options: { worker?: string; keyPrefix?: string } = {},
): Promise<StoredDeadLetterBlock[]> {
  const prefix = options.keyPrefix ?? deadLetterBlockKeyPrefix;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(
      cursor,
      'MATCH',
      `${prefix}${options.worker ?? '*'}:*`,
      'COUNT',
      500,
    );
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.get(key).pttl(key);
  const answers = (await pipeline.exec()) ?? [];
  const blocks: StoredDeadLetterBlock[] = [];
  keys.forEach((key, i) => {
    const value = answers[2 * i]?.[1] as string | null | undefined;
    const ttlMs = Number(answers[2 * i + 1]?.[1]);
    const block = typeof value === 'string' ? parseBlock(value) : undefined;
    if (!block || !(ttlMs > 0)) return;
    const worker = key.slice(prefix.length, key.length - `:${block.topic}:${block.partition}`.length);
    blocks.push({ ...block, worker, ttlMs });
  });
  return blocks.sort((a, b) => a.since - b.since);
}

/** The `topic:partition` key of a partition in the maps `load` returns. */
export function blockedPartitionKey(partition: TopicPartitionRef): string {
  return `${partition.topic}:${partition.partition}`;
}

// Writes a block unless the partition already holds a newer one (a later trip of its next owner).
const saveScript = `local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and tonumber(stored.since) and tonumber(stored.since) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`;

// Deletes the block only if it is the one lifted (same since).
const removeScript = `local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, stored = pcall(cjson.decode, current)
if ok and type(stored) == 'table' and tonumber(stored.since) == tonumber(ARGV[1]) then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** A write the store still owes Redis; the newest per partition wins. */
type PendingWrite = { kind: 'save' | 'remove'; block: DeadLetterBlock };

const firstRetryDelayMs = 1_000;
const longestRetryDelayMs = 30_000;

/**
 * Blocks kept in Redis, one key per partition with the block's remaining time as its TTL. A
 * write that fails (Redis unreachable, slow) is kept and retried with backoff until it lands or
 * the store stops, newest write per partition first: an operator's resume during a Redis blip
 * must not leave a lifted block behind for the partition's next owner to inherit.
 */
export class RedisDeadLetterBlocks implements DeadLetterBlockStore {
  private readonly options: Required<Omit<RedisDeadLetterBlocksOptions, 'now' | 'logger'>>;
  private readonly now: () => number;
  private readonly logger: ResilienceLogger;
  private readonly client: Redis;
  private readonly pending = new Map<string, PendingWrite>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = firstRetryDelayMs;
  private stopped = false;

  constructor(options: RedisDeadLetterBlocksOptions) {
    this.options = {
      timeoutMs: 500,
      operatorBlockTtlMs: 24 * 3_600_000,
      keyPrefix: deadLetterBlockKeyPrefix,
      ...stripUndefined(options),
    } as RedisDeadLetterBlocks['options'];
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    // Fail fast instead of queueing while disconnected: the block then stays local.
    this.client = new Redis(this.options.redisUrl, {
      ...failFastRedisOptions(this.options.timeoutMs, `fleet-dlq-blocks:${this.options.worker}`),
      lazyConnect: true,
    });
    // Failures surface where they matter (a save or load that did not happen); reconnects would flood the log.
    this.client.on('error', (error: Error) =>
      this.logger('debug', 'dlq block store redis error', { error: error.message }),
    );
  }

  async start(): Promise<void> {
    try {
      await answerWithin(this.client.connect(), Math.max(1_000, this.options.timeoutMs));
    } catch (error) {
      // ioredis keeps reconnecting; until then blocks stay local to the replica that trips them.
      this.logger('warn', 'dlq block store: Redis unreachable at start; blocks stay local until it answers', {
        worker: this.options.worker,
        error: (error as Error).message,
      });
    }
  }

  async save(block: DeadLetterBlock): Promise<void> {
    await this.write({ kind: 'save', block });
  }

  async remove(block: DeadLetterBlock): Promise<void> {
    await this.write({ kind: 'remove', block });
  }

  /** Writes still owed to Redis (waiting for a retry). */
  get pendingWrites(): number {
    return this.pending.size;
  }

  private async write(write: PendingWrite): Promise<void> {
    if (write.block.scope !== 'partition' || this.stopped) return;
    const key = this.keyOf({ topic: write.block.topic!, partition: write.block.partition! });
    this.pending.set(key, write);
    await this.flush(key);
  }

  // Sends the newest write owed for `key`; on failure it stays owed and a retry is scheduled.
  private async flush(key: string): Promise<boolean> {
    const write = this.pending.get(key);
    if (!write) return true;
    const done = await this.apply(key, write);
    if (done) {
      if (this.pending.get(key) === write) this.pending.delete(key);
      return true;
    }
    this.scheduleRetry();
    return false;
  }

  private async apply(key: string, { kind, block }: PendingWrite): Promise<boolean> {
    const ref = { topic: block.topic!, partition: block.partition! };
    if (kind === 'remove') {
      return (
        (await this.attempt('remove', ref, () =>
          this.client.eval(removeScript, 1, key, String(block.since)),
        )) !== undefined
      );
    }
    const ttlMs =
      block.resumesAt === null ? this.options.operatorBlockTtlMs : Math.ceil(block.resumesAt - this.now());
    // Lifted by its cool-down meanwhile: nothing left to hand on.
    if (ttlMs <= 0) return true;
    const stored = await this.attempt('save', ref, () =>
      this.client.eval(saveScript, 1, key, JSON.stringify(block), String(block.since), String(ttlMs)),
    );
    return stored !== undefined;
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retryPending();
    }, this.retryDelayMs);
    this.retryTimer.unref();
    this.retryDelayMs = Math.min(longestRetryDelayMs, this.retryDelayMs * 2);
  }

  private async retryPending(): Promise<void> {
    let allDone = true;
    for (const key of [...this.pending.keys()]) {
      if (this.stopped) return;
      if (!(await this.flush(key))) allDone = false;
    }
    if (allDone && this.pending.size === 0) {
      this.retryDelayMs = firstRetryDelayMs;
      this.logger('info', 'dlq block store: owed block writes stored', { worker: this.options.worker });
    }
  }

  async load(partitions: readonly TopicPartitionRef[]): Promise<Map<string, DeadLetterBlock>> {
    const found = new Map<string, DeadLetterBlock>();
    if (partitions.length === 0) return found;
    const values = await this.attempt('load', partitions[0]!, () =>
      this.client.mget(partitions.map((p) => this.keyOf(p))),
    );
    values?.forEach((value, i) => {
      const block = value === null ? undefined : parseBlock(value);
      const ref = partitions[i]!;
      if (!block || block.topic !== ref.topic || block.partition !== ref.partition) return;
      if (block.resumesAt !== null && block.resumesAt <= this.now()) return;
      found.set(blockedPartitionKey(ref), block);
    });
    return found;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.pending.size > 0) {
      this.logger('warn', 'dlq block store: stopping with block writes not stored', {
        worker: this.options.worker,
        writes: this.pending.size,
      });
    }
    this.client.disconnect();
  }

  private keyOf(partition: TopicPartitionRef): string {
    return `${this.options.keyPrefix}${this.options.worker}:${partition.topic}:${partition.partition}`;
  }

  // One bounded round trip; a failure is logged and answered with undefined (the block stays local).
  private async attempt<T>(
    what: 'save' | 'remove' | 'load',
    partition: TopicPartitionRef,
    call: () => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await answerWithin(call(), this.options.timeoutMs);
    } catch (error) {
      this.logger(
        'warn',
        `dlq block store: ${what} failed${what === 'load' ? ': nothing inherited' : '; retried in the background'}`,
        {
          worker: this.options.worker,
          topic: partition.topic,
          partition: partition.partition,
          error: (error as Error).message,
        },
      );
      return undefined;
    }
  }
}

/** A stored block, or undefined when the value is not one (a foreign or older key). */
function parseBlock(value: string): DeadLetterBlock | undefined {
  try {
    const parsed = JSON.parse(value) as Partial<DeadLetterBlock>;
    const valid =
      parsed.scope === 'partition' &&
      typeof parsed.topic === 'string' &&
      Number.isInteger(parsed.partition) &&
      (parsed.cap === 'ratio' || parsed.cap === 'consecutive') &&
      typeof parsed.reason === 'string' &&
      typeof parsed.since === 'number' &&
      (parsed.resumesAt === null || typeof parsed.resumesAt === 'number');
    return valid ? (parsed as DeadLetterBlock) : undefined;
  } catch {
    return undefined;
  }
}
