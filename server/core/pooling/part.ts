import { candidatesByRequest } from './costs.ts';
import { residual, splitByTime } from './decompose.ts';
import { greedyPlan, roundPlan } from './greedy.ts';
import { buildModel, runningOf } from './model.ts';
import { objectiveOf, verifyPlan } from './verify.ts';
import type { CostOptions, PoolInstance, PoolPlan, PoolRouting, SolveResult, SolveStatus } from './types.ts';

/**
 * Solving one component within its time budget.
 *
 * Small component (≤ maxColumns candidate columns): its LP relaxation (when the LP bound is asked for), then
 * the whole MIP, started from the better of the greedy plan and the rounding of the LP solution.
 * Large component: the LP relaxation (always: it is the bound, and it guides the rest), then
 *  1. fix: every request whose LP value is integral (x* ≥ 0.999 on one candidate) keeps that candidate;
 *  2. solve the rest — as chunks of at most maxColumns in time order (decompose.ts), each a MIP over what is
 *     left of the departures after the fixed requests and earlier chunks (`residual`);
 *  3. polish: with the time left (chunks get at most half of it; when at least a fifth of the budget is left), the whole component's MIP started from
 *     the best plan so far — its dual bound tightens the bound, and it may improve the plan.
 * A MIP plan is kept only when the verifier accepts it and it is no worse than the plan it started from.
 */

export interface PartContext {
  cost: CostOptions;
  routing: PoolRouting;
  pen: Map<string, number>;
  maxColumns: number;
  lpBound: boolean;
  /** ms spent so far (wall clock or solver time). */
  spent(): number;
  solve(lp: string, sliceMs: number, extra: { relax?: boolean; start?: Record<string, number>; constant: number }): Promise<SolveResult>;
}

export interface PartOutcome {
  plan: PoolPlan;
  /** The greedy plan's objective on this component. */
  greedyCents: number;
  objectiveCents: number;
  source: 'mip' | 'greedy' | 'rounding';
  boundCents: number | null;
  lpBoundCents: number | null;
  columns: number;
  rows: number;
  chunks: number;
  fixed: number;
  statuses: SolveStatus[];
}

const pick = (a: Record<string, string | null>, ids: Iterable<string>): Record<string, string | null> =>
  Object.fromEntries([...ids].map((id) => [id, a[id] ?? null]));

export async function solvePart(ctx: PartContext, sub: PoolInstance, greedy: PoolPlan, budgetMs: number): Promise<PartOutcome> {
  const t0 = ctx.spent();
  const left = () => Math.max(0, budgetMs - (ctx.spent() - t0));
  const cents = (inst: PoolInstance, p: PoolPlan) => objectiveOf(inst, p, ctx.cost, ctx.pen).totalCents;
  const withRunning = (inst: PoolInstance, assignment: Record<string, string | null>): PoolPlan => ({ assignment, running: runningOf(inst, assignment) });
  const statuses: SolveStatus[] = [];
  const model = buildModel(sub, ctx.cost, ctx.pen);
  const large = model.columns > ctx.maxColumns;

  // a MIP from `start`; its plan when verified and no worse
  const mip = async (inst: PoolInstance, m: typeof model, start: PoolPlan, sliceMs: number) => {
    const res = await ctx.solve(m.lp(), sliceMs, { start: m.encode(start), constant: m.constant });
    statuses.push(res.status);
    let plan = start;
    if (res.hasSolution) {
      const p = m.decode(res.values);
      if (verifyPlan(inst, p, ctx.routing).length === 0 && cents(inst, p) <= cents(inst, start)) plan = p;
    }
    return { plan, bound: Number.isFinite(res.bound) ? res.bound + m.constant : null, improved: plan !== start };
  };

  const greedyHere = withRunning(sub, pick(greedy.assignment, sub.requests.map((r) => r.id)));
  const greedyCents = cents(sub, greedyHere);
  let best = greedyHere;
  let source: PartOutcome['source'] = 'greedy';
  let lpBound: number | null = null;
  let weight: ((requestId: string, key: string) => number) | null = null;
  if (model.columns > 0 && (ctx.lpBound || large)) {
    const res = await ctx.solve(model.lp(true), left() / 3, { relax: true, constant: model.constant });
    statuses.push(res.status);
    if (res.status === 'optimal') lpBound = res.objective + model.constant;
    if (res.hasSolution) {
      weight = model.weights(res.values);
      const rounded = roundPlan(sub, weight);
      if (cents(sub, rounded) < cents(sub, best)) [best, source] = [rounded, 'rounding'];
    }
  }
  let dualBound: number | null = null;
  let chunks = 1;
  let fixed = 0;
  if (model.columns > 0 && !large) {
    const r = await mip(sub, model, best, left());
    dualBound = r.bound;
    if (r.improved) [best, source] = [r.plan, 'mip'];
  } else if (large) {
    // 1. fix what the LP decided
    const done: Record<string, string | null> = {};
    const rest: string[] = [];
    const byReq = candidatesByRequest(sub);
    for (const r of sub.requests) {
      const k = weight ? byReq.get(r.id)?.find((c) => weight(r.id, c.key) >= 0.999) : undefined;
      if (k) done[r.id] = k.key;
      else rest.push(r.id);
    }
    fixed = Object.keys(done).length;
    // 2. the rest in time chunks
    const depIds = sub.departures.map((d) => d.id);
    const restSet = new Set(rest);
    const parts = splitByTime(sub, { requestIds: rest, departureIds: depIds, columns: sub.candidates.filter((k) => restSet.has(k.requestId)).length }, ctx.maxColumns);
    chunks = parts.length;
    for (const [c, ids] of parts.entries()) {
      const chunk = residual(sub, ids, depIds, { assignment: done, running: [] });
      const m = buildModel(chunk, ctx.cost, ctx.pen);
      const starts = [greedyPlan(chunk), ...(weight ? [roundPlan(chunk, weight)] : [])];
      const start = starts.reduce((a, b) => (cents(chunk, b) < cents(chunk, a) ? b : a));
      const plan = m.columns > 0 ? (await mip(chunk, m, start, (left() * 0.5) / (parts.length - c))).plan : start;
      Object.assign(done, plan.assignment);
    }
    const stitched = withRunning(sub, pick(done, sub.requests.map((r) => r.id)));
    if (verifyPlan(sub, stitched, ctx.routing).length === 0 && cents(sub, stitched) < cents(sub, best)) [best, source] = [stitched, 'mip'];
    // 3. polish the whole component from the best plan
    if (left() >= budgetMs / 5) {
      const r = await mip(sub, model, best, left());
      dualBound = r.bound;
      if (r.improved) [best, source] = [r.plan, 'mip'];
    }
  }
  const bound = dualBound !== null && lpBound !== null ? Math.max(dualBound, lpBound) : (dualBound ?? lpBound);
  return {
    plan: best,
    greedyCents,
    objectiveCents: cents(sub, best),
    source,
    boundCents: bound === null ? null : Math.ceil(bound - 1e-6),
    lpBoundCents: lpBound === null ? null : Math.ceil(lpBound - 1e-6),
    columns: model.columns,
    rows: model.rows,
    chunks,
    fixed,
    statuses,
  };
}
