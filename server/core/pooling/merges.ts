import type { DepartureOutcome } from './report.ts';
import type { PoolDeparture, PoolInstance } from './types.ts';

/**
 * Merges of under-used departures (issue 13), pure. A departure that would run below its minimum load only because
 * of confirmed bookings may be merged into a later departure of the same operator, corridor and mode that runs
 * anyway; its bookings move only with each of their forwarders' consent (server/services/merges.ts).
 *
 * The model decides (prepareMerges before the solve, mergeProposals after it):
 *  - every candidate source is given to the solver as an ordinary departure (not mustRun: running it costs its fixed
 *    cost, like any other), and room for its bookings is reserved on its target (the target's used TEU and tonnes
 *    grow by them) — so whether the source runs or not, no departure is ever over capacity;
 *  - when the plan does not run the source (nothing pooled made it worth its fixed cost), it becomes a merge
 *    proposal to its operator, with the bookings named; when it does run, its bookings stay where they are.
 *
 * The rule (README "Pooling", merges):
 *  - a source: carries confirmed bookings and nothing else (no live hold; no booking that is one leg of a
 *    multi-leg itinerary — the caller leaves those out), fewer TEU than its minimum load, cut-off after `now` and
 *    within the decision horizon, not already being decided;
 *  - a target: same operator, corridor and mode, runs anyway (mustRun), leaves no earlier than the source (the
 *    cargo is ready for the source's departure, maybe not before) and arrives at most `maxDelayMs` after it
 *    (default 24 h), cut-off after `now`, room for every moved TEU and tonne after what is reserved on it already;
 *    among targets the earliest arrival, then the most room, then the id;
 *  - sources in order of departure, then id; a departure is a source or a target, never both; only when merging
 *    saves operating cost (the source's fixed cost + its variable cost of the moved TEU − the target's > 0).
 */

export interface MovableBooking {
  id: string;
  departureId: string;
  forwarderOrgId: string;
  teu: number;
  tonnes: number;
}

export interface MergeRules {
  /** How much later than the source's arrival the target may arrive. */
  maxDelayMs: number;
}

export const DEFAULT_MERGE_RULES: MergeRules = { maxDelayMs: 24 * 3_600_000 };

export interface MergeCandidate {
  departureId: string;
  operatorOrgId: string;
  intoDepartureId: string;
  bookings: MovableBooking[];
  teu: number;
  tonnes: number;
  capacityTeu: number;
  minLoadTeu: number;
  /** The target's load (used TEU, before the plan pools anything onto it), before → after the merge. */
  targetLoadBeforeTeu: number;
  targetLoadAfterTeu: number;
  /** Operating cost the merge saves (> 0). */
  savingCents: number;
}

export interface MergeInput {
  now: number;
  /** Cut-offs after this may not be decided yet (the optimiser's decision horizon). */
  horizon: number;
  departures: PoolDeparture[];
  /** Confirmed bookings that may move (on the departures given). */
  bookings: MovableBooking[];
  /** Departures a merge is already being decided for: neither source nor target. */
  busy?: Set<string>;
}

