import { AvroSerde } from '../avro/avroSerde.ts';
import { SchemaRegistryClient } from '../avro/schemaRegistryClient.ts';
import { loadSchemaRegistryConfig } from '../avro/schemaRegistryConfig.ts';
import { type RunningWorker, startWorker, type WorkerModule } from '../worker/runWorker.ts';
import { createTopics, deleteTopics, produceRecords, uniqueName } from './kafkaTestKit.ts';
import { registerContractSchema } from './schemaTestKit.ts';

/**
 * Real Kafka, registry and workers for a worker's integration tests: topics with random names
 * that carry a contract's schema (and their DLQs), Avro records produced keyed, workers started
 * with a test environment. `close()` stops the workers and removes every topic and subject. Test helper.
 */
export class WorkerTestBench {
  readonly registry = new SchemaRegistryClient(loadSchemaRegistryConfig());
  readonly serde = new AvroSerde({ source: this.registry });
  private readonly topics: string[] = [];
  private readonly subjects: string[] = [];
  private readonly workers: RunningWorker<unknown>[] = [];

  /** A `test.<purpose>.<random>` topic and its `.dlq`, the value schema of `contractSubject` registered for it. */
  async contractTopic(purpose: string, contractSubject: string, partitions = 3): Promise<string> {
    const topic = uniqueName(purpose);
    await createTopics([
      { topic, partitions },
      { topic: `${topic}.dlq`, partitions },
    ]);
    this.topics.push(topic, `${topic}.dlq`);
    this.subjects.push(await registerContractSchema(this.registry, topic, contractSubject));
    return topic;
  }

  /** Encodes each value with the topic's schema and produces it under `keyOf(value)`, in order. */
  async produce<V>(topic: string, values: readonly V[], keyOf: (value: V) => string): Promise<void> {
    const records = [];
    for (const value of values) {
      records.push({ key: keyOf(value), value: await this.serde.encode(`${topic}-value`, value as never) });
    }
    await produceRecords(topic, records);
  }

  /** Starts a worker on the shared runtime with `env`; it is stopped by close(). */
  async start<V>(
    module: WorkerModule<V>,
    env: Readonly<Record<string, string | undefined>>,
  ): Promise<RunningWorker<V>> {
    const worker = await startWorker(module, env);
    this.workers.push(worker as RunningWorker<unknown>);
    return worker;
  }

  /** Stops every worker, then deletes the topics and subjects and closes the registry client. */
  async close(): Promise<void> {
    for (const worker of this.workers.splice(0)) await worker.stop();
    await deleteTopics(this.topics.splice(0));
    for (const subject of this.subjects.splice(0)) {
      await this.registry.deleteSubject(subject).catch(() => undefined); // already gone: nothing to clean
    }
    this.registry.close();
  }
}
