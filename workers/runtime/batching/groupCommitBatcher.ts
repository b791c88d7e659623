import { RetriableError } from '../errors/processingErrors.ts';

/** How items are grouped into transactions. */
export interface BatchingOptions {
  /** Most commands settled in one transaction. */
  maxBatchSize: number;
  /**
   * How long the first command of a batch waits for company. 0 takes what arrived in the same
   * turn of the event loop; under load, commands arriving while every slot is busy wait anyway
   * and form the next batch, so batches grow with load without a fixed delay at low load.
   */
  lingerMs: number;
  /** Transactions running at once; commands arriving meanwhile wait and form the next, larger batch. */
  maxBatchesInFlight: number;
  /**
   * Longest an item may wait for a batch before it is refused with a RetriableError (code
   * BATCH_QUEUE_TIMEOUT); unset: no limit. Request paths set it so that overload or a stuck
   * database answers "retry later" instead of queueing requests in memory without bound.
   */
  maxQueueWaitMs?: number;
}

/** Per item of a batch: its value or its own error. */
export type BatchItemResult<R> = { ok: true; settlement: R } | { ok: false; error: unknown };

/** Settles one batch; must return one result per item, in order. */
export type BatchRunner<C, R> = (batch: C[]) => Promise<BatchItemResult<R>[]>;

/** Sees each batch as it completes (metrics). */
export type BatchObserver = (size: number, durationMs: number) => void;

interface Waiting<C, R> {
  item: C;
  keys: readonly string[];
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
  /** Refuses the item if it is still queued at maxQueueWaitMs. */
  deadline?: NodeJS.Timeout;
}

/**
 * Group commit: gathers items submitted within a short linger (or until a batch is full) and
 * runs them together, resolving each submitter after its batch's transaction ended. An item
 * never shares a batch, nor runs concurrently, with another item holding one of its keys (the
 * settler's vehicle and reservation ids, the ingress's customer): per-key order stays serial
 * inside the process. Later items of a busy key wait, in submission order, behind the batch
 * holding it. Used by the settler (settlements) and the ingress (pending-request placement).
 */
export class GroupCommitBatcher<C, R> {
  private readonly options: BatchingOptions;
  private readonly run: BatchRunner<C, R>;
  private readonly keysOf: (item: C) => readonly string[];
  private readonly observe: BatchObserver;
  private readonly queue: Waiting<C, R>[] = [];
  private readonly busyKeys = new Set<string>();
  private readonly idleWaiters: Array<() => void> = [];
  private batchesInFlight = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private closing: Promise<void> | undefined;
  private readonly name: string;

  /** `name` says whose batcher this is in the error a submit after close() gets. */
  constructor(
    options: BatchingOptions,
    run: BatchRunner<C, R>,
    keysOf: (item: C) => readonly string[],
    observe: BatchObserver = () => {},
    name = 'settlement',
  ) {
    this.options = options;
    this.run = run;
    this.keysOf = keysOf;
    this.observe = observe;
    this.name = name;
  }

  /** Items waiting for a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /** Runs `item` in the next batch it may join; resolves or rejects with its own result. */
  submit(item: C): Promise<R> {
    if (this.closing) {
      return Promise.reject(
        new RetriableError(`the ${this.name} batcher is closed`, { code: 'BATCHER_CLOSED' }),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const waiting: Waiting<C, R> = { item, keys: this.keysOf(item), resolve, reject };
      const maxWait = this.options.maxQueueWaitMs;
      if (maxWait !== undefined) {
        waiting.deadline = setTimeout(() => this.expire(waiting, maxWait), maxWait);
        waiting.deadline.unref();
      }
      this.queue.push(waiting);
      if (this.queue.length >= this.options.maxBatchSize) this.flush();
      else this.scheduleFlush();
    });
  }

  /** Refuses an item that waited too long for a batch (it is no longer queued once rejected). */
  private expire(waiting: Waiting<C, R>, waitedMs: number): void {
    const index = this.queue.indexOf(waiting);
    if (index < 0) return;
    this.queue.splice(index, 1);
    waiting.reject(
      new RetriableError(`waited ${waitedMs} ms for a ${this.name} batch`, { code: 'BATCH_QUEUE_TIMEOUT' }),
    );
    this.wakeIfIdle();
  }

  /** Stops taking items, runs those already submitted without lingering, and resolves when no batch runs. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.flush();
      if (this.queue.length > 0 || this.batchesInFlight > 0) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      }
    })();
    return this.closing;
  }

  private scheduleFlush(): void {
    if (this.timer !== undefined) return;
    this.timer =
      this.options.lingerMs === 0
        ? setImmediate(() => this.flush())
        : setTimeout(() => this.flush(), this.options.lingerMs);
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }

  /**
   * Starts as many batches as capacity and key conflicts allow, each as full as the queue allows:
   * the fixed cost of a transaction (round trips, commit) is paid once for as many commands as
   * possible. (Sharing the queue evenly among free slots was measured slower: batches fragment
   * into many small ones whose fixed costs dominate.)
   */
  private flush(): void {
    this.clearTimer();
    while (this.batchesInFlight < this.options.maxBatchesInFlight && this.queue.length > 0) {
      const batch = this.cutBatch(this.options.maxBatchSize);
      if (batch.length === 0) break;
      void this.runBatch(batch);
    }
  }

  /** Takes up to `size` queued items whose keys are free, in order; items behind a busy key stay queued. */
  private cutBatch(size: number): Waiting<C, R>[] {
    const batch: Waiting<C, R>[] = [];
    const claimed = new Set<string>();
    const remaining: Waiting<C, R>[] = [];
    for (const waiting of this.queue) {
      const free =
        batch.length < size && waiting.keys.every((key) => !this.busyKeys.has(key) && !claimed.has(key));
      // A blocked item still claims its keys, so no later item of the same key overtakes it.
      for (const key of waiting.keys) claimed.add(key);
      if (free) batch.push(waiting);
      else remaining.push(waiting);
    }
    this.queue.splice(0, this.queue.length, ...remaining);
    for (const waiting of batch) {
      clearTimeout(waiting.deadline);
      for (const key of waiting.keys) this.busyKeys.add(key);
    }
    return batch;
  }

  private async runBatch(batch: Waiting<C, R>[]): Promise<void> {
    this.batchesInFlight++;
    const started = performance.now();
    try {
      const results = await this.run(batch.map((w) => w.item));
      batch.forEach((waiting, index) => {
        const result = results[index];
        if (result === undefined)
          waiting.reject(new Error('the batch runner returned no result for an item'));
        else if (result.ok) waiting.resolve(result.settlement);
        else waiting.reject(result.error);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    } finally {
      this.observe(batch.length, performance.now() - started);
      for (const waiting of batch) for (const key of waiting.keys) this.busyKeys.delete(key);
      this.batchesInFlight--;
      // Whatever queued meanwhile has waited long enough: it forms the next batch now.
      if (this.queue.length > 0) this.flush();
      this.wakeIfIdle();
    }
  }

  /** Resolves close() once nothing is queued and no batch runs. */
  private wakeIfIdle(): void {
    if (this.queue.length === 0 && this.batchesInFlight === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}
