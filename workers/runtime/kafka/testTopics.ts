import { randomUUID } from 'node:crypto';
import { type IAdminClient, RdKafka } from '@confluentinc/kafka-javascript';
import { adminClientConfig, defaultKafkaClientSettings } from './clientConfig.ts';

/**
 * Test helper: random topic names created through the admin client (auto-creation is off on
 * the stack) and deleted afterwards, so integration tests never share topics.
 */
export class TestTopics {
  private readonly admin: IAdminClient;
  private readonly created: string[] = [];
  readonly bootstrap: string;

  constructor(bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092') {
    this.bootstrap = bootstrap;
    this.admin = RdKafka.AdminClient.create(
      adminClientConfig(defaultKafkaClientSettings(bootstrap, 'fleet-tests')),
    );
  }

  /** A fresh `fleet.test-<purpose>-<random>.v1` topic with `partitions` partitions. */
  async create(purpose: string, partitions = 3): Promise<string> {
    const topic = `fleet.test-${purpose}-${randomUUID().slice(0, 8)}.v1`;
    await new Promise<void>((resolve, reject) => {
      this.admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 15_000, (error) =>
        error ? reject(error) : resolve(),
      );
    });
    this.created.push(topic);
    return topic;
  }

  /** A name that is guaranteed not to exist (never created). */
  missingName(purpose: string): string {
    return `fleet.test-${purpose}-missing-${randomUUID().slice(0, 8)}.v1`;
  }

  /** Deletes every topic created here and closes the admin client. */
  async close(): Promise<void> {
    for (const topic of this.created.splice(0)) {
      await new Promise<void>((resolve, reject) => {
        this.admin.deleteTopic(topic, 15_000, (error) => (error ? reject(error) : resolve()));
      });
    }
    this.admin.disconnect();
  }
}
