import { describe, expect, it } from 'vitest';
import { ConfigError } from '../runtime/config/configError.ts';
import { EnvReader } from '../runtime/config/envReader.ts';
import { readLedgerRouting, readLedgerSettings } from './ledgerConfig.ts';

describe('ledger configuration', () => {
  it('defaults to the catalog topic and the fleet group', () => {
    expect(readLedgerRouting({})).toEqual({
      events: 'fleet.rental.events.v1',
      groupId: 'fleet.rental-ledger',
    });
    const reader = new EnvReader({});
    expect(readLedgerSettings(reader, 8)).toEqual({ poolMax: 8, statementTimeoutMs: 10_000 });
    reader.done();
  });

  it('holds a connection for every event in flight: a smaller pool is refused, naming its variable', () => {
    const raised = new EnvReader({ LEDGER_POOL_MAX: '12' });
    expect(readLedgerSettings(raised, 8).poolMax).toBe(12);
    raised.done();
    const followsConcurrency = new EnvReader({});
    expect(readLedgerSettings(followsConcurrency, 32).poolMax).toBe(32);
    const smaller = new EnvReader({ LEDGER_POOL_MAX: '4' });
    readLedgerSettings(smaller, 8);
    expect(() => smaller.done()).toThrow(/LEDGER_POOL_MAX[\s\S]*between 8 and/);
  });

  it('names every bad variable', () => {
    expect(() =>
      readLedgerRouting({ RENTAL_EVENTS_TOPIC: 'no spaces', LEDGER_GROUP_ID: 'bad/group' }),
    ).toThrow(/RENTAL_EVENTS_TOPIC[\s\S]*LEDGER_GROUP_ID/);
    expect(() => readLedgerRouting({ RENTAL_EVENTS_TOPIC: 'no spaces' })).toThrow(ConfigError);
    const reader = new EnvReader({ LEDGER_POOL_MAX: '0', LEDGER_STATEMENT_TIMEOUT_MS: 'soon' });
    readLedgerSettings(reader, 8);
    expect(() => reader.done()).toThrow(/LEDGER_POOL_MAX[\s\S]*LEDGER_STATEMENT_TIMEOUT_MS/);
  });
});
