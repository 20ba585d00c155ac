import { prng } from '../rng.ts';
import type { LegFormat, RoutingParams, TimetableLeg, TransferRule } from '../routing/types.ts';
import { buildCandidates } from './candidates.ts';
import type { PoolDeparture, PoolInstance, PoolMode, PoolRequest, PoolRouting, RoadOption } from './types.ts';

/**
 * Seeded instances for the tests and the bench: clusters roughly along a line (~150 km apart, jittered), rail
 * corridors between neighbours and some skip-neighbours, barge on about 40 % of them; departures on random
 * corridors over the horizon with one bookable listing each (one in five has a second listing that needs a
 * bid); requests anchored on a departure out of their origin (ready a little before its cut-off, due after
 * its arrival), two thirds direct, one third on to the destination of a departure that connects (so
 * multi-leg itineraries occur). Figures are of the right
 * order for European intermodal lanes (assumptions, not data): rail €14–20 per train-km fixed, barge €8–12,
 * variable €15 + €0.08/km per TEU (barge €12 + €0.05/km), prices 10–40 % above cost at 60 % load, road
 * €1.70/truck-km with 2 TEU per truck, CO2e factors rail 11.3, barge 38.6, road 90.3 g/tkm.
 * Same options → same instance.
 */

export interface GenOptions {
  seed: number;
  requests: number;
  departures: number;
  clusters?: number;
  horizonDays?: number;
  now?: number;
  /** Candidate cap per request (default 12). */
  maxPerRequest?: number;
}

const H = 3_600_000;
const RULE: TransferRule = {
  minConnectionMinutes: { 'rail-rail': 240, 'rail-barge': 360, 'barge-rail': 360, 'barge-barge': 480 },
  handlingCentsPerTeu: 4_000,
  handlingCo2eGramsPerTeu: 10_000,
};
/** Routing parameters of generated instances (one transfer rule everywhere). */
export const genParams: RoutingParams = { transfer: () => RULE, gramsPerTonneKm: { rail: 11.3, barge: 38.6 } };
const ROAD_G_PER_TKM = 90.3;
const ROAD_CENTS_PER_TRUCK_KM = 170;

