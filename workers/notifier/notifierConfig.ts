import type { EnvReader } from '../runtime/config/envReader.ts';
import { readKafkaNames } from '../runtime/config/kafkaNames.ts';

/** The topic the notifier reads and the group it reads it in. */
export interface NotifierRouting {
  /** RESERVATION_EVENTS_TOPIC: the settler's decisions, keyed by vehicle id; default fleet.reservation.events.v1. */
  events: string;
  /** NOTIFIER_GROUP_ID: the consumer group; default fleet.notifier. */
  groupId: string;
}

/** How the notifier reaches the notification provider. */
export interface ProviderSettings {
  /** NOTIFIER_PROVIDER_URL: where messages are POSTed; default the local provider, http://127.0.0.1:9180/v1/messages. */
  url: string;
  /** NOTIFIER_PROVIDER_TOKEN: bearer token of the provider account (a secret: never logged); default the local provider's. */
  token: string;
  /** NOTIFIER_PROVIDER_TIMEOUT_MS: one call's ceiling; past it the call fails and counts against the breaker (default 5000). */
  timeoutMs: number;
}

export const defaultNotifierRouting: Readonly<NotifierRouting> = Object.freeze({
  events: 'fleet.reservation.events.v1',
  groupId: 'fleet.notifier',
});

/** The local provider's development token (harness/notifyProvider); any real provider has its own. */
export const localProviderToken = 'local-notify-provider-token';

/** Reads the topic and group names (needed before the runtime starts); throws a ConfigError naming each bad variable. */
export function readNotifierRouting(env: Readonly<Record<string, string | undefined>>): NotifierRouting {
  return readKafkaNames(env, {
    events: { variable: 'RESERVATION_EVENTS_TOPIC', fallback: defaultNotifierRouting.events },
    groupId: { variable: 'NOTIFIER_GROUP_ID', fallback: defaultNotifierRouting.groupId },
  });
}

/**
 * Reads the provider settings with the runtime's reader (its `done()` reports every bad variable).
 * A token that would fail every call is one of those problems, so the process refuses to start:
 * the local token sent to a provider other than a local one (a missing Secret, else every call
 * answers 401) or one an HTTP header cannot carry.
 */
export function readProviderSettings(reader: EnvReader): ProviderSettings {
  const settings = {
    url: reader.url('NOTIFIER_PROVIDER_URL', 'http://127.0.0.1:9180/v1/messages', ['http:', 'https:']),
    token: reader.string('NOTIFIER_PROVIDER_TOKEN', localProviderToken),
    timeoutMs: reader.int('NOTIFIER_PROVIDER_TIMEOUT_MS', 5_000, { min: 100, max: 120_000 }),
  };
  checkToken(reader, settings);
  return settings;
}

/** Reports a token that would fail every call; the value is a secret, so no problem quotes it. */
function checkToken(reader: EnvReader, settings: Omit<ProviderSettings, 'timeoutMs'>): void {
  const host = URL.canParse(settings.url) ? new URL(settings.url).hostname : '';
  const local = host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  if (!local && settings.token === localProviderToken) {
    reader.problem(
      'NOTIFIER_PROVIDER_TOKEN',
      undefined,
      `the provider account's token when NOTIFIER_PROVIDER_URL is not a local provider (${host})`,
    );
  } else if (!/^[\x21-\x7e]+$/.test(settings.token)) {
    reader.problem(
      'NOTIFIER_PROVIDER_TOKEN',
      undefined,
      'visible ASCII characters only (it travels in the Authorization header)',
    );
  }
}
