import { describe, expect, it } from 'vitest';
import { EnvReader } from '../config/envReader.ts';
import { defaultProducerSettings, readProducerSettings } from './producerSettings.ts';

describe('producer settings', () => {
  it('defaults: linger 0 ms, lz4, 10 s message timeout', () => {
    const reader = new EnvReader({});
    expect(readProducerSettings(reader)).toEqual(defaultProducerSettings);
    reader.done();
  });

  it('reads overrides and rejects bad values by name', () => {
    const reader = new EnvReader({
      KAFKA_PRODUCER_LINGER_MS: '5',
      KAFKA_PRODUCER_COMPRESSION: 'zstd',
      KAFKA_PRODUCER_MESSAGE_TIMEOUT_MS: '30000',
    });
    expect(readProducerSettings(reader)).toMatchObject({
      lingerMs: 5,
      compression: 'zstd',
      messageTimeoutMs: 30_000,
    });
    reader.done();
    const bad = new EnvReader({ KAFKA_PRODUCER_COMPRESSION: 'brotli', KAFKA_PRODUCER_LINGER_MS: '-1' });
    readProducerSettings(bad);
    expect(() => bad.done()).toThrow(/KAFKA_PRODUCER_LINGER_MS[\s\S]*KAFKA_PRODUCER_COMPRESSION/);
  });
});
