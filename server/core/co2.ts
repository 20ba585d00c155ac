/**
 * CO2e of freight moves, GLEC Framework / ISO 14083 style:
 * CO2e = tonnes × distance (km) × mode factor (g CO2e per tonne-km, well-to-wheel).
 *
 * Pure: the factors are passed in (see `server/data/emission-factors.ts` for
 * the data file with its named source).
 */

/** Transport modes with an emission factor. */
export type Co2Mode = 'rail' | 'barge' | 'road';

/** Shape of `server/data/emission-factors.json`. */
export interface EmissionFactors {
  /** Citation of where the factors come from. */
  source: string;
  /** Unit of `factors`, e.g. `'g CO2e per tonne-km (well-to-wheel)'`. */
  unit: string;
  /** g CO2e per tonne-km for each mode. */
  factors: { road: number; rail: number; barge: number };
  /** Road distance ≈ great-circle distance × this factor (e.g. 1.2). */
  roadDetourFactor: number;
  referenceYear?: number;
  roadDetourNote?: string;
}

/** Mean Earth radius in km (IUGG). */
const EARTH_RADIUS_KM = 6371.0088;

/**
 * Great-circle distance in km between two points given in decimal degrees
 * (haversine formula on a sphere of mean Earth radius). Not rounded.
 */
export function haversineKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Estimated road distance in km between two points: great-circle distance ×
 * `factors.roadDetourFactor`, rounded to whole km.
 */
export function roadDistanceKm(
  factors: EmissionFactors,
  a: { lat: number; lon: number },
  b: { lat: number; lon: number },
): number {
  return Math.round(haversineKm(a, b) * factors.roadDetourFactor);
}

/**
 * CO2e in whole kg for moving `tonnes` over `distanceKm` by `mode`:
 * `Math.round(tonnes × km × g/tkm / 1000)`. Negative or non-finite inputs
 * count as 0 (no transport work, no emissions).
 */
export function co2eKg(factors: EmissionFactors, mode: Co2Mode, tonnes: number, distanceKm: number): number {
  const t = Number.isFinite(tonnes) && tonnes > 0 ? tonnes : 0;
  const km = Number.isFinite(distanceKm) && distanceKm > 0 ? distanceKm : 0;
  return Math.round((t * km * factors.factors[mode]) / 1000);
}

/**
 * Emissions of a booking beside its road alternative.
 *
 * - `co2eKg`: the booked mode over the corridor distance;
 * - `roadCo2eKg`: the same tonnes by road over `roadDistanceKm`;
 * - `savedKg = roadCo2eKg − co2eKg` (negative if the booking emits more than road).
 */
export function bookingEmissions(
  factors: EmissionFactors,
  input: { mode: 'rail' | 'barge'; tonnes: number; distanceKm: number; roadDistanceKm: number },
): { co2eKg: number; roadCo2eKg: number; savedKg: number } {
  const own = co2eKg(factors, input.mode, input.tonnes, input.distanceKm);
  const road = co2eKg(factors, 'road', input.tonnes, input.roadDistanceKm);
  return { co2eKg: own, roadCo2eKg: road, savedKg: road - own };
}
