import type { EnvReader } from '../config/envReader.ts';
import type { ProducerTuning } from '../kafka/clientConfig.ts';

/** Producer options on top of the shared client settings. */
export interface ProducerSettings extends ProducerTuning {
  /**
   * KAFKA_PRODUCER_LINGER_MS: how long a record may wait to batch with others; default 0. Records
   * produced in one tick (a settler batch's events) still leave together, and under load batches
   * form while requests are in flight: 0 took 2–3 ms off the P5 median with no change to P3 or P4
   * (measured side by side, docs/benchmarks.md).
   */
  lingerMs: number;
  /** KAFKA_PRODUCER_COMPRESSION: none, gzip, snappy, lz4 or zstd; default lz4 (cheap CPU, good ratio on Avro). */
  compression: ProducerTuning['compression'];
  /**
   * KAFKA_PRODUCER_MESSAGE_TIMEOUT_MS: a send fails after this long without an acknowledgement
   * (broker down, partition leaderless); default 10000, so callers fail fast instead of hanging.
   * A record that first waited for room in a full local queue (which also gives up after this
   * long) can take up to twice as long: librdkafka's clock starts when it takes the record.
   */
  messageTimeoutMs: number;
  /**
   * KAFKA_PRODUCER_TOPIC_METADATA_PROPAGATION_MS: how long a topic the broker says does not exist
   * is given to appear before sends to it fail with UNKNOWN_TOPIC_OR_PART; default 5000. Keep it
   * below the message timeout, or a missing topic looks like a timeout.
   */
  topicMetadataPropagationMs: number;
  /** KAFKA_PRODUCER_QUEUE_MAX_MESSAGES: local queue bound in records; default 100000. */
  queueMaxMessages: number;
  /** KAFKA_PRODUCER_QUEUE_MAX_KBYTES: local queue bound in KiB; default 65536 (64 MiB, inside the RSS budget). */
  queueMaxKbytes: number;
  /** KAFKA_PRODUCER_CONNECT_TIMEOUT_MS: start() fails after this long without reaching a broker; default 10000. */
  connectTimeoutMs: number;
}

const compressions = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** Defaults that work on the local stack. */
export const defaultProducerSettings: Readonly<ProducerSettings> = Object.freeze({
  lingerMs: 0,
  compression: 'lz4',
  messageTimeoutMs: 10_000,
  topicMetadataPropagationMs: 5_000,
  queueMaxMessages: 100_000,
  queueMaxKbytes: 65_536,
  connectTimeoutMs: 10_000,
});

/** Reads the producer variables with the process's reader (call `reader.done()` afterwards). */
export function readProducerSettings(reader: EnvReader): ProducerSettings {
  const d = defaultProducerSettings;
  return {
    lingerMs: reader.int('KAFKA_PRODUCER_LINGER_MS', d.lingerMs, { min: 0, max: 1000 }),
    compression: reader.oneOf('KAFKA_PRODUCER_COMPRESSION', compressions, d.compression),
    messageTimeoutMs: reader.int('KAFKA_PRODUCER_MESSAGE_TIMEOUT_MS', d.messageTimeoutMs, {
      min: 100,
      max: 900_000,
    }),
    topicMetadataPropagationMs: reader.int(
      'KAFKA_PRODUCER_TOPIC_METADATA_PROPAGATION_MS',
      d.topicMetadataPropagationMs,
      { min: 0, max: 3_600_000 },
    ),
    queueMaxMessages: reader.int('KAFKA_PRODUCER_QUEUE_MAX_MESSAGES', d.queueMaxMessages, {
      min: 1,
      max: 2_147_483_647,
    }),
    queueMaxKbytes: reader.int('KAFKA_PRODUCER_QUEUE_MAX_KBYTES', d.queueMaxKbytes, {
      min: 1,
      max: 2_147_483_647,
    }),
    connectTimeoutMs: reader.int('KAFKA_PRODUCER_CONNECT_TIMEOUT_MS', d.connectTimeoutMs, {
      min: 100,
      max: 300_000,
    }),
  };
}
