// The route-search bench's timetable (issue 12): the demo network plus twelve more clusters and their rail and
// Rhine barge corridors, and N generated departures (default 5,000) with one listing each — mostly fixed, some
// falling, some ascending and sealed auctions — written straight into the bench database. Seeded: the same
// seed gives the same network and timetable (relative to `now`).
import { haversineKm } from '../../server/core/co2.ts';
import { prng, type Rng } from '../../server/core/rng.ts';
import type { Db } from '../../server/adapters/db/db.ts';

type Place = { code: string; name: string; country: string; lat: number; lon: number; gateway: boolean };

/** Clusters beyond the demo's eight (real UN/LOCODEs, approximate terminal coordinates). */
export const EXTRA_CLUSTERS: Place[] = [
  { code: 'DEHAM', name: 'Hamburg', country: 'DE', lat: 53.53, lon: 9.97, gateway: true },
  { code: 'DEMHG', name: 'Mannheim', country: 'DE', lat: 49.49, lon: 8.47, gateway: false },
  { code: 'DEMUC', name: 'Munich', country: 'DE', lat: 48.14, lon: 11.58, gateway: false },
  { code: 'ATVIE', name: 'Vienna', country: 'AT', lat: 48.21, lon: 16.37, gateway: false },
  { code: 'CZPRG', name: 'Prague', country: 'CZ', lat: 50.08, lon: 14.44, gateway: false },
  { code: 'PLWAW', name: 'Warsaw', country: 'PL', lat: 52.23, lon: 21.01, gateway: false },
  { code: 'FRPAR', name: 'Paris (Valenton)', country: 'FR', lat: 48.75, lon: 2.46, gateway: false },
  { code: 'FRLYS', name: 'Lyon', country: 'FR', lat: 45.76, lon: 4.84, gateway: false },
  { code: 'ESBCN', name: 'Barcelona', country: 'ES', lat: 41.35, lon: 2.16, gateway: true },
  { code: 'ITMIL', name: 'Milan', country: 'IT', lat: 45.46, lon: 9.19, gateway: false },
  { code: 'ITGOA', name: 'Genoa', country: 'IT', lat: 44.41, lon: 8.93, gateway: true },
  { code: 'NLAMS', name: 'Amsterdam', country: 'NL', lat: 52.38, lon: 4.9, gateway: false },
];

/** New connections (both directions each); barge ones follow the Rhine. */
const EXTRA_LINKS: [string, string, 'rail' | 'barge'][] = [
  ['DEHAM', 'DEDUI', 'rail'], ['DEHAM', 'CZPRG', 'rail'], ['DEHAM', 'DEMUC', 'rail'], ['DEHAM', 'NLRTM', 'rail'],
  ['DEMUC', 'ITBLQ', 'rail'], ['DEMUC', 'ATVIE', 'rail'], ['ATVIE', 'CZPRG', 'rail'], ['CZPRG', 'PLWAW', 'rail'],
  ['PLWAW', 'DEDUI', 'rail'], ['ATVIE', 'ITBLQ', 'rail'], ['FRPAR', 'FRLIL', 'rail'], ['FRPAR', 'FRLYS', 'rail'],
  ['FRLYS', 'ITMIL', 'rail'], ['ITMIL', 'ITBLQ', 'rail'], ['ITMIL', 'CHBSL', 'rail'], ['ITGOA', 'ITMIL', 'rail'],
  ['ITGOA', 'ITBLQ', 'rail'], ['ESBCN', 'ESZAZ', 'rail'], ['ESBCN', 'FRLYS', 'rail'], ['DEMHG', 'DEDUI', 'rail'],
  ['DEMHG', 'DEMUC', 'rail'], ['DEMHG', 'CHBSL', 'rail'], ['NLAMS', 'NLRTM', 'rail'], ['NLAMS', 'DEDUI', 'rail'],
  ['DEMHG', 'DEDUI', 'barge'], ['DEMHG', 'CHBSL', 'barge'], ['DEMHG', 'NLRTM', 'barge'], ['NLAMS', 'NLRTM', 'barge'],
];

export interface GeneratedTimetable {
  clusters: number;
  corridors: number;
  departures: number;
  listings: { fixed: number; falling: number; ascending: number; sealed: number };
  /** The generated fixed listings (the hold load's targets). */
  fixedListingIds: string[];
  codes: string[];
}

const chunks = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

