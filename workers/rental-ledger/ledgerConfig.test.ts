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
    expect(readLedgerSettings(reader)).toEqual({ poolMax: 4, statementTimeoutMs: 10_000 });
    reader.done();
  });

  it('names every bad variable', () => {
    expect(() =>
      readLedgerRouting({ RENTAL_EVENTS_TOPIC: 'no spaces', LEDGER_GROUP_ID: 'bad/group' }),
    ).toThrow(/RENTAL_EVENTS_TOPIC[\s\S]*LEDGER_GROUP_ID/);
    expect(() => readLedgerRouting({ RENTAL_EVENTS_TOPIC: 'no spaces' })).toThrow(ConfigError);
    const reader = new EnvReader({ LEDGER_POOL_MAX: '0', LEDGER_STATEMENT_TIMEOUT_MS: 'soon' });
    readLedgerSettings(reader);
    expect(() => reader.done()).toThrow(/LEDGER_POOL_MAX[\s\S]*LEDGER_STATEMENT_TIMEOUT_MS/);
  });
});
