import kafkaJavascript, { type TopicDescription } from '@confluentinc/kafka-javascript';
import { TopicAdminError } from './topicsErrors.ts';

// The package is CommonJS; Node's ESM loader cannot see its named exports, so destructure the default.
const { AdminClient } = kafkaJavascript;

/** Partition count and replication of one existing topic, as the broker's metadata reports them. */
export interface TopicLayout {
  partitions: number;
  /** Replica count of the least-replicated partition: the weakest partition decides durability. */
  replicationFactor: number;
}

/** A topic to create, with its topic-level configs. */
export interface NewTopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Readonly<Record<string, string>>;
}

/**
 * What the topic tool needs from the cluster besides configs, through
 * @confluentinc/kafka-javascript's node-rdkafka-style AdminClient: it is the only one of the
 * package's two admin APIs that can add partitions (the KafkaJS-style admin cannot).
 */
export interface ClusterAdmin {
  listTopics(): Promise<string[]>;
  /** Layouts of the named topics; topics that do not exist are left out of the map. */
  describeTopics(names: readonly string[]): Promise<Map<string, TopicLayout>>;
  createTopic(spec: NewTopicSpec): Promise<void>;
  /** Raises the topic's partition count to `total` (Kafka cannot lower it). */
  createPartitions(topic: string, total: number): Promise<void>;
  close(): void;
}

type KafkaError = { code?: number; message?: string; isRetriable?: boolean };

/** librdkafka codes of failures that may go away by themselves (broker restarting, leader moving, slow controller). */
const retriableCodes = new Set([
  -195, // _TRANSPORT
  -187, // _ALL_BROKERS_DOWN
  -185, // _TIMED_OUT
  -166, // _TIMED_OUT_QUEUE
  5, // LEADER_NOT_AVAILABLE
  7, // REQUEST_TIMED_OUT
  41, // NOT_CONTROLLER
]);

/** librdkafka error code for "the topic already exists". */
export const topicAlreadyExistsCode = 36;
/** Broker error code for "unknown topic or partition". */
const unknownTopicCode = 3;

/** Wraps a librdkafka error as a TopicAdminError, keeping its code reachable through `cause`. */
export function toTopicAdminError(operation: string, error: unknown): TopicAdminError {
  const kafkaError = (error ?? {}) as KafkaError;
  const retriable = kafkaError.isRetriable === true || retriableCodes.has(kafkaError.code ?? 0);
  return new TopicAdminError(operation, kafkaError.message ?? String(error), retriable, { cause: error });
}

/** Opens an admin client on `bootstrap`; every call gives up after `timeoutMs`. Call close() when done. */
export function openClusterAdmin(options: { bootstrap: string; timeoutMs: number }): ClusterAdmin {
  const { bootstrap, timeoutMs } = options;
  const client = AdminClient.create({
    'bootstrap.servers': bootstrap,
    'client.id': 'fleetstream-topics',
    // Failures surface as rejected calls with the broker's message; librdkafka's own log lines would only repeat them.
    log_level: 0,
  });

  const call = <T>(operation: string, start: (done: (error: unknown, value?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => {
      start((error, value) => (error ? reject(toTopicAdminError(operation, error)) : resolve(value as T)));
    });

  return {
    listTopics: () =>
      call<string[]>('list topics', (done) =>
        client.listTopics({ timeout: timeoutMs }, (e, t) => done(e, t)),
      ),

    async describeTopics(names) {
      const layouts = new Map<string, TopicLayout>();
      if (names.length === 0) return layouts;
      const descriptions = await call<TopicDescription[]>('describe topics', (done) =>
        client.describeTopics([...names], { timeout: timeoutMs }, (e, r) => done(e, r)),
      );
      for (const description of descriptions) {
        if (description.error) {
          if (description.error.code === unknownTopicCode) continue;
          throw toTopicAdminError(`describe topic ${description.name}`, description.error);
        }
        layouts.set(description.name, {
          partitions: description.partitions.length,
          replicationFactor: Math.min(...description.partitions.map((p) => p.replicas.length)),
        });
      }
      return layouts;
    },

    createTopic: (spec) =>
      call<void>(`create topic ${spec.name}`, (done) =>
        client.createTopic(
          {
            topic: spec.name,
            num_partitions: spec.partitions,
            replication_factor: spec.replicationFactor,
            config: { ...spec.configs },
          },
          timeoutMs,
          (e) => done(e),
        ),
      ),

    createPartitions: (topic, total) =>
      call<void>(`add partitions to ${topic}`, (done) =>
        client.createPartitions(topic, total, timeoutMs, (e) => done(e)),
      ),

    close: () => client.disconnect(),
  };
}
