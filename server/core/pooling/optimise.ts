import { penalties } from './costs.ts';
import { components, restrict } from './decompose.ts';
import { greedyPlan } from './greedy.ts';
import { runningOf } from './model.ts';
import { solvePart, type PartContext, type PartOutcome } from './part.ts';
import { departureOutcomes, loadFactorBefore, planFigures, type DepartureOutcome, type PlanFigures } from './report.ts';
import { objectiveOf, verifyPlan } from './verify.ts';
import type { CostOptions, MipSolver, PoolInstance, PoolPlan, PoolRouting } from './types.ts';

/**
 * optimise(): greedy baseline, decomposition, one solve per part within a total time budget, stitching,
 * verification. Pure apart from the injected solver (and the optional clock).
 *
 * Budget: `timeLimitSec` for all solver calls together, shared among the components (decompose.ts) in
 * proportion to their columns (of what is left after each); each component is solved by part.ts. Time is
 * measured by `clock` when given (wall time, including model building), else by the solvers' reported times.
 * Every MIP starts from a feasible plan no worse than greedy, so it always has an incumbent, and a component
 * keeps its greedy plan unless a verified plan is cheaper. Components are independent, so mixing is valid.
 * Bound: per component the best proven lower bound — the MIP dual bound of the whole component when it ran,
 * its LP relaxation otherwise (chunk bounds are no bounds of the component) — plus the constants (mustRun
 * fixed costs, penalties of requests with no candidate, departures in no component). gapPct = (objective −
 * bound) / (objective − those constants): the gap on the part of the objective the plan can change; gapVsLpPct
 * the same against the plain LP relaxation (root, before cuts).
 */

export interface OptimiseOptions extends CostOptions {
  routing: PoolRouting;
  /** Total solver time, seconds (default 5). */
  timeLimitSec?: number;
  /** Relative MIP gap at which a part stops (default 0.005). */
  mipRelGap?: number;
  /** Components with more candidate columns are solved by LP fixing and time chunks of at most this size (part.ts; default 8,000). */
  maxPartColumns?: number;
  /** Also solve the LP relaxation of every component (default true), for `lpBoundCents`. */
  lpBound?: boolean;
  /** Milliseconds from any origin, for the budget (e.g. performance.now). */
  clock?: () => number;
  onProgress?: (p: OptimiseProgress) => void;
}

export interface OptimiseProgress {
  phase: 'greedy' | 'bound' | 'solving' | 'done';
  part: number;
  parts: number;
  /** Of the part being solved, in cents including its constants; null when unknown. */
  incumbentCents: number | null;
  boundCents: number | null;
  gapPct: number | null;
}

/** One component: its size, how it was solved, objective and bounds in cents, ms spent on it. */
export type PartReport = Omit<PartOutcome, 'plan' | 'greedyCents'> & {
  requests: number;
  departures: number;
  greedyObjectiveCents: number;
  ms: number;
};

export interface OptimiseResult {
  plan: PoolPlan;
  source: 'mip' | 'greedy' | 'mixed' | 'none';
  figures: PlanFigures;
  greedy: { plan: PoolPlan; figures: PlanFigures };
  /** Best proven lower bound of the objective; null when a component has none. */
  boundCents: number | null;
  /** Σ LP relaxations (+ constants), when every component's was solved. */
  lpBoundCents: number | null;
  gapPct: number | null;
  gapVsLpPct: number | null;
  /** Σ solver-reported ms. */
  solveMs: number;
  timeLimitHit: boolean;
  loadFactorBefore: number;
  departures: DepartureOutcome[];
  parts: PartReport[];
  /** Verifier findings on the final plan (always empty unless something is wrong). */
  violations: string[];
}

