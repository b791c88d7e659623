import { describe, expect, it } from 'vitest';
import { localVehicleCatalog, uuidV5 } from './localVehicleCatalog.ts';

describe('localVehicleCatalog', () => {
  it('is the same on every call, with 50 distinct version-5 UUIDs', () => {
    const catalog = localVehicleCatalog();
    expect(localVehicleCatalog()).toEqual(catalog);
    expect(catalog).toHaveLength(50);
    expect(new Set(catalog.map((v) => v.id)).size).toBe(50);
    for (const vehicle of catalog) {
      expect(vehicle.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('fits the vehicles table constraints', () => {
    for (const vehicle of localVehicleCatalog()) {
      expect(vehicle.depotCode).toMatch(/^[A-Z]{3}-[0-9]{2}$/);
      expect(vehicle.currency).toMatch(/^[A-Z]{3}$/);
      expect(Number.isInteger(vehicle.dailyRateMinor) && vehicle.dailyRateMinor > 0).toBe(true);
      expect(['economy', 'compact', 'midsize', 'fullsize', 'suv', 'van', 'premium', 'electric']).toContain(
        vehicle.vehicleClass,
      );
    }
  });
});

describe('uuidV5', () => {
  it('matches the RFC 9562 test vector (DNS namespace, www.example.com)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });
});