export function generateInstance(o: GenOptions): { instance: PoolInstance; routing: PoolRouting } {
  const rng = prng(o.seed);
  const u = (lo: number, hi: number) => lo + rng.next() * (hi - lo);
  const now = o.now ?? Date.UTC(2026, 0, 5);
  const k = o.clusters ?? Math.max(4, Math.min(14, Math.round(o.departures / 6)));
  const horizon = (o.horizonDays ?? Math.max(4, Math.min(14, Math.round(o.departures / 12)))) * 24 * H;
  const pts = Array.from({ length: k }, (_, i) => ({ code: `C${String(i).padStart(2, '0')}`, x: i * 150 + u(-30, 30), y: u(0, 120) }));
  const km = (a: number, b: number) => Math.round(Math.hypot(pts[a]!.x - pts[b]!.x, pts[a]!.y - pts[b]!.y));
  // services: (from, to, mode) in both directions
  const services: { a: number; b: number; mode: PoolMode }[] = [];
  for (let i = 0; i < k; i++) {
    for (const j of [i + 1, i + 2]) {
      if (j >= k || (j === i + 2 && rng.next() > 0.4)) continue;
      const modes: PoolMode[] = rng.next() < 0.4 ? ['rail', 'barge'] : ['rail'];
      for (const mode of modes) services.push({ a: i, b: j, mode }, { a: j, b: i, mode });
    }
  }
  const departures: PoolDeparture[] = [];
  const legs: TimetableLeg[] = [];
  for (let n = 0; n < o.departures; n++) {
    const s = rng.pick(services);
    const dist = km(s.a, s.b);
    const rail = s.mode === 'rail';
    const departsAt = now + Math.round(12 + u(0, horizon / H - 12)) * H;
    const capacityTeu = rail ? rng.int(60, 100) : rng.int(90, 200);
    const usedTeu = Math.round(capacityTeu * u(0, 0.35));
    const fixedCostCents = Math.round(dist * (rail ? u(1_400, 2_000) : u(800, 1_200)));
    const variableCostCentsPerTeu = Math.round(rail ? 1_500 + 8 * dist : 1_200 + 5 * dist);
    const d: PoolDeparture = {
      id: `d${n}`,
      operatorOrgId: `op${n % 5}`,
      corridorId: `${pts[Math.min(s.a, s.b)]!.code}-${pts[Math.max(s.a, s.b)]!.code}-${s.mode}`,
      mode: s.mode,
      origin: pts[s.a]!.code,
      destination: pts[s.b]!.code,
      departsAt,
      arrivesAt: departsAt + Math.ceil(dist / (rail ? 40 : 10) + 1) * H,
      cutoffAt: departsAt - 3 * H,
      capacityTeu,
      capacityTonnes: capacityTeu * 14,
      usedTeu,
      usedTonnes: usedTeu * 11,
      fixedCostCents,
      variableCostCentsPerTeu,
      minLoadTeu: Math.round(capacityTeu * 0.4),
      mustRun: usedTeu > capacityTeu * 0.2 && rng.next() < 0.5,
    };
    departures.push(d);
    const unit = Math.round((variableCostCentsPerTeu + fixedCostCents / (0.6 * capacityTeu)) * u(1.1, 1.4));
    const leg = (i: number, format: LegFormat, price: number): TimetableLeg => ({
      listingId: `l${n}${i === 0 ? '' : `-${i}`}`,
      departureId: d.id,
      corridorId: d.corridorId,
      mode: d.mode,
      origin: d.origin,
      destination: d.destination,
      departsAt: d.departsAt,
      arrivesAt: d.arrivesAt,
      cutoffAt: d.cutoffAt,
      distanceKm: dist,
      depFreeTeu: capacityTeu - usedTeu,
      depFreeTonnes: d.capacityTonnes - d.usedTonnes,
      listingRemainingTeu: capacityTeu - usedTeu,
      unitPriceCents: price,
      format,
    });
    legs.push(leg(0, rng.next() < 0.85 ? 'fixed' : 'falling', unit));
    if (rng.next() < 0.2) legs.push(leg(1, 'ascending', Math.round(unit * 0.9)));
  }

  const requests: PoolRequest[] = [];
  const road: Record<string, RoadOption> = {};
  for (let n = 0; n < o.requests; n++) {
    const anchor = rng.pick(departures);
    const a = pts.findIndex((p) => p.code === anchor.origin);
    let b = pts.findIndex((p) => p.code === anchor.destination);
    let arrives = anchor.arrivesAt;
    if (rng.next() < 0.33) {
      // onward: a departure from b that connects (≥ 6 h after arrival) and does not go back to a
      const onward = departures.filter((d) => d.origin === anchor.destination && d.destination !== anchor.origin && d.departsAt >= anchor.arrivesAt + 6 * H);
      if (onward.length > 0) {
        const next = rng.pick(onward);
        b = pts.findIndex((p) => p.code === next.destination);
        arrives = next.arrivesAt;
      }
    }
    const teu = rng.pick([1, 1, 1, 1, 2, 2, 2, 3, 3, 4]);
    const tonnes = teu * rng.int(6, 16);
    const readyAt = anchor.cutoffAt - rng.int(1, 36) * H;
    const dist = km(a, b);
    const roadKm = Math.round(dist * 1.2);
    const r: PoolRequest = {
      id: `r${n}`,
      forwarderOrgId: `fw${n % 17}`,
      from: pts[a]!.code,
      to: pts[b]!.code,
      teu,
      tonnes,
      readyAt,
      deliverBy: Math.max(readyAt + rng.int(36, 120) * H, arrives + rng.int(0, 24) * H),
      maxTotalCents: Math.round(teu * (3_000 + 70 * dist) * u(1.0, 2.2)),
      modes: rng.next() < 0.8 ? ['rail', 'barge'] : [anchor.mode],
      consolidate: rng.next() < 0.97,
    };
    requests.push(r);
    const trucks = Math.ceil(teu / 2);
    road[r.id] = { costCents: roadKm * ROAD_CENTS_PER_TRUCK_KM * trucks, co2eGrams: Math.round(tonnes * roadKm * ROAD_G_PER_TKM), trucks };
  }
  const routing: PoolRouting = { params: genParams, maxLegs: 3 };
  const candidates = buildCandidates(requests, departures, legs, routing, now, { maxPerRequest: o.maxPerRequest });
  return { instance: { now, requests, departures, legs, candidates, road }, routing };
}
