import { candidatesByRequest, departureMap, penalties } from './costs.ts';
import { runningOf } from './model.ts';
import { objectiveOf } from './verify.ts';
import type { Candidate, CostOptions, PoolInstance, PoolPlan } from './types.ts';

/**
 * The brute-force optimum of a tiny instance: every combination of (unplaced | one candidate) per request,
 * pruned only by feasibility (TEU and tonnes per departure after usedTeu / usedTonnes, TEU per listing, the
 * consolidation rule), each complete one with the departures it needs running (mustRun ∪ used: running an
 * empty departure only adds its fixed cost ≥ 0), priced with {@link objectiveOf}. Written apart from the
 * model. Refuses instances with more than `maxCombinations` combinations.
 */
export function bruteForce(
  inst: PoolInstance,
  opts: CostOptions = {},
  maxCombinations = 2_000_000,
): { plan: PoolPlan; totalCents: number } {
  const byReq = candidatesByRequest(inst);
  const options = inst.requests.map((r) => [null, ...(byReq.get(r.id) ?? [])] as (Candidate | null)[]);
  const combos = options.reduce((p, o) => p * o.length, 1);
  if (combos > maxCombinations) throw new Error(`bruteForce: ${combos} combinations`);
  const deps = departureMap(inst);
  const pen = penalties(inst, opts);
  const remaining = new Map(inst.legs.map((l) => [l.listingId, l.listingRemainingTeu]));
  const teu = new Map<string, number>();
  const tonnes = new Map<string, number>();
  const listing = new Map<string, number>();
  const on = new Map<string, boolean[]>(); // departure → consolidate flags of its riders
  const chosen: (Candidate | null)[] = [];
  let best: { plan: PoolPlan; totalCents: number } | null = null;

  const ok = (i: number, k: Candidate) => {
    const r = inst.requests[i]!;
    return k.legs.every((l) => {
      const d = deps.get(l.departureId);
      if (!d) return false;
      const flags = on.get(d.id) ?? [];
      return (
        d.usedTeu + (teu.get(d.id) ?? 0) + r.teu <= d.capacityTeu &&
        d.usedTonnes + (tonnes.get(d.id) ?? 0) + r.tonnes <= d.capacityTonnes &&
        (listing.get(l.listingId) ?? 0) + r.teu <= (remaining.get(l.listingId) ?? 0) &&
        (flags.length === 0 || (r.consolidate && flags.every(Boolean)))
      );
    });
  };
  const apply = (i: number, k: Candidate, sign: 1 | -1) => {
    const r = inst.requests[i]!;
    for (const l of k.legs) {
      teu.set(l.departureId, (teu.get(l.departureId) ?? 0) + sign * r.teu);
      tonnes.set(l.departureId, (tonnes.get(l.departureId) ?? 0) + sign * r.tonnes);
      listing.set(l.listingId, (listing.get(l.listingId) ?? 0) + sign * r.teu);
      const flags = on.get(l.departureId) ?? [];
      if (sign > 0) flags.push(r.consolidate);
      else flags.pop();
      on.set(l.departureId, flags);
    }
  };
  const visit = (i: number) => {
    if (i === inst.requests.length) {
      const assignment = Object.fromEntries(inst.requests.map((r, j) => [r.id, chosen[j]?.key ?? null]));
      const plan = { assignment, running: runningOf(inst, assignment) };
      const totalCents = objectiveOf(inst, plan, opts, pen).totalCents;
      if (!best || totalCents < best.totalCents) best = { plan, totalCents };
      return;
    }
    for (const k of options[i]!) {
      if (k && !ok(i, k)) continue;
      chosen[i] = k;
      if (k) apply(i, k, 1);
      visit(i + 1);
      if (k) apply(i, k, -1);
    }
  };
  visit(0);
  return best!;
}