/** Adds the extra clusters and corridors (idempotent by code); answers every corridor with its ends. */
async function network(db: Db) {
  await db
    .insertInto('clusters')
    .values(EXTRA_CLUSTERS.map((c) => ({ code: c.code, name: c.name, country: c.country, lat: c.lat, lon: c.lon, terminals: [`${c.name} terminal`], gateway: c.gateway })))
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();
  const clusters = await db.selectFrom('clusters').select(['id', 'code', 'lat', 'lon']).execute();
  const byCode = new Map(clusters.map((c) => [c.code, c]));
  const rows = EXTRA_LINKS.flatMap(([a, b, mode]) => {
    const km = Math.round(haversineKm(byCode.get(a)!, byCode.get(b)!) * (mode === 'rail' ? 1.25 : 1.35));
    return [[a, b], [b, a]].map(([f, t]) => ({ code: `${f}-${t}-${mode}`, from_cluster_id: byCode.get(f!)!.id, to_cluster_id: byCode.get(t!)!.id, mode, distance_km: km }));
  });
  await db.insertInto('corridors').values(rows).onConflict((oc) => oc.column('code').doNothing()).execute();
  const corridors = await db.selectFrom('corridors').select(['id', 'code', 'mode', 'distance_km']).orderBy('code').execute();
  return { clusters: clusters.map((c) => c.code).sort(), corridors };
}

type Format = 'fixed' | 'falling' | 'ascending' | 'sealed';
const formatOf = (rng: Rng): Format => {
  const x = rng.next();
  return x < 0.8 ? 'fixed' : x < 0.9 ? 'falling' : x < 0.95 ? 'ascending' : 'sealed';
};

/**
 * Writes `departures` departures (spread over the corridors, departing within `days` days of `now`) with
 * one listing each. Rail: 80–100 TEU, ~40 km/h, cut-off 4–6 h before; barge: 200–400 TEU, ~10 km/h, cut-off
 * 12–24 h before. Prices by distance (rail ≈ €200 + €0.60/km per TEU, barge ≈ €80 + €0.30/km) ± 20 %.
 */
export async function generateTimetable(db: Db, now: Date, opts: { departures: number; days: number; seed: number }): Promise<GeneratedTimetable> {
  const rng = prng(opts.seed);
  const net = await network(db);
  const ops = await db.selectFrom('organisations').select(['id', 'slug']).where('kind', '=', 'operator').orderBy('slug').execute();
  const railOps = ops.filter((o) => o.slug !== 'lowlands-barge-line');
  const bargeOp = ops.find((o) => o.slug === 'lowlands-barge-line') ?? ops[0]!;
  const t0 = now.getTime();
  const HOUR = 3_600_000;
  const counts = { fixed: 0, falling: 0, ascending: 0, sealed: 0 };
  const fixedListingIds: string[] = [];
  const planned = Array.from({ length: opts.departures }, (_, i) => {
    const c = net.corridors[i % net.corridors.length]!;
    const rail = c.mode === 'rail';
    const cutoffBefore = (rail ? rng.int(4, 6) : rng.int(12, 24)) * HOUR;
    const departs = t0 + cutoffBefore + rng.int(1, opts.days * 24 * 60) * 60_000;
    const transit = Math.round((c.distance_km / (rail ? 40 : 10)) * HOUR + rng.int(0, rail ? 6 : 12) * HOUR);
    const capacityTeu = rail ? rng.int(80, 100) : rng.int(200, 400);
    const base = rail ? 20_000 + c.distance_km * 60 : 8_000 + c.distance_km * 30;
    return {
      dep: {
        corridor_id: c.id, operator_org_id: rail ? rng.pick(railOps).id : bargeOp.id, asset_name: `Bench route ${i}`,
        departs_at: new Date(departs), arrives_at: new Date(departs + transit), cutoff_at: new Date(departs - cutoffBefore),
        capacity_teu: capacityTeu, capacity_tonnes: capacityTeu * (rail ? 20 : 12),
      },
      teu: rng.int(20, 60),
      price: Math.round(base * (0.8 + 0.4 * rng.next())),
      format: formatOf(rng),
    };
  });
  for (const batch of chunks(planned, 500)) {
    const ids = await db.insertInto('departures').values(batch.map((p) => p.dep)).returning('id').execute();
    const listings = batch.map((p, k) => {
      let format = p.format;
      const cutoff = p.dep.cutoff_at.getTime();
      if ((format === 'ascending' || format === 'sealed') && cutoff - HOUR <= t0 + 10 * 60_000) format = 'fixed'; // no room for an auction
      counts[format]++;
      const common = { departure_id: ids[k]!.id, format, teu: p.teu, remaining_teu: p.teu, created_at: now, updated_at: now };
      if (format === 'fixed') return { ...common, unit_price_cents: p.price };
      if (format === 'falling') {
        const floor = Math.round(p.price * 0.6);
        return { ...common, unit_price_cents: p.price, floor_price_cents: floor, step_cents: Math.max(1, Math.ceil((p.price - floor) / 10)), step_every_minutes: 60, opens_at: now };
      }
      return {
        ...common, reserve_price_cents: Math.round(p.price * 0.7), min_increment_cents: 1_000, opens_at: now,
        closes_at: new Date(cutoff - HOUR), max_close_at: new Date(cutoff),
      };
    });
    const rows = await db.insertInto('listings').values(listings).returning(['id', 'format']).execute();
    for (const r of rows) if (r.format === 'fixed') fixedListingIds.push(r.id);
  }
  return { clusters: net.clusters.length, corridors: net.corridors.length, departures: planned.length, listings: counts, fixedListingIds, codes: net.clusters };
}
