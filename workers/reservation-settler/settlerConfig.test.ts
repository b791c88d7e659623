import { describe, expect, it } from 'vitest';
import { ConfigError } from '../runtime/config/configError.ts';
import { EnvReader } from '../runtime/config/envReader.ts';
import { readSettlerRouting, readSettlerSettings } from './settlerConfig.ts';

describe('settler configuration', () => {
  it('defaults to the contract topics and batching that suits two cores', () => {
    expect(readSettlerRouting({})).toEqual({
      commands: 'fleet.reservation.commands.v1',
      events: 'fleet.reservation.events.v1',
      groupId: 'fleet.reservation-settler',
    });
    const reader = new EnvReader({});
    expect(readSettlerSettings(reader).batching).toEqual({
      maxBatchSize: 256,
      lingerMs: 0,
      maxBatchesInFlight: 2,
    });
    expect(readSettlerSettings(reader).policy).toEqual({ startGraceMs: 900_000 });
    reader.done();
  });

  it('reads the grace for started periods in seconds', () => {
    const reader = new EnvReader({ SETTLER_START_GRACE_S: '60' });
    expect(readSettlerSettings(reader).policy).toEqual({ startGraceMs: 60_000 });
    reader.done();
    const bad = new EnvReader({ SETTLER_START_GRACE_S: '-1' });
    readSettlerSettings(bad);
    expect(() => bad.done()).toThrow(/SETTLER_START_GRACE_S/);
  });

  it('names every bad variable', () => {
    expect(() => readSettlerRouting({ RESERVATION_COMMANDS_TOPIC: 'bad topic!' })).toThrow(ConfigError);
    expect(() =>
      readSettlerRouting({ RESERVATION_COMMANDS_TOPIC: 'same', RESERVATION_EVENTS_TOPIC: 'same' }),
    ).toThrow(/RESERVATION_EVENTS_TOPIC/);
    const reader = new EnvReader({ SETTLER_BATCH_MAX: '0', SETTLER_BATCH_LINGER_MS: 'soon' });
    readSettlerSettings(reader);
    expect(() => reader.done()).toThrow(/SETTLER_BATCH_MAX[\s\S]*SETTLER_BATCH_LINGER_MS/);
  });
});
