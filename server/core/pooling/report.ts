import { departureMap } from './costs.ts';
import { assignedCandidates, objectiveOf, planLoads } from './verify.ts';
import type { CostOptions, ObjectiveBreakdown, PoolInstance, PoolPlan } from './types.ts';

/**
 * Figures of a plan for the scheduler's screen and the bench:
 *  - load factor = Σ TEU on board / Σ capacity TEU over the departures that run. "Before" is the timetable as
 *    it stands: every departure runs, carrying its usedTeu and nothing pooled yet. "After" is the plan: the
 *    departures that run, carrying usedTeu + pooled TEU;
 *  - CO2e of the pooled requests that ride (candidate CO2e), and against road (when the instance has the
 *    requests' road alternatives): road CO2e − itinerary CO2e of each placed request, and its trucks;
 *  - per departure: runs, load before → after, below its minimum load, TEU displaced when it is proposed for
 *    cancellation (usedTeu of a departure that does not run: holds that would have to move).
 */

export interface DepartureOutcome {
  departureId: string;
  runs: boolean;
  mustRun: boolean;
  capacityTeu: number;
  teuBefore: number;
  teuAfter: number;
  pooledTeu: number;
  pooledRequests: number;
  belowMinLoad: boolean;
  displacedTeu: number;
}

export interface PlanFigures {
  objective: ObjectiveBreakdown;
  placed: number;
  unplaced: number;
  placedTeu: number;
  departuresRunning: number;
  loadFactor: number;
  co2eGrams: number;
  /** Σ over placed requests of road CO2e − itinerary CO2e; null without road data. */
  co2eSavedVsRoadGrams: number | null;
  trucksAvoided: number | null;
}

/** Load factor of the timetable as it stands (all departures, used TEU only). */
export function loadFactorBefore(inst: PoolInstance): number {
  const cap = inst.departures.reduce((s, d) => s + d.capacityTeu, 0);
  return cap > 0 ? inst.departures.reduce((s, d) => s + d.usedTeu, 0) / cap : 0;
}

export function planFigures(inst: PoolInstance, plan: PoolPlan, opts: CostOptions, pen?: Map<string, number>): PlanFigures {
  const deps = departureMap(inst);
  const loads = planLoads(inst, plan);
  const running = [...new Set(plan.running)].filter((id) => deps.has(id));
  let cap = 0;
  let onBoard = 0;
  for (const id of running) {
    const d = deps.get(id)!;
    cap += d.capacityTeu;
    onBoard += d.usedTeu + (loads.get(id)?.teu ?? 0);
  }
  let placed = 0;
  let placedTeu = 0;
  let co2 = 0;
  let saved: number | null = inst.road ? 0 : null;
  let trucks: number | null = inst.road ? 0 : null;
  const teuOf = new Map(inst.requests.map((r) => [r.id, r.teu]));
  for (const [id, k] of assignedCandidates(inst, plan)) {
    if (!k) continue;
    placed++;
    placedTeu += teuOf.get(id) ?? 0;
    co2 += k.co2eGrams;
    const road = inst.road?.[id];
    if (saved !== null && trucks !== null && road) {
      saved += road.co2eGrams - k.co2eGrams;
      trucks += road.trucks;
    }
  }
  return {
    objective: objectiveOf(inst, plan, opts, pen),
    placed,
    unplaced: inst.requests.length - placed,
    placedTeu,
    departuresRunning: running.length,
    loadFactor: cap > 0 ? onBoard / cap : 0,
    co2eGrams: co2,
    co2eSavedVsRoadGrams: saved,
    trucksAvoided: trucks,
  };
}

export function departureOutcomes(inst: PoolInstance, plan: PoolPlan): DepartureOutcome[] {
  const loads = planLoads(inst, plan);
  const running = new Set(plan.running);
  return inst.departures.map((d) => {
    const load = loads.get(d.id);
    const runs = running.has(d.id);
    const pooledTeu = load?.teu ?? 0;
    const teuAfter = runs ? d.usedTeu + pooledTeu : 0;
    return {
      departureId: d.id,
      runs,
      mustRun: d.mustRun,
      capacityTeu: d.capacityTeu,
      teuBefore: d.usedTeu,
      teuAfter,
      pooledTeu,
      pooledRequests: load?.riders.length ?? 0,
      belowMinLoad: runs && teuAfter < d.minLoadTeu,
      displacedTeu: runs ? 0 : d.usedTeu,
    };
  });
}
