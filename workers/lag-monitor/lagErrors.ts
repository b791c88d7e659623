import { KafkaClientError } from '../runtime/kafka/librdkafkaErrors.ts';

/** A read of group or topic offsets through the Admin API failed; `retriable` says whether the next poll may succeed. */
export class LagReadError extends KafkaClientError {}
