import type { Candidate, CostOptions, PoolDeparture, PoolInstance, PoolRequest } from './types.ts';

/**
 * The cost coefficients of the objective, shared by the model, the greedy baseline, the brute force and the
 * verifier (so that all of them price a plan the same way):
 *  - a running departure costs its fixedCostCents (mustRun ones too: a constant);
 *  - a request riding candidate k costs k.costCents + co2Cents(k.co2eGrams), the CO2e charge rounded to whole
 *    cents per candidate so that every coefficient is an integer, + k.premiumCents (its price above the request's
 *    cheapest candidate: owed back to the forwarder, so the pool moves nobody to a dearer itinerary for free);
 *  - an unplaced request costs its penalty: max(road alternative with its CO2e charge, the most that placing
 *    it on any of its candidates could add — its cost, CO2e charge and the fixed costs of the legs'
 *    departures that need not run anyway) + margin × teu. So whenever a candidate of an unplaced request still
 *    fits, placing it is strictly cheaper: an optimal plan places what it can.
 */

export const DEFAULT_CO2_PRICE_CENTS_PER_TONNE = 8_000;
export const DEFAULT_UNPLACED_MARGIN_CENTS_PER_TEU = 50_000;

/** CO2e charge of `grams` in whole cents at the configured price per tonne. */
export function co2Cents(grams: number, opts: CostOptions = {}): number {
  const price = opts.co2PriceCentsPerTonne ?? DEFAULT_CO2_PRICE_CENTS_PER_TONNE;
  return Math.round((grams * price) / 1_000_000);
}

/** Cost of riding a candidate (excluding departures' fixed costs). */
export const candidateCents = (k: Candidate, opts: CostOptions = {}): number => k.costCents + (k.premiumCents ?? 0) + co2Cents(k.co2eGrams, opts);

/** Candidates grouped by request id, in input order. */
export function candidatesByRequest(inst: PoolInstance): Map<string, Candidate[]> {
  const by = new Map<string, Candidate[]>(inst.requests.map((r) => [r.id, []]));
  for (const k of inst.candidates) by.get(k.requestId)?.push(k);
  return by;
}

/** Penalty of leaving each request unplaced (see the module comment). */
export function penalties(inst: PoolInstance, opts: CostOptions = {}): Map<string, number> {
  const deps = new Map<string, PoolDeparture>(inst.departures.map((d) => [d.id, d]));
  const byReq = candidatesByRequest(inst);
  const margin = opts.unplacedMarginCentsPerTeu ?? DEFAULT_UNPLACED_MARGIN_CENTS_PER_TEU;
  const out = new Map<string, number>();
  for (const r of inst.requests) {
    let worst = 0;
    for (const k of byReq.get(r.id) ?? []) {
      let c = candidateCents(k, opts);
      for (const l of k.legs) {
        const d = deps.get(l.departureId);
        if (d && !d.mustRun) c += Math.max(0, d.fixedCostCents);
      }
      worst = Math.max(worst, c);
    }
    const road = inst.road?.[r.id];
    const floor = road ? road.costCents + co2Cents(road.co2eGrams, opts) : 0;
    out.set(r.id, Math.max(worst, floor) + margin * r.teu);
  }
  return out;
}

/** Request by id. */
export const requestMap = (inst: PoolInstance): Map<string, PoolRequest> => new Map(inst.requests.map((r) => [r.id, r]));
/** Departure by id. */
export const departureMap = (inst: PoolInstance): Map<string, PoolDeparture> => new Map(inst.departures.map((d) => [d.id, d]));
