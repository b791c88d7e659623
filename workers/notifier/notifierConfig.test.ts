import { describe, expect, it } from 'vitest';
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

  it('names every bad variable', () => {
    expect(() => readNotifierRouting({ NOTIFIER_GROUP_ID: 'a group' })).toThrow(/NOTIFIER_GROUP_ID/);
    const reader = new EnvReader({
      NOTIFIER_PROVIDER_URL: 'ftp://provider',
      NOTIFIER_PROVIDER_TIMEOUT_MS: '5',
    });
    readProviderSettings(reader);
    expect(() => reader.done()).toThrow(/NOTIFIER_PROVIDER_URL[\s\S]*NOTIFIER_PROVIDER_TIMEOUT_MS/);
  });
});
