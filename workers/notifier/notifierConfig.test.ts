import { describe, expect, it } from 'vitest';
import { ConfigError } from '../runtime/config/configError.ts';
import { EnvReader } from '../runtime/config/envReader.ts';
import { localProviderToken, readNotifierRouting, readProviderSettings } from './notifierConfig.ts';

describe('notifier configuration', () => {
  it('defaults to the events topic, the fleet group and the local provider', () => {
    expect(readNotifierRouting({})).toEqual({
      events: 'fleet.reservation.events.v1',
      groupId: 'fleet.notifier',
    });
    const reader = new EnvReader({});
    expect(readProviderSettings(reader)).toEqual({
      url: 'http://127.0.0.1:9180/v1/messages',
      token: localProviderToken,
      timeoutMs: 5_000,
    });
    reader.done();
  });

  it('refuses to start against a remote provider with the local token (a missing Secret)', () => {
    const remote = { NOTIFIER_PROVIDER_URL: 'https://notifications.example.com/v1/messages' };
    const withoutSecret = new EnvReader(remote);
    readProviderSettings(withoutSecret);
    expect(() => withoutSecret.done()).toThrow(/NOTIFIER_PROVIDER_TOKEN/);
    const reader = new EnvReader({ ...remote, NOTIFIER_PROVIDER_TOKEN: 'from-the-secret' });
    expect(readProviderSettings(reader).token).toBe('from-the-secret');
    reader.done();
  });

  it('names every bad variable', () => {
    expect(() => readNotifierRouting({ NOTIFIER_GROUP_ID: 'a group' })).toThrow(/NOTIFIER_GROUP_ID/);
    const reader = new EnvReader({
      NOTIFIER_PROVIDER_URL: 'ftp://provider',
      NOTIFIER_PROVIDER_TIMEOUT_MS: '5',
    });
    readProviderSettings(reader);
    expect(() => reader.done()).toThrow(/NOTIFIER_PROVIDER_URL[\s\S]*NOTIFIER_PROVIDER_TIMEOUT_MS/);
  });

  it('reports a missing token in one error together with every other bad variable', () => {
    const reader = new EnvReader({
      NOTIFIER_PROVIDER_URL: 'https://notifications.example.com/v1/messages',
      NOTIFIER_PROVIDER_TIMEOUT_MS: 'soon',
    });
    readProviderSettings(reader);
    expect(() => reader.done()).toThrow(
      configErrorNaming(['NOTIFIER_PROVIDER_TIMEOUT_MS', 'NOTIFIER_PROVIDER_TOKEN']),
    );
  });

  it('refuses a token that cannot travel in an HTTP header, at start rather than on every message', () => {
    const reader = new EnvReader({ NOTIFIER_PROVIDER_TOKEN: 't\u00f6k\u20acn' });
    readProviderSettings(reader);
    expect(() => reader.done()).toThrow(configErrorNaming(['NOTIFIER_PROVIDER_TOKEN']));
  });
});

/** Matches one ConfigError naming exactly these variables, in this order. */
function configErrorNaming(variables: string[]) {
  return expect.objectContaining({
    name: ConfigError.name,
    problems: variables.map((variable) => expect.objectContaining({ variable })),
  });
}
