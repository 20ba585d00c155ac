import { planChain } from '../routing/plan.ts';
import type { RouteQuery, TimetableLeg } from '../routing/types.ts';
import { candidateCents, departureMap, penalties, requestMap } from './costs.ts';
import type { Candidate, CostOptions, ObjectiveBreakdown, PoolInstance, PoolPlan, PoolRouting } from './types.ts';

/**
 * An independent check of a plan against the instance — it does not look at the model or at how the plan was
 * made. Each assigned itinerary is rebuilt from the instance's legs with the departures' own times and checked
 * with the route search's chain rules (`planChain`: connected simple path from → to, allowed modes, cut-offs,
 * ready-at, minimum connection times per cluster and mode pair, deliver-by, max price); then the candidate's
 * price, cost and CO2e are recomputed, and across the plan: TEU and tonnes per departure (minus usedTeu /
 * usedTonnes), TEU per listing, departures that do not run carry nothing, mustRun departures run, and a
 * request that may not be consolidated shares none of its departures with another pooled request.
 */

/** Every rule the plan breaks, as readable lines (empty: the plan is valid). */
export function verifyPlan(inst: PoolInstance, plan: PoolPlan, routing: PoolRouting): string[] {
  const bad: string[] = [];
  const reqs = requestMap(inst);
  const deps = departureMap(inst);
  const legs = new Map(inst.legs.map((l) => [l.listingId, l]));
  const cands = new Map(inst.candidates.map((k) => [`${k.requestId}|${k.key}`, k]));
  const running = new Set(plan.running);
  for (const id of running) if (!deps.has(id)) bad.push(`running departure ${id} is unknown`);
  for (const d of inst.departures) if (d.mustRun && !running.has(d.id)) bad.push(`departure ${d.id} must run`);
  for (const id of Object.keys(plan.assignment)) if (!reqs.has(id)) bad.push(`request ${id} is unknown`);

  const teu = new Map<string, number>();
  const tonnes = new Map<string, number>();
  const listingTeu = new Map<string, number>();
  const riders = new Map<string, string[]>();
  for (const r of inst.requests) {
    if (!(r.id in plan.assignment)) {
      bad.push(`request ${r.id} is missing from the plan`);
      continue;
    }
    const key = plan.assignment[r.id];
    if (key === null || key === undefined) continue;
    const k = cands.get(`${r.id}|${key}`);
    if (!k) {
      bad.push(`request ${r.id}: candidate ${key} is unknown`);
      continue;
    }
    const chain: TimetableLeg[] = [];
    for (const l of k.legs) {
      const leg = legs.get(l.listingId);
      const d = deps.get(l.departureId);
      if (!leg || !d || leg.departureId !== d.id) {
        bad.push(`request ${r.id}: leg ${l.listingId}/${l.departureId} is unknown or mismatched`);
        continue;
      }
      if (!running.has(d.id)) bad.push(`request ${r.id} rides departure ${d.id}, which does not run`);
      if (leg.format !== 'fixed' && leg.format !== 'falling') bad.push(`request ${r.id}: listing ${leg.listingId} needs a bid`);
      // the departure's own times and places; capacity is checked below for the whole plan
      chain.push({
        ...leg,
        mode: d.mode,
        origin: d.origin,
        destination: d.destination,
        departsAt: d.departsAt,
        arrivesAt: d.arrivesAt,
        cutoffAt: d.cutoffAt,
        depFreeTeu: Infinity,
        depFreeTonnes: Infinity,
        listingRemainingTeu: Infinity,
      });
      teu.set(d.id, (teu.get(d.id) ?? 0) + r.teu);
      tonnes.set(d.id, (tonnes.get(d.id) ?? 0) + r.tonnes);
      listingTeu.set(leg.listingId, (listingTeu.get(leg.listingId) ?? 0) + r.teu);
      const list = riders.get(d.id);
      if (list) list.push(r.id);
      else riders.set(d.id, [r.id]);
    }
    if (chain.length !== k.legs.length) continue;
    const q: RouteQuery = {
      from: r.from,
      to: r.to,
      teu: r.teu,
      tonnes: r.tonnes,
      readyAt: r.readyAt,
      deliverBy: r.deliverBy,
      now: inst.now,
      modes: r.modes,
      maxLegs: routing.maxLegs ?? 3,
      maxTotalCents: r.maxTotalCents,
    };
    const checked = planChain(chain, q, routing.params);
    if (!checked.ok) {
      bad.push(`request ${r.id}: ${checked.code} (${checked.message})`);
      continue;
    }
    const p = checked.plan;
    const cost =
      chain.reduce((s, l) => s + deps.get(l.departureId)!.variableCostCentsPerTeu * r.teu, 0) +
      p.transfers.reduce((s, t) => s + t.handlingCents, 0);
    if (p.totalCents !== k.priceCents) bad.push(`request ${r.id}: price ${k.priceCents} ≠ ${p.totalCents}`);
    if (p.co2eGrams !== k.co2eGrams) bad.push(`request ${r.id}: CO2e ${k.co2eGrams} ≠ ${p.co2eGrams}`);
    if (cost !== k.costCents) bad.push(`request ${r.id}: cost ${k.costCents} ≠ ${cost}`);
    if (p.departsAt !== k.departsAt || p.arrivesAt !== k.arrivesAt) bad.push(`request ${r.id}: candidate times differ`);
  }

  for (const d of inst.departures) {
    const t = teu.get(d.id) ?? 0;
    const w = tonnes.get(d.id) ?? 0;
    if (d.usedTeu + t > d.capacityTeu && t > 0) bad.push(`departure ${d.id}: ${d.usedTeu} + ${t} TEU > ${d.capacityTeu}`);
    if (d.usedTonnes + w > d.capacityTonnes && w > 0) bad.push(`departure ${d.id}: ${d.usedTonnes} + ${w} t > ${d.capacityTonnes}`);
    const on = riders.get(d.id) ?? [];
    for (const id of on) {
      if (on.length > 1 && !reqs.get(id)!.consolidate) bad.push(`request ${id} may not be consolidated but shares ${d.id}`);
    }
  }
  for (const [id, t] of listingTeu) {
    const leg = legs.get(id)!;
    if (t > leg.listingRemainingTeu) bad.push(`listing ${id}: ${t} TEU > ${leg.listingRemainingTeu} remaining`);
  }
  return bad;
}