export async function optimise(inst: PoolInstance, opts: OptimiseOptions, solver: MipSolver): Promise<OptimiseResult> {
  const limitMs = (opts.timeLimitSec ?? 5) * 1000;
  const t0 = opts.clock?.() ?? 0;
  let solveMs = 0;
  let timeLimitHit = false;
  let current = 0;
  const spent = () => (opts.clock ? opts.clock() - t0 : solveMs);
  const progress = (p: OptimiseProgress) => opts.onProgress?.(p);
  const pen = penalties(inst, opts);
  const greedy = greedyPlan(inst);
  const parts = components(inst);
  progress({ phase: 'greedy', part: 0, parts: parts.length, incumbentCents: objectiveOf(inst, greedy, opts, pen).totalCents, boundCents: null, gapPct: null });
  const ctx: PartContext = {
    cost: opts,
    routing: opts.routing,
    pen,
    maxColumns: opts.maxPartColumns ?? 8_000,
    lpBound: opts.lpBound !== false,
    spent,
    async solve(lp, sliceMs, extra) {
      if (extra.relax) progress({ phase: 'bound', part: current, parts: parts.length, incumbentCents: null, boundCents: null, gapPct: null });
      const res = await solver.solve(lp, {
        // HiGHS counts from the start of its run: keep ~1 ms per 5 kB of LP text for parsing it before
        timeLimitSec: Math.max(0.05, (sliceMs - lp.length / 5_000) / 1000),
        mipRelGap: opts.mipRelGap ?? 0.005,
        relax: extra.relax,
        start: extra.start,
        onProgress: (p) =>
          progress({
            phase: 'solving',
            part: current,
            parts: parts.length,
            incumbentCents: p.incumbent === null ? null : Math.round(p.incumbent + extra.constant),
            boundCents: p.bound === null ? null : Math.round(p.bound + extra.constant),
            gapPct: p.gap === null ? null : p.gap * 100,
          }),
      });
      solveMs += res.solveMs;
      if (res.status === 'time_limit') timeLimitHit = true;
      return res;
    },
  };

  const assignment: Record<string, string | null> = Object.fromEntries(inst.requests.map((r) => [r.id, null]));
  const reports: PartReport[] = [];
  let colsLeft = parts.reduce((s, p) => s + p.columns, 0);
  for (const [n, part] of parts.entries()) {
    current = n;
    const budget = Math.max(0, limitMs - spent()) * (part.columns / Math.max(1, colsLeft));
    colsLeft -= part.columns;
    const started = spent();
    const sub = restrict(inst, part.requestIds, part.departureIds);
    const out = await solvePart(ctx, sub, greedy, budget);
    Object.assign(assignment, out.plan.assignment);
    reports.push({
      requests: part.requestIds.length,
      departures: part.departureIds.length,
      columns: out.columns,
      rows: out.rows,
      chunks: out.chunks,
      fixed: out.fixed,
      statuses: out.statuses,
      source: out.source,
      objectiveCents: out.objectiveCents,
      greedyObjectiveCents: out.greedyCents,
      boundCents: out.boundCents,
      lpBoundCents: out.lpBoundCents,
      ms: spent() - started,
    });
  }

  const plan: PoolPlan = { assignment, running: runningOf(inst, assignment) };
  const figures = planFigures(inst, plan, opts, pen);
  const inParts = reports.reduce((s, r) => s + r.objectiveCents, 0);
  const constant = figures.objective.totalCents - inParts; // departures and requests in no component
  const sumOf = (key: 'boundCents' | 'lpBoundCents') =>
    reports.every((r) => r[key] !== null) ? constant + reports.reduce((s, r) => s + r[key]!, 0) : null;
  const boundCents = sumOf('boundCents');
  const lpBoundCents = sumOf('lpBoundCents');
  const inPart = new Set(parts.flatMap((p) => p.requestIds));
  const fixedPart =
    inst.departures.reduce((s, d) => s + (d.mustRun ? d.fixedCostCents : 0), 0) +
    inst.requests.reduce((s, r) => s + (inPart.has(r.id) ? 0 : (pen.get(r.id) ?? 0)), 0);
  const rel = (b: number | null) => (b === null ? null : (100 * (figures.objective.totalCents - b)) / Math.max(1, figures.objective.totalCents - fixedPart));
  const sources = new Set(reports.map((r) => (r.source === 'greedy' ? 'greedy' : 'mip')));
  progress({ phase: 'done', part: parts.length, parts: parts.length, incumbentCents: figures.objective.totalCents, boundCents, gapPct: rel(boundCents) });
  return {
    plan,
    source: sources.size === 0 ? 'none' : sources.size === 2 ? 'mixed' : [...sources][0]!,
    figures,
    greedy: { plan: greedy, figures: planFigures(inst, greedy, opts, pen) },
    boundCents,
    lpBoundCents,
    gapPct: rel(boundCents),
    gapVsLpPct: rel(lpBoundCents),
    solveMs,
    timeLimitHit,
    loadFactorBefore: loadFactorBefore(inst),
    departures: departureOutcomes(inst, plan),
    parts: reports,
    violations: verifyPlan(inst, plan, opts.routing),
  };
}
