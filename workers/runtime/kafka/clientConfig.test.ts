import { describe, expect, it } from 'vitest';
import { EnvReader } from '../config/envReader.ts';
import { readStackEndpoints } from '../config/stackEndpoints.ts';
import { defaultProducerSettings } from '../producer/producerSettings.ts';
import {
  adminClientConfig,
  consumerClientConfig,
  defaultKafkaClientSettings,
  producerClientConfig,
  readKafkaClientSettings,
} from './clientConfig.ts';

describe('Kafka client settings', () => {
  it('defaults to the local stack and the worker name', () => {
    const reader = new EnvReader({});
    const settings = readKafkaClientSettings(reader, readStackEndpoints(reader), 'rental-ledger');
    reader.done();
    expect(settings).toEqual(defaultKafkaClientSettings('127.0.0.1:9092', 'rental-ledger'));
  });

  it('reads overrides and names every bad variable at once', () => {
    const reader = new EnvReader({
      KAFKA_BOOTSTRAP_SERVERS: 'kafka-1:9092,kafka-2:9092',
      KAFKA_CLIENT_ID: 'settler-7',
      KAFKA_LOG_LEVEL: '9',
      KAFKA_SOCKET_TIMEOUT_MS: 'soon',
    });
    const settings = readKafkaClientSettings(reader, readStackEndpoints(reader), 'x');
    expect(settings.bootstrapServers).toBe('kafka-1:9092,kafka-2:9092');
    expect(settings.clientId).toBe('settler-7');
    expect(() => reader.done()).toThrow(
      /KAFKA_LOG_LEVEL[\s\S]*KAFKA_SOCKET_TIMEOUT_MS|KAFKA_SOCKET_TIMEOUT_MS[\s\S]*KAFKA_LOG_LEVEL/,
    );
  });

  it('builds idempotent producer config with a bounded message timeout and delivery reports', () => {
    const config = producerClientConfig(
      defaultKafkaClientSettings('b:9092', 'ingress'),
      defaultProducerSettings,
    );
    expect(config).toMatchObject({
      'bootstrap.servers': 'b:9092',
      'client.id': 'ingress',
      'enable.idempotence': true,
      acks: -1,
      partitioner: 'murmur2_random',
      'linger.ms': 0,
      'compression.codec': 'lz4',
      'message.timeout.ms': 10_000,
      'topic.metadata.propagation.max.ms': 5_000,
      dr_cb: true,
      log_level: 4,
      // Every client type shares the base: TCP_NODELAY like the Java client.
      'socket.nagle.disable': true,
    });
  });

  it('builds consumer config with auto-commit and offset store off, admin config from the base', () => {
    const settings = defaultKafkaClientSettings('b:9092', 'notifier');
    expect(consumerClientConfig(settings, 'notifier-group', { 'fetch.min.bytes': 1 })).toMatchObject({
      'group.id': 'notifier-group',
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'fetch.min.bytes': 1,
      'client.id': 'notifier',
    });
    expect(adminClientConfig(settings)['bootstrap.servers']).toBe('b:9092');
  });
});
