import { RdKafka } from '@confluentinc/kafka-javascript';

const ERRORS = RdKafka.CODES.ERRORS;

/** librdkafka error code → its name (`-192` → `ERR__MSG_TIMED_OUT`), for logs and bounded metric labels. */
const codeNames: ReadonlyMap<number, string> = new Map(
  Object.entries(ERRORS)
    .filter(([name]) => name !== 'ERR__BEGIN' && name !== 'ERR__END')
    .map(([name, code]) => [code, name]),
);

/**
 * Codes where the same operation may succeed later without anyone changing anything: the
 * network, a leader election, an overloaded or restarting broker, a full local queue.
 * Delivery-report errors carry no `isRetriable` flag, hence this table.
 */
const retriableCodes: ReadonlySet<number> = new Set([
  ERRORS.ERR__TRANSPORT,
  ERRORS.ERR__RESOLVE,
  ERRORS.ERR__MSG_TIMED_OUT,
  ERRORS.ERR__TIMED_OUT,
  ERRORS.ERR__TIMED_OUT_QUEUE,
  ERRORS.ERR__ALL_BROKERS_DOWN,
  ERRORS.ERR__QUEUE_FULL,
  ERRORS.ERR__WAIT_COORD,
  ERRORS.ERR__NODE_UPDATE,
  ERRORS.ERR__ISR_INSUFF,
  ERRORS.ERR__DESTROY,
  ERRORS.ERR__PURGE_QUEUE,
  ERRORS.ERR__PURGE_INFLIGHT,
  ERRORS.ERR__IN_PROGRESS,
  ERRORS.ERR__PREV_IN_PROGRESS,
  ERRORS.ERR_LEADER_NOT_AVAILABLE,
  ERRORS.ERR_NOT_LEADER_FOR_PARTITION,
  ERRORS.ERR_REQUEST_TIMED_OUT,
  ERRORS.ERR_NETWORK_EXCEPTION,
  ERRORS.ERR_COORDINATOR_LOAD_IN_PROGRESS,
  ERRORS.ERR_COORDINATOR_NOT_AVAILABLE,
  ERRORS.ERR_NOT_COORDINATOR,
  ERRORS.ERR_NOT_ENOUGH_REPLICAS,
  ERRORS.ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ERRORS.ERR_REBALANCE_IN_PROGRESS,
  ERRORS.ERR_KAFKA_STORAGE_ERROR,
  ERRORS.ERR_FENCED_LEADER_EPOCH,
  ERRORS.ERR_UNKNOWN_LEADER_EPOCH,
  ERRORS.ERR_OFFSET_NOT_AVAILABLE,
  ERRORS.ERR_PREFERRED_LEADER_NOT_AVAILABLE,
  ERRORS.ERR_THROTTLING_QUOTA_EXCEEDED,
  ERRORS.ERR_CONCURRENT_TRANSACTIONS,
  ERRORS.ERR_REBOOTSTRAP_REQUIRED,
]);

/** The shape of the client's errors (LibrdKafkaError) as far as we rely on it. */
export interface LibrdKafkaErrorLike {
  message: string;
  code: number;
  isFatal?: boolean;
  isRetriable?: boolean;
}

/** Whether `value` looks like a LibrdKafkaError (the client throws and reports these, not Error subclasses). */
export function isLibrdKafkaError(value: unknown): value is LibrdKafkaErrorLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'number' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** The symbolic name of a librdkafka code; `ERR_<n>` for codes this client build does not know. */
export function librdkafkaCodeName(code: number): string {
  return codeNames.get(code) ?? `ERR_${code}`;
}

/**
 * Whether retrying may help. A fatal error never; the client's own `isRetriable` when it says
 * yes; otherwise our table. UNKNOWN_TOPIC_OR_PART is deliberately not retriable: auto topic
 * creation is off, so only an operator applying the topic catalog can fix it.
 */
export function isRetriableLibrdkafkaError(error: LibrdKafkaErrorLike): boolean {
  if (error.isFatal === true || error.code === ERRORS.ERR__FATAL) return false;
  if (error.isRetriable === true) return true;
  return retriableCodes.has(error.code);
}

/** A failure reported by the Kafka client, typed so callers act on `retriable` instead of message text. */
export class KafkaClientError extends Error {
  /** Whether trying the same operation again (later, or on a new client) may succeed. */
  readonly retriable: boolean;
  /** Symbolic librdkafka code, e.g. `ERR__MSG_TIMED_OUT`; bounded, safe as a metric label. */
  readonly code: string;
  /** Numeric librdkafka code (negative: client-local; positive: broker protocol error). */
  readonly errno: number;
  /** The client instance can no longer be used (idempotence broken, for example): restart it. */
  readonly fatal: boolean;

  constructor(
    message: string,
    options: { code: number; retriable: boolean; fatal?: boolean; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.errno = options.code;
    this.code = librdkafkaCodeName(options.code);
    this.retriable = options.retriable;
    this.fatal = options.fatal ?? false;
  }
}

/** The client could not reach the cluster within its connect timeout. */
export class KafkaConnectError extends KafkaClientError {}

/**
 * Wraps anything the client threw or reported into a KafkaClientError subclass. `context`
 * says what was being done ("could not deliver to fleet.x.v1"); the client's text follows it.
 */
export function toKafkaClientError<E extends KafkaClientError>(
  error: unknown,
  context: string,
  ErrorClass: new (message: string, options: ConstructorParameters<typeof KafkaClientError>[1]) => E,
): E {
  if (error instanceof ErrorClass) return error;
  if (isLibrdKafkaError(error)) {
    return new ErrorClass(`${context}: ${error.message} (${librdkafkaCodeName(error.code)})`, {
      code: error.code,
      retriable: isRetriableLibrdkafkaError(error),
      fatal: error.isFatal === true || error.code === ERRORS.ERR__FATAL,
      cause: error,
    });
  }
  const text = error instanceof Error ? error.message : String(error);
  return new ErrorClass(`${context}: ${text}`, { code: ERRORS.ERR__FAIL, retriable: false, cause: error });
}

/** The codes the runtime branches on, by name, so callers need not import the client. */
export const librdkafkaCodes = Object.freeze({
  QUEUE_FULL: ERRORS.ERR__QUEUE_FULL,
  MSG_TIMED_OUT: ERRORS.ERR__MSG_TIMED_OUT,
  ALL_BROKERS_DOWN: ERRORS.ERR__ALL_BROKERS_DOWN,
  TRANSPORT: ERRORS.ERR__TRANSPORT,
  TIMED_OUT: ERRORS.ERR__TIMED_OUT,
  FATAL: ERRORS.ERR__FATAL,
  STATE: ERRORS.ERR__STATE,
  DESTROY: ERRORS.ERR__DESTROY,
  UNKNOWN_TOPIC_OR_PART: ERRORS.ERR_UNKNOWN_TOPIC_OR_PART,
  /** The client's own verdict on a topic the broker said does not exist (later sends fail at once). */
  UNKNOWN_TOPIC: ERRORS.ERR__UNKNOWN_TOPIC,
  MSG_SIZE_TOO_LARGE: ERRORS.ERR_MSG_SIZE_TOO_LARGE,
});
