import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/configError.ts';
import { EnvReader } from '../config/envReader.ts';
import { defaultConsumerOptions, readConsumerOptions } from './consumerOptions.ts';

function read(env: Record<string, string>, defaults = {}) {
  const reader = new EnvReader(env);
  const options = readConsumerOptions(reader, defaults);
  reader.done();
  return options;
}

describe('readConsumerOptions: CONSUMER_PARTITION_MAX_UNCOMMITTED', () => {
  it('defaults to ten times the unfinished bound, following CONSUMER_PARTITION_MAX_MESSAGES', () => {
    expect(read({}).partitionMaxUncommitted).toBe(defaultConsumerOptions.partitionMaxUncommitted);
    expect(defaultConsumerOptions.partitionMaxUncommitted).toBe(
      10 * defaultConsumerOptions.partitionMaxMessages,
    );
    expect(read({ CONSUMER_PARTITION_MAX_MESSAGES: '500' }).partitionMaxUncommitted).toBe(5000);
    expect(read({}, { partitionMaxMessages: 300 }).partitionMaxUncommitted).toBe(3000);
  });

  it('takes the variable, or a worker default', () => {
    expect(read({ CONSUMER_PARTITION_MAX_UNCOMMITTED: '50000' }).partitionMaxUncommitted).toBe(50_000);
    expect(read({}, { partitionMaxUncommitted: 7000 }).partitionMaxUncommitted).toBe(7000);
  });

  it("raises a worker's default below an unfinished bound the environment raised", () => {
    const options = read({ CONSUMER_PARTITION_MAX_MESSAGES: '9000' }, { partitionMaxUncommitted: 7000 });
    expect(options.partitionMaxUncommitted).toBe(9000);
  });

  it('refuses a bound below the unfinished one (it would replace it) with a ConfigError naming the variable', () => {
    const env = { CONSUMER_PARTITION_MAX_MESSAGES: '1000', CONSUMER_PARTITION_MAX_UNCOMMITTED: '999' };
    expect(() => read(env)).toThrow(ConfigError);
    expect(() => read(env)).toThrow(
      /CONSUMER_PARTITION_MAX_UNCOMMITTED="999": expected an integer between 1000/,
    );
    expect(() => read({ CONSUMER_PARTITION_MAX_UNCOMMITTED: 'many' })).toThrow(ConfigError);
  });
});
