import type { ValueDecoder } from '../consumer/consumedMessage.ts';
import { AvroPoisonMessageError } from './avroErrors.ts';
import type { AvroSerde } from './avroSerde.ts';

const DLQ_SUFFIX = '.dlq';

/** The value subject of a topic by TopicNameStrategy; a dead-letter topic `<topic>.dlq` keeps its source topic's subject. */
export function valueSubjectOfTopic(topic: string): string {
  const source = topic.endsWith(DLQ_SUFFIX) ? topic.slice(0, -DLQ_SUFFIX.length) : topic;
  return `${source}-value`;
}

/**
 * The runtime's ValueDecoder for Avro topics: reads each value as its topic subject's reader
 * type when the serde has one (decodeAs), else as written (decode). A null value (tombstone)
 * is poison: none of our topics is compacted, so it can only be a foreign write.
 */
export function avroValueDecoder<Values extends object>(serde: AvroSerde<Values>): ValueDecoder<unknown> {
  // Per topic, the subject to read as (undefined: read as written); saves string work per message.
  const readAs = new Map<string, (keyof Values & string) | undefined>();
  return (value, topic) => {
    if (value === null) {
      return Promise.reject(
        new AvroPoisonMessageError('not-wire-format', `record on ${topic} has a null value (tombstone)`),
      );
    }
    let subject = readAs.get(topic);
    if (subject === undefined && !readAs.has(topic)) {
      const candidate = valueSubjectOfTopic(topic);
      subject = serde.hasReaderType(candidate) ? (candidate as keyof Values & string) : undefined;
      readAs.set(topic, subject);
    }
    return subject === undefined ? serde.decode(value) : serde.decodeAs(subject, value);
  };
}
