import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedTypesFile, generateTypes } from './generateTypes.ts';

describe('generated TypeScript types', () => {
  it('are what the generator makes of the current schemas (run `node schemas/generateTypes.ts` when this fails)', () => {
    const committed = readFileSync(generatedTypesFile, 'utf8');
    expect(committed === generateTypes(), 'schemas/generated/types.ts is stale').toBe(true);
  });

  it('type timestamps as epoch-millisecond numbers and wrap the payload union by full name', () => {
    const source = generateTypes();
    expect(source).toContain('  startsAt: TimestampMillis;');
    expect(source).toContain('export type TimestampMillis = number;');
    expect(source).toContain(
      "  | { 'dev.fleetstream.reservation.ReservationRequested': ReservationRequested }",
    );
    expect(source).toContain('  idempotencyKey: null | string;');
  });
});
