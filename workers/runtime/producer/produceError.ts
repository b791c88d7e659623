import { KafkaClientError } from '../kafka/librdkafkaErrors.ts';

/**
 * A record was not acknowledged by the broker. `retriable` says whether sending it again may
 * succeed (broker down, timeout: yes; topic missing, record too large, producer fenced: no);
 * `code` is the librdkafka code name, e.g. `ERR__MSG_TIMED_OUT`.
 */
export class ProduceError extends KafkaClientError {}
