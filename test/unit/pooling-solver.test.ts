import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Highs } from 'highs';
import { inProcessSolver, loadHighs, solveLp } from '../../server/adapters/solver/highs.ts';
import { threadSolver } from '../../server/adapters/solver/solve-thread.ts';
import {
  buildModel,
  components,
  generateInstance,
  greedyPlan,
  objectiveOf,
  optimise,
  penalties,
  restrict,
  verifyPlan,
  type PoolInstance,
  type SolveProgress,
} from '../../server/core/pooling.ts';

let highs: Highs;
beforeAll(async () => {
  highs = await loadHighs();
});

/** Exact optimum of an instance's MIP (cents), with the given penalties. */
function exact(inst: PoolInstance, pen = penalties(inst)): number {
  const m = buildModel(inst, {}, pen);
  if (m.columns === 0) return m.constant;
  const res = solveLp(highs, m.lp(), { timeLimitSec: 60, mipRelGap: 0 });
  expect(res.status).toBe('optimal');
  return objectiveOf(inst, m.decode(res.values), {}, pen).totalCents;
}

describe('the solver stops on its time limit', () => {
  // 5,000 requests × 200 departures: far beyond what HiGHS proves optimal in 0.3 s
  const { instance, routing } = generateInstance({ seed: 1, requests: 5000, departures: 200 });
  const model = buildModel(instance);
  const greedy = greedyPlan(instance);

  it('reports time_limit and returns a feasible incumbent (started from the greedy plan)', () => {
    const res = solveLp(highs, model.lp(), { timeLimitSec: 0.3, mipRelGap: 0, start: model.encode(greedy) });
    expect(res.status).toBe('time_limit');
    expect(res.hasSolution).toBe(true);
    const plan = model.decode(res.values);
    expect(verifyPlan(instance, plan, routing)).toEqual([]);
    expect(objectiveOf(instance, plan).totalCents).toBeLessThanOrEqual(objectiveOf(instance, greedy).totalCents);
  });

  it('optimise() under a short limit: stops on it, and still returns a verified plan no worse than greedy', async () => {
    const res = await optimise(instance, { routing, timeLimitSec: 0.5, mipRelGap: 0 }, inProcessSolver());
    expect(res.timeLimitHit).toBe(true);
    expect(res.violations).toEqual([]);
    expect(res.figures.objective.totalCents).toBeLessThanOrEqual(res.greedy.figures.objective.totalCents);
  });
});

describe('decomposition (property)', () => {
  // many clusters, few departures: several components
  const arb = fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    requests: fc.integer({ min: 4, max: 30 }),
    departures: fc.integer({ min: 3, max: 9 }),
  });

  it('components solved apart add up to the optimum of the whole; optimise() finds it', async () => {
    let split = 0;
    await fc.assert(
      fc.asyncProperty(arb, async (o) => {
        const { instance, routing } = generateInstance({ ...o, clusters: 8 });
        const pen = penalties(instance);
        const whole = exact(instance, pen);
        const parts = components(instance);
        if (parts.length > 1) split++;
        const inParts = new Set(parts.flatMap((p) => p.requestIds));
        const depsIn = new Set(parts.flatMap((p) => p.departureIds));
        const outside =
          instance.requests.reduce((s, r) => s + (inParts.has(r.id) ? 0 : pen.get(r.id)!), 0) +
          instance.departures.reduce((s, d) => s + (d.mustRun && !depsIn.has(d.id) ? d.fixedCostCents : 0), 0);
        const sum = parts.reduce((s, p) => s + exact(restrict(instance, p.requestIds, p.departureIds), pen), outside);
        expect(sum).toBe(whole);
        const res = await optimise(instance, { routing, timeLimitSec: 30, mipRelGap: 0 }, inProcessSolver());
        expect(res.figures.objective.totalCents).toBe(whole);
        expect(res.boundCents).toBe(whole);
      }),
      { numRuns: 30 },
    );
    expect(split).toBeGreaterThan(5);
  });

  it('large components (LP fixing and time chunks, forced by a tiny column limit) still give verified plans no worse than greedy', async () => {
    await fc.assert(
      fc.asyncProperty(arb, async (o) => {
        const { instance, routing } = generateInstance({ ...o, requests: o.requests * 3, clusters: 4 });
        const res = await optimise(instance, { routing, timeLimitSec: 30, maxPartColumns: 8 }, inProcessSolver());
        expect(res.violations).toEqual([]);
        expect(res.figures.objective.totalCents).toBeLessThanOrEqual(res.greedy.figures.objective.totalCents);
        if (res.boundCents !== null) expect(res.boundCents).toBeLessThanOrEqual(res.figures.objective.totalCents);
      }),
      { numRuns: 15 },
    );
  });
});

describe('the worker-thread solver', () => {
  const solver = threadSolver();
  afterAll(() => solver.close());
  const { instance, routing } = generateInstance({ seed: 3, requests: 1500, departures: 60 });

  it('solves without blocking the event loop and answers like the in-process solver', async () => {
    const model = buildModel(instance);
    const progress: SolveProgress[] = [];
    const solving = solver.solve(model.lp(), { timeLimitSec: 30, mipRelGap: 0, onProgress: (p) => progress.push(p) });
    // the event loop turns while the thread solves
    const first = await Promise.race([solving.then(() => 'solve'), new Promise((r) => setImmediate(() => r('loop')))]);
    expect(first).toBe('loop');
    const res = await solving;
    expect(res.status).toBe('optimal');
    expect(verifyPlan(instance, model.decode(res.values), routing)).toEqual([]);
    expect(Math.round(res.objective + model.constant)).toBe(exact(instance));
    expect(progress.length).toBeGreaterThan(0);
  });

  it('runs optimise() and warms up', async () => {
    expect(await solver.warmUp(0.2)).toBeGreaterThan(0);
    const res = await optimise(instance, { routing, timeLimitSec: 30, mipRelGap: 0 }, solver);
    expect(res.violations).toEqual([]);
    expect(res.figures.objective.totalCents).toBe(exact(instance));
  });
});
