import { RdKafka } from '@confluentinc/kafka-javascript';
import { describe, expect, it } from 'vitest';
import {
  isRetriableLibrdkafkaError,
  KafkaClientError,
  KafkaConnectError,
  librdkafkaCodeName,
  toKafkaClientError,
} from './librdkafkaErrors.ts';

const E = RdKafka.CODES.ERRORS;

describe('librdkafka error mapping', () => {
  it('names codes symbolically (bounded metric labels)', () => {
    expect(librdkafkaCodeName(E.ERR__MSG_TIMED_OUT)).toBe('ERR__MSG_TIMED_OUT');
    expect(librdkafkaCodeName(3)).toBe('ERR_UNKNOWN_TOPIC_OR_PART');
    expect(librdkafkaCodeName(-9999)).toBe('ERR_-9999');
  });

  it.each([
    ['ERR__MSG_TIMED_OUT', E.ERR__MSG_TIMED_OUT, true],
    ['ERR__TRANSPORT', E.ERR__TRANSPORT, true],
    ['ERR__ALL_BROKERS_DOWN', E.ERR__ALL_BROKERS_DOWN, true],
    ['ERR__QUEUE_FULL', E.ERR__QUEUE_FULL, true],
    ['ERR_NOT_LEADER_FOR_PARTITION', E.ERR_NOT_LEADER_FOR_PARTITION, true],
    ['ERR_NOT_ENOUGH_REPLICAS', E.ERR_NOT_ENOUGH_REPLICAS, true],
    ['ERR_UNKNOWN_TOPIC_OR_PART', E.ERR_UNKNOWN_TOPIC_OR_PART, false],
    ['ERR_MSG_SIZE_TOO_LARGE', E.ERR_MSG_SIZE_TOO_LARGE, false],
    ['ERR_TOPIC_AUTHORIZATION_FAILED', E.ERR_TOPIC_AUTHORIZATION_FAILED, false],
    ['ERR__INVALID_ARG', E.ERR__INVALID_ARG, false],
    ['ERR__FATAL', E.ERR__FATAL, false],
  ])('%s is retriable: %s', (_name, code, retriable) => {
    expect(isRetriableLibrdkafkaError({ code, message: 'x' })).toBe(retriable);
  });

  it('trusts the client when it flags an error retriable, but never a fatal one', () => {
    expect(isRetriableLibrdkafkaError({ code: E.ERR__FAIL, message: 'x', isRetriable: true })).toBe(true);
    expect(
      isRetriableLibrdkafkaError({ code: E.ERR__TRANSPORT, message: 'x', isRetriable: true, isFatal: true }),
    ).toBe(false);
  });

  it('wraps a LibrdKafkaError into the requested typed error with context', () => {
    const typed = toKafkaClientError(
      { code: E.ERR__TRANSPORT, message: 'broker transport failure', origin: 'local' },
      'could not connect to Kafka at 127.0.0.1:1',
      KafkaConnectError,
    );
    expect(typed).toBeInstanceOf(KafkaConnectError);
    expect(typed).toBeInstanceOf(KafkaClientError);
    expect(typed).toMatchObject({
      name: 'KafkaConnectError',
      code: 'ERR__TRANSPORT',
      errno: E.ERR__TRANSPORT,
      retriable: true,
      fatal: false,
      message: 'could not connect to Kafka at 127.0.0.1:1: broker transport failure (ERR__TRANSPORT)',
    });
  });

  it('wraps a plain Error as non-retriable and keeps an already typed error', () => {
    const typed = toKafkaClientError(new Error('Producer not connected'), 'send', KafkaClientError);
    expect(typed).toMatchObject({
      code: 'ERR__FAIL',
      retriable: false,
      message: 'send: Producer not connected',
    });
    expect(toKafkaClientError(typed, 'again', KafkaClientError)).toBe(typed);
  });
});
