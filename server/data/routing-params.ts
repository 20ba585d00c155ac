/**
 * The route search's parameters (issue 12) from `emission-factors.json`: transfer rules per cluster
 * ("transfers": minimum connection minutes per mode pair, handling charge and handling CO2e per TEU; unknown
 * cluster codes use "default"), the rail/barge emission factors, and the road alternative with its documented
 * cost per truck-km ("road"). Not part of the pure core: it reads a JSON module.
 */
import { co2eKg, roadDistanceKm } from '../core/co2.ts';
import type { ModePair, RoutingParams, TransferRule } from '../core/routing.ts';
import data from './emission-factors.json' with { type: 'json' };
import { emissionFactors, teuPerTruck } from './emission-factors.ts';

const MODE_PAIRS: readonly ModePair[] = ['rail-rail', 'rail-barge', 'barge-rail', 'barge-barge'];

/** A transfer rule from the data file, checked: every mode pair present, every number finite and ≥ 0. */
function transferRule(where: string, raw: unknown): TransferRule {
  const r = raw as Partial<TransferRule> | undefined;
  const fail = (what: string): never => {
    throw new Error(`emission-factors.json transfers.${where}: ${what}`);
  };
  const num = (v: unknown, what: string): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fail(`${what} must be a number ≥ 0`);
  const mcm = r?.minConnectionMinutes ?? fail('minConnectionMinutes missing');
  const minConnectionMinutes = Object.fromEntries(
    MODE_PAIRS.map((p) => [p, num(mcm[p], `minConnectionMinutes.${p}`)]),
  ) as Record<ModePair, number>;
  return Object.freeze({
    minConnectionMinutes: Object.freeze(minConnectionMinutes),
    handlingCentsPerTeu: num(r?.handlingCentsPerTeu, 'handlingCentsPerTeu'),
    handlingCo2eGramsPerTeu: num(r?.handlingCo2eGramsPerTeu, 'handlingCo2eGramsPerTeu'),
  });
}

const defaultRule = transferRule('default', data.transfers.default);
const clusterRules: ReadonlyMap<string, TransferRule> = new Map(
  Object.entries(data.transfers.clusters as Record<string, unknown>).map(([code, raw]) => [
    code,
    transferRule(`clusters.${code}`, raw),
  ]),
);

/** Transfer rules and emission factors of the route search; clusters without their own rule use "default". */
export const routingParams: RoutingParams = Object.freeze({
  transfer: (clusterCode: string): TransferRule => clusterRules.get(clusterCode) ?? defaultRule,
  gramsPerTonneKm: Object.freeze({ rail: emissionFactors.factors.rail, barge: emissionFactors.factors.barge }),
});

/** Road haulage cost per truck-km in EUR cents (an assumption; see "road".note in the data file). */
export const roadCostCentsPerTruckKm: number = data.road.costCentsPerTruckKm;

/** Latitude/longitude of a cluster in decimal degrees. */
export interface LatLon {
  lat: number;
  lon: number;
}

/** Cluster coordinates by code, as a Map or a plain record. */
export type ClusterCoords = ReadonlyMap<string, LatLon> | Readonly<Record<string, LatLon | undefined>>;

/** The road alternative of a route request. */
export interface RoadAlternative {
  /** Road distance: great-circle × roadDetourFactor, whole km. */
  distanceKm: number;
  /** The request's tonnes by road over that distance, whole kg CO2e. */
  co2eKg: number;
  /** round(distanceKm × costCentsPerTruckKm × ceil(teu / teuPerTruck)). */
  costCents: number;
}

/**
 * The door-to-door road alternative between two clusters for `teu` / `tonnes`, or `null` when a code has no
 * coordinates in `clusterCoords`.
 */
export function roadAlternative(
  fromCode: string,
  toCode: string,
  teu: number,
  tonnes: number,
  clusterCoords: ClusterCoords,
): RoadAlternative | null {
  const at = (code: string): LatLon | undefined =>
    clusterCoords instanceof Map
      ? (clusterCoords as ReadonlyMap<string, LatLon>).get(code)
      : (clusterCoords as Readonly<Record<string, LatLon | undefined>>)[code];
  const a = at(fromCode);
  const b = at(toCode);
  if (!a || !b) return null;
  const distanceKm = roadDistanceKm(emissionFactors, a, b);
  const trucks = Math.max(0, Math.ceil(teu / teuPerTruck));
  return {
    distanceKm,
    co2eKg: co2eKg(emissionFactors, 'road', tonnes, distanceKm),
    costCents: Math.round(distanceKm * roadCostCentsPerTruckKm * trucks),
  };
}