/** Pooled TEU and tonnes per departure under a plan (unknown keys are skipped). */
export function planLoads(inst: PoolInstance, plan: PoolPlan): Map<string, { teu: number; tonnes: number; riders: string[] }> {
  const cands = new Map(inst.candidates.map((k) => [`${k.requestId}|${k.key}`, k]));
  const out = new Map<string, { teu: number; tonnes: number; riders: string[] }>();
  for (const r of inst.requests) {
    const key = plan.assignment[r.id];
    const k = key == null ? undefined : cands.get(`${r.id}|${key}`);
    for (const l of k?.legs ?? []) {
      const cur = out.get(l.departureId) ?? { teu: 0, tonnes: 0, riders: [] };
      cur.teu += r.teu;
      cur.tonnes += r.tonnes;
      cur.riders.push(r.id);
      out.set(l.departureId, cur);
    }
  }
  return out;
}

/** The candidate each request rides under a plan (null: unplaced). */
export function assignedCandidates(inst: PoolInstance, plan: PoolPlan): Map<string, Candidate | null> {
  const cands = new Map(inst.candidates.map((k) => [`${k.requestId}|${k.key}`, k]));
  return new Map(inst.requests.map((r) => {
    const key = plan.assignment[r.id];
    return [r.id, key == null ? null : (cands.get(`${r.id}|${key}`) ?? null)];
  }));
}

/** The objective of a plan (see costs.ts); `pen` defaults to the instance's own penalties. */
export function objectiveOf(inst: PoolInstance, plan: PoolPlan, opts: CostOptions = {}, pen = penalties(inst, opts)): ObjectiveBreakdown {
  const deps = departureMap(inst);
  let fixedCents = 0;
  for (const id of new Set(plan.running)) fixedCents += deps.get(id)?.fixedCostCents ?? 0;
  let variableCents = 0;
  let co2 = 0;
  let penaltyCents = 0;
  let compensationCents = 0;
  for (const [id, k] of assignedCandidates(inst, plan)) {
    if (!k) penaltyCents += pen.get(id) ?? 0;
    else {
      variableCents += k.costCents;
      compensationCents += k.premiumCents ?? 0;
      co2 += candidateCents(k, opts) - k.costCents - (k.premiumCents ?? 0);
    }
  }
  return { fixedCents, variableCents, co2Cents: co2, penaltyCents, compensationCents, totalCents: fixedCents + variableCents + co2 + penaltyCents + compensationCents };
}

/**
 * Unplaced requests one of whose candidates would still fit next to the plan (capacity, listing, running is
 * free to change, consolidation). An optimal plan has none (see costs.ts); so does the greedy one.
 */
export function unplacedThatFit(inst: PoolInstance, plan: PoolPlan): string[] {
  const deps = departureMap(inst);
  const legs = new Map(inst.legs.map((l) => [l.listingId, l]));
  const loads = planLoads(inst, plan);
  const listingTeu = new Map<string, number>();
  for (const [id, k] of assignedCandidates(inst, plan)) {
    const r = inst.requests.find((x) => x.id === id)!;
    for (const l of k?.legs ?? []) listingTeu.set(l.listingId, (listingTeu.get(l.listingId) ?? 0) + r.teu);
  }
  const reqs = requestMap(inst);
  const out: string[] = [];
  for (const r of inst.requests) {
    if (plan.assignment[r.id] != null) continue;
    const fits = inst.candidates.some((k) => k.requestId === r.id && k.legs.every((l) => {
      const d = deps.get(l.departureId)!;
      const load = loads.get(d.id) ?? { teu: 0, tonnes: 0, riders: [] };
      const lonely = load.riders.length === 0 || (r.consolidate && load.riders.every((o) => reqs.get(o)!.consolidate));
      return (
        d.usedTeu + load.teu + r.teu <= d.capacityTeu &&
        d.usedTonnes + load.tonnes + r.tonnes <= d.capacityTonnes &&
        (listingTeu.get(l.listingId) ?? 0) + r.teu <= legs.get(l.listingId)!.listingRemainingTeu &&
        lonely
      );
    }));
    if (fits) out.push(r.id);
  }
  return out;
}
