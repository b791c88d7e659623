import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { committedOffsets } from '../../runtime/testing/kafkaTestKit.ts';

/** How a test consumer commits. */
export type CommitMode =
  /** librdkafka's auto-commit every 200 ms of what was handled. */
  | 'auto'
  /** An explicit commit of offset+1 after each handled record whose partition `commits` allows. */
  | 'each';

export interface TestGroupConsumerOptions {
  bootstrap: string;
  groupId: string;
  topic: string;
  commit: CommitMode;
  /** Stop handling (and committing) after this many records; default unlimited. */
  limit?: number;
  /** From this record on, the partition's records are handled but never committed (a consumer stuck behind a record). */
  stuckAt?: { partition: number; offset: number };
}

/**
 * Test helper: a real member of a consumer group (KIP-848 protocol, like the fleet's workers)
 * whose pace and commits a test controls. Not for production code.
 */
export class TestGroupConsumer {
  private readonly options: TestGroupConsumerOptions;
  private readonly consumer: KafkaJS.Consumer;
  /** Milliseconds each record takes; tests change it to slow down or speed up the drain. */
  delayMs = 0;
  /** Records handled so far (at most `limit`). */
  handled = 0;
  private stopped: Promise<void> | undefined;

  private constructor(options: TestGroupConsumerOptions) {
    this.options = options;
    const kafka = new KafkaJS.Kafka({
      kafkaJS: { brokers: options.bootstrap.split(','), logLevel: KafkaJS.logLevel.NOTHING },
    });
    this.consumer = kafka.consumer({
      'group.protocol': 'consumer',
      kafkaJS: {
        groupId: options.groupId,
        fromBeginning: true,
        autoCommit: options.commit === 'auto',
        ...(options.commit === 'auto' ? { autoCommitInterval: 200 } : {}),
      },
    } as KafkaJS.ConsumerConstructorConfig);
  }

  /** Joins the group and starts handling records. */
  static async start(options: TestGroupConsumerOptions): Promise<TestGroupConsumer> {
    const consumer = new TestGroupConsumer(options);
    await consumer.consumer.connect();
    await consumer.consumer.subscribe({ topics: [options.topic] });
    void consumer.consumer.run({ eachMessage: (payload) => consumer.handle(payload) });
    return consumer;
  }

  private async handle({ partition, message }: KafkaJS.EachMessagePayload): Promise<void> {
    const limit = this.options.limit ?? Number.POSITIVE_INFINITY;
    if (this.handled >= limit) return;
    if (this.delayMs > 0) await sleep(this.delayMs);
    const stuck = this.options.stuckAt;
    const stuckHere = stuck?.partition === partition && Number(message.offset) >= stuck.offset;
    if (this.options.commit === 'each' && !stuckHere) {
      await this.consumer.commitOffsets([
        { topic: this.options.topic, partition, offset: String(Number(message.offset) + 1) },
      ]);
    }
    // Counted once committed, so `waitForHandled(K)` means K records are committed.
    this.handled++;
  }

  /** Resolves once `handled` reached `count` (or rejects after `timeoutMs`). */
  async waitForHandled(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.handled < count) {
      if (Date.now() > deadline)
        throw new Error(`handled ${this.handled} of ${count} within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Resolves once the broker holds commits summing to `total` over the topic's partitions (commits land asynchronously). */
  async waitForCommitted(total: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const committed = await committedOffsets(this.options.groupId, this.options.topic);
      const sum = [...committed.values()].reduce((n, o) => n + Math.max(0, o), 0);
      if (sum === total) return;
      if (Date.now() > deadline) throw new Error(`committed ${sum} of ${total} within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Leaves the group (what a stopped or crashed worker looks like to the broker); idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.consumer.disconnect();
    return this.stopped;
  }
}
