/** How messages of a partition may run side by side. */
export type OrderingMode = 'key' | 'partition' | 'unordered';

/** What the scheduler needs to know about a queued item. */
export interface Schedulable {
  /** `topic:partition` of the record. */
  readonly partitionId: string;
  /** The ordering key inside the partition (record key text in `key` mode). */
  readonly orderingKey: string;
  /** Slot where the scheduler keeps the item's lane while it is queued or running. */
  laneRef: unknown;
}

interface Lane<T> {
  readonly id: string;
  readonly partitionId: string;
  items: T[];
  head: number;
  /** An item of this lane is running (exclusive lanes run one at a time). */
  busy: boolean;
  /** The lane sits in the ready queue. */
  ready: boolean;
}

/**
 * Key-ordered bounded concurrency. Each lane is a FIFO: in `key` mode one lane per
 * (partition, key), in `partition` mode one per partition, and in `unordered` mode one
 * non-exclusive lane per partition. A lane runs one item at a time (except unordered),
 * lanes run side by side, and at most `maxConcurrency` items run in the whole process.
 * Held partitions (paused for a breaker or a DLQ cap) keep their lanes parked, in order.
 */
export class LaneScheduler<T extends Schedulable> {
  private readonly lanes = new Map<string, Lane<T>>();
  private readyLanes: Lane<T>[] = [];
  private readyHead = 0;
  private readonly held = new Set<string>();
  private readonly parked = new Map<string, Set<Lane<T>>>();
  private running = 0;
  private readonly mode: OrderingMode;
  private readonly maxConcurrency: number;
  private readonly run: (item: T) => void;

  /** `run` starts an item; the caller must call `complete(item)` (or `requeueFront`) when it ends. */
  constructor(mode: OrderingMode, maxConcurrency: number, run: (item: T) => void) {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1)
      throw new RangeError('maxConcurrency must be a positive integer');
    this.mode = mode;
    this.maxConcurrency = maxConcurrency;
    this.run = run;
  }

  /** Items running now. */
  get inFlight(): number {
    return this.running;
  }

  /** Queues an item behind the others of its lane. Call `pump()` after a batch of enqueues. */
  enqueue(item: T): void {
    const lane = this.laneFor(item);
    lane.items.push(item);
    this.markReady(lane);
  }

  /** Starts as many queued items as the concurrency limit and the lanes allow. */
  pump(): void {
    while (this.running < this.maxConcurrency && this.readyHead < this.readyLanes.length) {
      const lane = this.readyLanes[this.readyHead++]!;
      lane.ready = false;
      if (this.held.has(lane.partitionId)) {
        this.park(lane);
        continue;
      }
      if (lane.head >= lane.items.length || (lane.busy && this.mode !== 'unordered')) continue;
      const item = lane.items[lane.head]!;
      lane.items[lane.head] = undefined as unknown as T; // let the item be collected
      lane.head++;
      if (lane.head > 64 && lane.head * 2 > lane.items.length) {
        lane.items = lane.items.slice(lane.head);
        lane.head = 0;
      }
      lane.busy = true;
      this.running++;
      if (this.mode === 'unordered') this.markReady(lane);
      this.run(item);
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.readyLanes.length) {
      this.readyLanes = this.readyLanes.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  /** Marks a running item finished; its lane's next item becomes runnable. */
  complete(item: T): void {
    const lane = this.laneOf(item);
    this.running--;
    if (!lane) return;
    lane.busy = false;
    this.afterLaneChange(lane);
  }

  /** Puts a running item back at the front of its lane (to run again after a hold is released). */
  requeueFront(item: T): void {
    const lane = this.laneFor(item);
    this.running--;
    if (lane.head > 0) {
      lane.head--;
      lane.items[lane.head] = item;
    } else {
      lane.items.unshift(item);
    }
    lane.busy = false;
    this.afterLaneChange(lane);
  }

  /** Stops starting items of a partition; running ones finish. */
  hold(partitionId: string): void {
    this.held.add(partitionId);
  }

  /** Lets a held partition's lanes run again, in their original order. */
  release(partitionId: string): void {
    if (!this.held.delete(partitionId)) return;
    const parked = this.parked.get(partitionId);
    this.parked.delete(partitionId);
    if (parked) for (const lane of parked) this.markReady(lane);
  }

  /** Whether a partition is held. */
  isHeld(partitionId: string): boolean {
    return this.held.has(partitionId);
  }

  /** Removes every queued (not running) item of a partition, e.g. on revoke; returns them. */
  dropPartition(partitionId: string): T[] {
    const dropped: T[] = [];
    for (const lane of this.lanes.values()) {
      if (lane.partitionId !== partitionId) continue;
      for (let i = lane.head; i < lane.items.length; i++) dropped.push(lane.items[i]!);
      lane.items = [];
      lane.head = 0;
      if (!lane.busy) this.lanes.delete(lane.id);
    }
    this.parked.delete(partitionId);
    this.held.delete(partitionId);
    return dropped;
  }

  /** Queued items (not running) per partition id. */
  queuedByPartition(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const lane of this.lanes.values()) {
      const queued = lane.items.length - lane.head;
      if (queued > 0) counts.set(lane.partitionId, (counts.get(lane.partitionId) ?? 0) + queued);
    }
    return counts;
  }

  /** Number of live lanes (keys with queued or running work). */
  get laneCount(): number {
    return this.lanes.size;
  }

  private afterLaneChange(lane: Lane<T>): void {
    if (lane.head < lane.items.length) {
      this.markReady(lane);
    } else if (!lane.busy) {
      this.lanes.delete(lane.id);
      this.parked.get(lane.partitionId)?.delete(lane);
    }
  }

  private markReady(lane: Lane<T>): void {
    if (lane.ready) return;
    if (this.held.has(lane.partitionId)) {
      this.park(lane);
      return;
    }
    lane.ready = true;
    this.readyLanes.push(lane);
  }

  private park(lane: Lane<T>): void {
    let set = this.parked.get(lane.partitionId);
    if (!set) {
      set = new Set();
      this.parked.set(lane.partitionId, set);
    }
    set.add(lane);
  }

  private laneId(item: T): string {
    return this.mode === 'key' ? `${item.partitionId}\u0000${item.orderingKey}` : item.partitionId;
  }

  private laneFor(item: T): Lane<T> {
    if (item.laneRef !== undefined) {
      const known = this.laneOf(item);
      if (known) return known;
    }
    const id = this.laneId(item);
    let lane = this.lanes.get(id);
    if (!lane) {
      lane = { id, partitionId: item.partitionId, items: [], head: 0, busy: false, ready: false };
      this.lanes.set(id, lane);
    }
    item.laneRef = lane;
    return lane;
  }

  // The cached lane, if it is still the live lane of its id (a lane is dropped once empty and idle).
  private laneOf(item: T): Lane<T> | undefined {
    const lane = item.laneRef as Lane<T> | undefined;
    if (lane && this.lanes.get(lane.id) === lane) return lane;
    return this.lanes.get(this.laneId(item));
  }
}
