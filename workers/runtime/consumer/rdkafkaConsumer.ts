// Named CommonJS exports like KafkaConsumer are invisible to Node's native ESM loader; the
// RdKafka namespace export is not.
import {
  type KafkaConsumer,
  type LibrdKafkaError,
  RdKafka,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@confluentinc/kafka-javascript';

/**
 * Methods the node-rdkafka-style KafkaConsumer has at run time (lib/kafka-consumer.js of
 * @confluentinc/kafka-javascript 1.10) but its rdkafka.d.ts does not declare.
 */
export interface RdKafkaConsumer extends KafkaConsumer {
  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void;
  rebalanceProtocol(): 'COOPERATIVE' | 'EAGER' | 'NONE';
  incrementalAssign(assignments: TopicPartition[]): void;
  incrementalUnassign(assignments: TopicPartition[]): void;
  assignmentLost(): boolean;
  commitCb(offsets: TopicPartitionOffset[], callback: (error: LibrdKafkaError | null) => void): this;
}

/** Creates the client consumer with the full run-time API typed. */
export function createRdKafkaConsumer(
  config: Record<string, unknown>,
  topicConfig: Record<string, unknown>,
): RdKafkaConsumer {
  return new RdKafka.KafkaConsumer(config as never, topicConfig as never) as RdKafkaConsumer;
}
