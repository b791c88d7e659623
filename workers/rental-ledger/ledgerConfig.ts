import type { EnvReader } from '../runtime/config/envReader.ts';
import { readKafkaNames } from '../runtime/config/kafkaNames.ts';

/** The topic the ledger reads and the group it reads it in. */
export interface LedgerRouting {
  /** RENTAL_EVENTS_TOPIC: upstream rental and payment events, keyed by rental id; default fleet.rental.events.v1. */
  events: string;
  /** LEDGER_GROUP_ID: the consumer group; default fleet.rental-ledger. */
  groupId: string;
}

/** How the ledger talks to PostgreSQL. */
export interface LedgerSettings {
  /** LEDGER_POOL_MAX: PostgreSQL connections, one per event recorded at once (default and minimum: the consumer's concurrency). */
  poolMax: number;
  /** LEDGER_STATEMENT_TIMEOUT_MS: per-statement ceiling, so a stuck statement cannot hold a payment's lock (default 10000). */
  statementTimeoutMs: number;
}

export const defaultLedgerRouting: Readonly<LedgerRouting> = Object.freeze({
  events: 'fleet.rental.events.v1',
  groupId: 'fleet.rental-ledger',
});

/** Reads the topic and group names (needed before the runtime starts); throws a ConfigError naming each bad variable. */
export function readLedgerRouting(env: Readonly<Record<string, string | undefined>>): LedgerRouting {
  return readKafkaNames(env, {
    events: { variable: 'RENTAL_EVENTS_TOPIC', fallback: defaultLedgerRouting.events },
    groupId: { variable: 'LEDGER_GROUP_ID', fallback: defaultLedgerRouting.groupId },
  });
}

/** The ledger's default CONSUMER_MAX_CONCURRENCY: rentals recorded at once, each on its own connection. */
export const ledgerRentalsInFlight = 8;

/**
 * Reads the ledger's database settings with the runtime's reader (its `done()` reports every bad
 * variable). The pool holds a connection for every event in flight (`eventsInFlight`, the
 * consumer's concurrency): an event queued for a connection behind events waiting on a row lock
 * would time out in pg-pool's queue, which reads as PostgreSQL being unreachable (the breaker
 * opens, every partition pauses) while the database answers.
 */
export function readLedgerSettings(reader: EnvReader, eventsInFlight: number): LedgerSettings {
  return {
    poolMax: reader.int('LEDGER_POOL_MAX', eventsInFlight, { min: eventsInFlight, max: 10_000 }),
    statementTimeoutMs: reader.int('LEDGER_STATEMENT_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
  };
}
