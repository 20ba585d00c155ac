import { candidatesByRequest, departureMap } from './costs.ts';
import { runningOf } from './model.ts';
import type { Candidate, PoolInstance, PoolPlan, PoolRequest } from './types.ts';

/**
 * The greedy baseline: earliest deadline first, first fit. Requests in order of deliverBy (then readyAt, id);
 * each takes the first of its candidates, in order of departure (then arrival, key), that still fits — TEU and
 * tonnes per departure, TEU per listing, and the consolidation rule (a request with consolidate = false only
 * onto departures that carry no other pooled request; nobody onto a departure that carries such a request).
 * A departure runs when it must or when it carries a pooled request. Priced with the same objective
 * (verify.ts objectiveOf), it is the figure the MIP is compared with; it is also the MIP's start.
 */
export function greedyPlan(inst: PoolInstance): PoolPlan {
  const byReq = candidatesByRequest(inst);
  const order = [...inst.requests].sort(
    (a, b) => a.deliverBy - b.deliverBy || a.readyAt - b.readyAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return firstFit(inst, order, (r) =>
    [...(byReq.get(r.id) ?? [])].sort(
      (a, b) => a.departsAt - b.departsAt || a.arrivesAt - b.arrivesAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    ),
  );
}

/**
 * Rounding of an LP solution: requests in order of their largest candidate weight (x* of the LP relaxation;
 * ties and weightless requests in the greedy's order), each onto the first of its candidates, by weight, that
 * still fits — the same first fit as the greedy. A feasible plan close to the LP when the LP is tight: the
 * MIP's start on large parts, where the greedy one is far from the optimum.
 */
export function roundPlan(inst: PoolInstance, weight: (requestId: string, key: string) => number): PoolPlan {
  const byReq = candidatesByRequest(inst);
  const greedyOrder = new Map(
    [...inst.requests]
      .sort((a, b) => a.deliverBy - b.deliverBy || a.readyAt - b.readyAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((r, i) => [r.id, i]),
  );
  const best = new Map(inst.requests.map((r) => [r.id, Math.max(0, ...(byReq.get(r.id) ?? []).map((k) => weight(r.id, k.key)))]));
  const order = [...inst.requests].sort((a, b) => best.get(b.id)! - best.get(a.id)! || greedyOrder.get(a.id)! - greedyOrder.get(b.id)!);
  return firstFit(inst, order, (r) =>
    [...(byReq.get(r.id) ?? [])].sort((a, b) => weight(r.id, b.key) - weight(r.id, a.key) || a.departsAt - b.departsAt || (a.key < b.key ? -1 : 1)),
  );
}

/** First fit: requests in `order`, each onto the first candidate of `rank(r)` that fits (see greedyPlan). */
export function firstFit(inst: PoolInstance, order: PoolRequest[], rank: (r: PoolRequest) => Candidate[]): PoolPlan {
  const deps = departureMap(inst);
  const remaining = new Map(inst.legs.map((l) => [l.listingId, l.listingRemainingTeu]));
  const freeTeu = new Map(inst.departures.map((d) => [d.id, d.capacityTeu - d.usedTeu]));
  const freeTonnes = new Map(inst.departures.map((d) => [d.id, d.capacityTonnes - d.usedTonnes]));
  const riders = new Map<string, number>(); // departure → pooled requests on it
  const exclusive = new Set<string>(); // departures carrying a request that may not be consolidated
  const fits = (r: PoolRequest, k: Candidate) =>
    k.legs.every(
      (l) =>
        deps.has(l.departureId) &&
        (freeTeu.get(l.departureId) ?? 0) >= r.teu &&
        (freeTonnes.get(l.departureId) ?? 0) >= r.tonnes &&
        (remaining.get(l.listingId) ?? 0) >= r.teu &&
        !exclusive.has(l.departureId) &&
        (r.consolidate || (riders.get(l.departureId) ?? 0) === 0),
    );
  const assignment: Record<string, string | null> = Object.fromEntries(inst.requests.map((r) => [r.id, null]));
  for (const r of order) {
    const k = rank(r).find((c) => fits(r, c));
    if (!k) continue;
    assignment[r.id] = k.key;
    for (const l of k.legs) {
      freeTeu.set(l.departureId, freeTeu.get(l.departureId)! - r.teu);
      freeTonnes.set(l.departureId, freeTonnes.get(l.departureId)! - r.tonnes);
      remaining.set(l.listingId, remaining.get(l.listingId)! - r.teu);
      riders.set(l.departureId, (riders.get(l.departureId) ?? 0) + 1);
      if (!r.consolidate) exclusive.add(l.departureId);
    }
  }
  return { assignment, running: runningOf(inst, assignment) };
}