const byTimeThenId = (a: PoolDeparture, b: PoolDeparture) => a.departsAt - b.departsAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The merge candidates, and the departures as the solver gets them (sources not mustRun, room reserved on targets). */
export function prepareMerges(input: MergeInput, rules: MergeRules = DEFAULT_MERGE_RULES): { departures: PoolDeparture[]; candidates: MergeCandidate[] } {
  const byDep = new Map<string, MovableBooking[]>();
  for (const b of input.bookings) byDep.set(b.departureId, [...(byDep.get(b.departureId) ?? []), b]);
  const busy = input.busy ?? new Set<string>();
  const sum = (bs: MovableBooking[], k: 'teu' | 'tonnes') => bs.reduce((s, b) => s + b[k], 0);
  const isSource = (d: PoolDeparture) => {
    const mine = byDep.get(d.id);
    if (!mine || busy.has(d.id) || d.cutoffAt <= input.now || d.cutoffAt > input.horizon) return false;
    return sum(mine, 'teu') === d.usedTeu && sum(mine, 'tonnes') === d.usedTonnes && d.usedTeu < d.minLoadTeu;
  };
  const sources = input.departures.filter(isSource).sort(byTimeThenId);
  const sourceIds = new Set(sources.map((d) => d.id));
  const reserved = new Map<string, { teu: number; tonnes: number }>();
  const targets = new Set<string>();
  const merged = new Set<string>();
  const candidates: MergeCandidate[] = [];
  for (const s of sources) {
    if (targets.has(s.id)) continue;
    const moved = byDep.get(s.id)!;
    const teu = sum(moved, 'teu');
    const tonnes = sum(moved, 'tonnes');
    let best: { d: PoolDeparture; roomTeu: number } | null = null;
    for (const t of input.departures) {
      if (t.id === s.id || !t.mustRun || busy.has(t.id) || merged.has(t.id) || t.cutoffAt <= input.now) continue;
      if (sourceIds.has(t.id) && !targets.has(t.id)) continue; // a source itself (it may not run): not a safe target
      if (t.operatorOrgId !== s.operatorOrgId || t.corridorId !== s.corridorId || t.mode !== s.mode) continue;
      if (t.departsAt < s.departsAt || t.arrivesAt > s.arrivesAt + rules.maxDelayMs) continue;
      const r = reserved.get(t.id) ?? { teu: 0, tonnes: 0 };
      const roomTeu = t.capacityTeu - t.usedTeu - r.teu;
      if (roomTeu < teu || t.capacityTonnes - t.usedTonnes - r.tonnes < tonnes) continue;
      if (s.fixedCostCents + s.variableCostCentsPerTeu * teu - t.variableCostCentsPerTeu * teu <= 0) continue;
      if (!best || t.arrivesAt < best.d.arrivesAt || (t.arrivesAt === best.d.arrivesAt && (roomTeu > best.roomTeu || (roomTeu === best.roomTeu && t.id < best.d.id)))) {
        best = { d: t, roomTeu };
      }
    }
    if (!best) continue;
    const t = best.d;
    const r = reserved.get(t.id) ?? { teu: 0, tonnes: 0 };
    const before = t.usedTeu + r.teu;
    reserved.set(t.id, { teu: r.teu + teu, tonnes: r.tonnes + tonnes });
    targets.add(t.id);
    merged.add(s.id);
    candidates.push({
      departureId: s.id, operatorOrgId: s.operatorOrgId, intoDepartureId: t.id, bookings: moved, teu, tonnes, capacityTeu: s.capacityTeu,
      minLoadTeu: s.minLoadTeu, targetLoadBeforeTeu: before, targetLoadAfterTeu: before + teu,
      savingCents: s.fixedCostCents + s.variableCostCentsPerTeu * teu - t.variableCostCentsPerTeu * teu,
    });
  }
  const departures = input.departures.map((d) => {
    if (merged.has(d.id)) return { ...d, mustRun: false };
    const r = reserved.get(d.id);
    return r ? { ...d, usedTeu: d.usedTeu + r.teu, usedTonnes: d.usedTonnes + r.tonnes } : d;
  });
  return { departures, candidates };
}

/** The merges the plan makes: the candidates whose source it does not run. */
export function mergeProposals(candidates: MergeCandidate[], outcomes: DepartureOutcome[]): MergeCandidate[] {
  const runs = new Map(outcomes.map((o) => [o.departureId, o.runs]));
  return candidates.filter((c) => runs.get(c.departureId) === false);
}

/**
 * The instance as it stands without the merges' reservations (for "before" figures): each target's used load minus
 * what prepareMerges reserved on it.
 */
export function withoutReservations(inst: PoolInstance, candidates: MergeCandidate[]): PoolDeparture[] {
  const back = new Map<string, { teu: number; tonnes: number }>();
  for (const c of candidates) {
    const r = back.get(c.intoDepartureId) ?? { teu: 0, tonnes: 0 };
    back.set(c.intoDepartureId, { teu: r.teu + c.teu, tonnes: r.tonnes + c.tonnes });
  }
  return inst.departures.map((d) => {
    const r = back.get(d.id);
    return r ? { ...d, usedTeu: d.usedTeu - r.teu, usedTonnes: d.usedTonnes - r.tonnes } : d;
  });
}

/**
 * Load factor of a plan with its merges: over the departures that run, TEU on board / capacity — a target carries the
 * moved bookings only when its source does not run (otherwise the room reserved for them stays empty).
 */
export function mergedLoadFactor(outcomes: DepartureOutcome[], candidates: MergeCandidate[]): number {
  const runs = new Map(outcomes.map((o) => [o.departureId, o.runs]));
  let cap = 0;
  let onBoard = 0;
  for (const o of outcomes) {
    if (!o.runs) continue;
    cap += o.capacityTeu;
    onBoard += o.teuAfter;
  }
  for (const c of candidates) if (runs.get(c.departureId) && runs.get(c.intoDepartureId)) onBoard -= c.teu;
  return cap > 0 ? onBoard / cap : 0;
}
