import { planChain } from '../routing/plan.ts';
import { searchRoutes } from '../routing/search.ts';
import { Timetable } from '../routing/timetable.ts';
import type { ItineraryPlan, RouteQuery, TimetableLeg } from '../routing/types.ts';
import type { Candidate, PoolDeparture, PoolRequest, PoolRouting } from './types.ts';

/**
 * Candidate itineraries per request, from the route search (issue 12).
 *
 * The timetable holds the bookable legs only (fixed and falling listings: a proposal must be acceptable without
 * a bid) of the instance's departures, each with the departure's own times and places and its free TEU /
 * tonnes (capacity − used). Per request:
 *  1. `searchRoutes`: the Pareto set over (price, arrival, CO2e) — direct and multi-leg (up to `maxLegs`);
 *  2. plus every direct leg from → to that passes `planChain` (same rules). This is cheap (one scan of the
 *     legs leaving the origin) and matters for pooling: a departure that is dearer or later than the best one
 *     is Pareto-dominated for the request alone, yet it may be the one worth filling. Multi-leg chains beyond
 *     the Pareto set are not added (their number grows fast; the Pareto set keeps the useful ones).
 * Itineraries over the same departures through different listings are merged into the cheapest one (price
 * only limits the choice; cost and CO2e depend on the departures). At most `maxPerRequest` per request: the
 * Pareto ones first, then the direct extras by operating cost, departure time and key.
 */

export interface CandidateOptions {
  maxPerRequest?: number;
  directExtras?: boolean;
}

const bookable = (l: TimetableLeg) => l.format === 'fixed' || l.format === 'falling';

/** The legs the search sees: bookable listings of known departures, with the departures' times and free room. */
export function poolTimetableLegs(departures: PoolDeparture[], legs: TimetableLeg[]): TimetableLeg[] {
  const deps = new Map(departures.map((d) => [d.id, d]));
  const out: TimetableLeg[] = [];
  for (const l of legs) {
    const d = deps.get(l.departureId);
    if (!d || !bookable(l)) continue;
    out.push({
      ...l,
      mode: d.mode,
      origin: d.origin,
      destination: d.destination,
      departsAt: d.departsAt,
      arrivesAt: d.arrivesAt,
      cutoffAt: d.cutoffAt,
      depFreeTeu: Math.max(0, d.capacityTeu - d.usedTeu),
      depFreeTonnes: Math.max(0, d.capacityTonnes - d.usedTonnes),
    });
  }
  return out;
}

/** Route query of a request. */
export const queryOf = (r: PoolRequest, now: number, maxLegs: number): RouteQuery => ({
  from: r.from,
  to: r.to,
  teu: r.teu,
  tonnes: r.tonnes,
  readyAt: r.readyAt,
  deliverBy: r.deliverBy,
  now,
  modes: r.modes,
  maxLegs,
  maxTotalCents: r.maxTotalCents,
});

/** Candidates of every request (see the module comment). */
export function buildCandidates(
  requests: PoolRequest[],
  departures: PoolDeparture[],
  legs: TimetableLeg[],
  routing: PoolRouting,
  now: number,
  opts: CandidateOptions = {},
): Candidate[] {
  const maxLegs = routing.maxLegs ?? 3;
  const maxPer = opts.maxPerRequest ?? 12;
  const deps = new Map(departures.map((d) => [d.id, d]));
  const ttLegs = poolTimetableLegs(departures, legs);
  const tt = new Timetable(ttLegs);
  const byOrigin = new Map<string, TimetableLeg[]>();
  for (const l of ttLegs) {
    const list = byOrigin.get(l.origin);
    if (list) list.push(l);
    else byOrigin.set(l.origin, [l]);
  }
  const out: Candidate[] = [];
  for (const r of requests) {
    const q = queryOf(r, now, maxLegs);
    const toCandidate = (p: ItineraryPlan): Candidate => ({
      requestId: r.id,
      key: p.legs.map((l) => l.listingId).join(','),
      legs: p.legs.map((l) => ({ departureId: l.departureId, listingId: l.listingId })),
      priceCents: p.totalCents,
      costCents:
        p.legs.reduce((s, l) => s + deps.get(l.departureId)!.variableCostCentsPerTeu * r.teu, 0) +
        p.transfers.reduce((s, t) => s + t.handlingCents, 0),
      co2eGrams: p.co2eGrams,
      departsAt: p.departsAt,
      arrivesAt: p.arrivesAt,
    });
    const pareto = searchRoutes(tt, q, routing.params).filter((p) => p.bookable).map(toCandidate);
    const extras: Candidate[] = [];
    if (opts.directExtras ?? true) {
      for (const l of byOrigin.get(r.from) ?? []) {
        if (l.destination !== r.to) continue;
        const c = planChain([l], q, routing.params);
        if (c.ok) extras.push(toCandidate(c.plan));
      }
      extras.sort((a, b) => a.costCents - b.costCents || a.departsAt - b.departsAt || (a.key < b.key ? -1 : 1));
    }
    // one per departure chain, the cheapest price (Pareto ones first)
    const byChain = new Map<string, Candidate>();
    for (const k of [...pareto, ...extras]) {
      const chain = k.legs.map((l) => l.departureId).join(',');
      const seen = byChain.get(chain);
      if (!seen || k.priceCents < seen.priceCents || (k.priceCents === seen.priceCents && k.key < seen.key)) byChain.set(chain, k);
    }
    const kept: Candidate[] = [];
    const taken = new Set<Candidate>();
    for (const k of [...pareto, ...extras]) {
      const best = byChain.get(k.legs.map((l) => l.departureId).join(','))!;
      if (taken.has(best) || kept.length >= maxPer) continue;
      taken.add(best);
      kept.push(best);
    }
    // the premium of each over the request's cheapest price (owed back to the forwarder: see types.ts)
    const cheapest = Math.min(...kept.map((k) => k.priceCents));
    for (const k of kept) if (k.priceCents > cheapest) k.premiumCents = k.priceCents - cheapest;
    out.push(...kept);
  }
  return out;
}
