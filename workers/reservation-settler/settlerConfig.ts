import type { BatchingOptions } from '../runtime/batching/groupCommitBatcher.ts';
import { ConfigError } from '../runtime/config/configError.ts';
import type { EnvReader } from '../runtime/config/envReader.ts';
import { readKafkaNames } from '../runtime/config/kafkaNames.ts';
import type { BatchRecoveryOptions } from './recoveringBatchSettler.ts';
import { defaultSettlementPolicy, type SettlementPolicy } from './settlementPolicy.ts';

/** The topics the settler reads and writes, and the group it reads them in. */
export interface SettlerRouting {
  /** RESERVATION_COMMANDS_TOPIC: consumed, keyed by vehicle id; default fleet.reservation.commands.v1. */
  commands: string;
  /** RESERVATION_EVENTS_TOPIC: one decision event per settled command, keyed by vehicle id; default fleet.reservation.events.v1. */
  events: string;
  /** SETTLER_GROUP_ID: the consumer group; default fleet.reservation-settler (harnesses isolate theirs). */
  groupId: string;
}

/** How the settler talks to PostgreSQL. */
export interface SettlerSettings {
  batching: BatchingOptions;
  recovery: BatchRecoveryOptions;
  /** SETTLER_STATEMENT_TIMEOUT_MS: per-statement ceiling, so a stuck statement cannot hold a vehicle's locks (default 10000). */
  statementTimeoutMs: number;
  /** SETTLER_START_GRACE_S: how long after its period started a pending request may still be booked (default 900). */
  policy: SettlementPolicy;
}

export const defaultSettlerRouting: Readonly<SettlerRouting> = Object.freeze({
  commands: 'fleet.reservation.commands.v1',
  events: 'fleet.reservation.events.v1',
  groupId: 'fleet.reservation-settler',
});

/** Reads the topic and group names (needed before the runtime starts); throws a ConfigError naming each bad variable. */
export function readSettlerRouting(env: Readonly<Record<string, string | undefined>>): SettlerRouting {
  const routing = readKafkaNames(env, {
    commands: { variable: 'RESERVATION_COMMANDS_TOPIC', fallback: defaultSettlerRouting.commands },
    events: { variable: 'RESERVATION_EVENTS_TOPIC', fallback: defaultSettlerRouting.events },
    groupId: { variable: 'SETTLER_GROUP_ID', fallback: defaultSettlerRouting.groupId },
  });
  if (routing.commands === routing.events) {
    throw new ConfigError([
      {
        variable: 'RESERVATION_EVENTS_TOPIC',
        value: routing.events,
        expected: 'a topic other than RESERVATION_COMMANDS_TOPIC',
      },
    ]);
  }
  return routing;
}

/** Reads the settlement settings with the runtime's reader (its `done()` reports every bad variable). */
export function readSettlerSettings(reader: EnvReader): SettlerSettings {
  return {
    batching: {
      maxBatchSize: reader.int('SETTLER_BATCH_MAX', 256, { min: 1, max: 1000 }),
      lingerMs: reader.int('SETTLER_BATCH_LINGER_MS', 0, { min: 0, max: 1000 }),
      maxBatchesInFlight: reader.int('SETTLER_BATCHES_IN_FLIGHT', 2, { min: 1, max: 64 }),
    },
    recovery: {
      attempts: reader.int('SETTLER_BATCH_ATTEMPTS', 3, { min: 1, max: 10 }),
      retryDelayMs: reader.int('SETTLER_BATCH_RETRY_DELAY_MS', 5, { min: 0, max: 10_000 }),
    },
    statementTimeoutMs: reader.int('SETTLER_STATEMENT_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    policy: {
      startGraceMs:
        reader.int('SETTLER_START_GRACE_S', defaultSettlementPolicy.startGraceMs / 1000, {
          min: 0,
          max: 604_800,
        }) * 1000,
    },
  };
}
