import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bookingEmissions, co2eKg, haversineKm, roadDistanceKm, type EmissionFactors } from '../../server/core/co2.ts';
import { emissionFactors } from '../../server/data/emission-factors.ts';

const F: EmissionFactors = emissionFactors;
const coord = fc.record({
  lat: fc.double({ min: -89, max: 89, noNaN: true }),
  lon: fc.double({ min: -180, max: 180, noNaN: true }),
});

describe('emission factor data file', () => {
  it('names its source, unit and the KiM / CE Delft 2014 values', () => {
    expect(F.source).toMatch(/CE Delft/);
    expect(F.source).toMatch(/KiM/);
    expect(F.unit).toMatch(/tonne-km/);
    expect(F.factors).toEqual({ road: 90.3, rail: 11.3, barge: 38.6 });
    expect(F.roadDetourFactor).toBe(1.2);
  });
});

describe('haversineKm', () => {
  it('matches known distances', () => {
    // Paris – London ≈ 343.5 km great-circle
    expect(haversineKm({ lat: 48.8566, lon: 2.3522 }, { lat: 51.5074, lon: -0.1278 })).toBeCloseTo(343.5, 0);
    // a quarter of a meridian: equator to pole ≈ 10,008 km
    expect(haversineKm({ lat: 0, lon: 0 }, { lat: 90, lon: 0 })).toBeCloseTo(10_007.6, 0);
  });
  it('is symmetric, non-negative and zero for the same point', () => {
    fc.assert(
      fc.property(coord, coord, (a, b) => {
        const d = haversineKm(a, b);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeCloseTo(haversineKm(b, a), 6);
        expect(d).toBeLessThanOrEqual(Math.PI * 6371.0088 + 1e-6);
        expect(haversineKm(a, a)).toBe(0);
      }),
    );
  });
  it('roadDistanceKm applies the detour factor', () => {
    const a = { lat: 48.8566, lon: 2.3522 };
    const b = { lat: 51.5074, lon: -0.1278 };
    expect(roadDistanceKm(F, a, b)).toBe(Math.round(haversineKm(a, b) * 1.2));
  });
});

describe('co2eKg', () => {
  it('is tonnes × km × g/tkm in whole kg', () => {
    expect(co2eKg(F, 'rail', 20, 1150)).toBe(260); // 259.9 kg
    expect(co2eKg(F, 'road', 20, 1000)).toBe(1806);
    expect(co2eKg(F, 'barge', 10, 225)).toBe(87); // 86.85 kg
    expect(co2eKg(F, 'rail', 0, 1000)).toBe(0);
    expect(co2eKg(F, 'rail', -5, 1000)).toBe(0);
  });
  it('is an integer that grows with tonnes and distance', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('rail' as const, 'barge' as const, 'road' as const),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 100 }),
        (mode, t, km, more) => {
          const base = co2eKg(F, mode, t, km);
          expect(Number.isInteger(base)).toBe(true);
          expect(co2eKg(F, mode, t + more, km)).toBeGreaterThanOrEqual(base);
          expect(co2eKg(F, mode, t, km + more)).toBeGreaterThanOrEqual(base);
        },
      ),
    );
  });
});

describe('bookingEmissions', () => {
  it('reports the booking beside the road alternative', () => {
    expect(bookingEmissions(F, { mode: 'rail', tonnes: 20, distanceKm: 1150, roadDistanceKm: 1000 })).toEqual({
      co2eKg: 260,
      roadCo2eKg: 1806,
      savedKg: 1546,
    });
  });
  it('saved = road − own, and rail/barge beat road over equal distances', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('rail' as const, 'barge' as const),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 3000 }),
        (mode, tonnes, km) => {
          const e = bookingEmissions(F, { mode, tonnes, distanceKm: km, roadDistanceKm: km });
          expect(e.savedKg).toBe(e.roadCo2eKg - e.co2eKg);
          expect(e.savedKg).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});
