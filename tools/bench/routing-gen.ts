/**
 * A generated timetable for the route search (issue 12): the 8 demo clusters plus extra European clusters,
 * random corridors between nearby clusters (rail everywhere, barge between some), and dated departures with
 * one or two listings each. Pure and deterministic: same (seed, departures, clusters) → same timetable.
 * Used by tools/bench/routing-micro.ts (core micro-benchmark) and available to the bench phase.
 */
import { haversineKm } from '../../server/core/co2.ts';
import { prng } from '../../server/core/rng.ts';
import type { LegFormat, RouteMode, TimetableLeg } from '../../server/core/routing.ts';
import { clusters as demoClusters } from '../../server/seed/network.ts';

export interface GenCluster {
  code: string;
  lat: number;
  lon: number;
}

export interface GeneratedTimetable {
  clusters: GenCluster[];
  legs: TimetableLeg[];
  /** Start of the generated period (epoch ms): departures run from here over `days`. */
  startsAt: number;
  days: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Monday 2026-01-05 00:00 UTC. */
export const GEN_START = Date.UTC(2026, 0, 5);

/**
 * `departures` dated departures over `clusterCount` clusters (≥ 2; the first 8 are the demo clusters, the
 * rest "X01"… placed at random in western Europe), spread over 28 days. About one departure in five carries a
 * second listing (a second leg of the same departure). Formats: ~75 % fixed, 10 % falling, 10 % ascending,
 * 5 % sealed.
 */
export function generateTimetable(seed: number, departures: number, clusterCount: number): GeneratedTimetable {
  const rng = prng(seed);
  const days = 28;
  const clusters: GenCluster[] = demoClusters.slice(0, clusterCount).map((c) => ({ code: c.code, lat: c.lat, lon: c.lon }));
  for (let i = clusters.length; i < clusterCount; i++) {
    clusters.push({
      code: `X${String(i - 7).padStart(2, '0')}`,
      lat: Math.round((42 + rng.next() * 12) * 1e4) / 1e4,
      lon: Math.round((-2 + rng.next() * 16) * 1e4) / 1e4,
    });
  }
  // corridors: each cluster to its ~5 nearest, both directions; barge on about a third of them
  const corridors: { from: number; to: number; mode: RouteMode; km: number }[] = [];
  const seen = new Set<string>();
  clusters.forEach((a, i) => {
    const near = clusters
      .map((b, j) => ({ j, km: haversineKm(a, b) }))
      .filter((x) => x.j !== i)
      .sort((x, y) => x.km - y.km)
      .slice(0, 5);
    for (const { j, km } of near) {
      for (const mode of ['rail', 'barge'] as const) {
        if (mode === 'barge' && rng.next() > 0.35) continue;
        const key = `${Math.min(i, j)}-${Math.max(i, j)}-${mode}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const dist = Math.round(km * (mode === 'rail' ? 1.15 : 1.35));
        corridors.push({ from: i, to: j, mode, km: dist }, { from: j, to: i, mode, km: dist });
      }
    }
  });
  const formats: LegFormat[] = ['fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'fixed', 'falling', 'falling', 'ascending', 'ascending', 'sealed'];
  const legs: TimetableLeg[] = [];
  for (let d = 0; d < departures; d++) {
    const c = rng.pick(corridors);
    const departsAt = GEN_START + Math.floor(rng.next() * days * 24) * HOUR_MS;
    const speed = c.mode === 'rail' ? 45 + rng.next() * 25 : 9 + rng.next() * 5; // km/h door to door
    const arrivesAt = departsAt + Math.max(2, Math.round(c.km / speed)) * HOUR_MS;
    const cutoffAt = departsAt - rng.int(2, 8) * HOUR_MS;
    const depFreeTeu = rng.int(0, 90);
    const depFreeTonnes = depFreeTeu * rng.int(10, 16);
    const listings = rng.next() < 0.2 ? 2 : 1;
    for (let k = 0; k < listings; k++) {
      const perKm = c.mode === 'rail' ? 0.7 + rng.next() * 0.6 : 0.4 + rng.next() * 0.4; // EUR per TEU-km
      legs.push({
        listingId: `L${String(d).padStart(5, '0')}${k === 0 ? 'a' : 'b'}`,
        departureId: `D${String(d).padStart(5, '0')}`,
        corridorId: `${clusters[c.from]!.code}-${clusters[c.to]!.code}-${c.mode}`,
        mode: c.mode,
        origin: clusters[c.from]!.code,
        destination: clusters[c.to]!.code,
        departsAt,
        arrivesAt,
        cutoffAt,
        distanceKm: c.km,
        depFreeTeu,
        depFreeTonnes,
        listingRemainingTeu: rng.int(0, 40),
        unitPriceCents: Math.round(c.km * perKm) * 100,
        format: rng.pick(formats),
      });
    }
  }
  return { clusters, legs, startsAt: GEN_START, days };
}

export { DAY_MS };
