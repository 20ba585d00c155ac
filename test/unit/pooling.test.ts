import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { inProcessSolver, loadHighs, solveLp } from '../../server/adapters/solver/highs.ts';
import {
  bruteForce,
  buildModel,
  generateInstance,
  greedyPlan,
  objectiveOf,
  optimise,
  unplacedThatFit,
  verifyPlan,
  type PoolInstance,
  type PoolPlan,
  type PoolRouting,
} from '../../server/core/pooling.ts';
import type { Highs } from 'highs';
import { smallCaseArb, smallInstance } from './pooling-model.ts';

let highs: Highs;
beforeAll(async () => {
  highs = await loadHighs();
});

/** The MIP of an instance solved to optimality: its plan and objective (solver objective + constant). */
function solveExactly(inst: PoolInstance) {
  const model = buildModel(inst);
  if (model.columns === 0) return { plan: model.decode({}), totalCents: model.constant, reported: model.constant };
  const res = solveLp(highs, model.lp(), { timeLimitSec: 60, mipRelGap: 0 });
  expect(res.status).toBe('optimal');
  const plan = model.decode(res.values);
  return { plan, totalCents: objectiveOf(inst, plan).totalCents, reported: Math.round(res.objective + model.constant) };
}

describe('pooling MIP against brute force (property)', () => {
  it('has the brute-force optimum on small tight instances, and its plan passes the verifier', () => {
    fc.assert(
      fc.property(smallCaseArb(), (c) => {
        const { instance, routing } = smallInstance(c);
        const brute = bruteForce(instance);
        const mip = solveExactly(instance);
        expect(mip.totalCents).toBe(brute.totalCents);
        expect(mip.reported).toBe(mip.totalCents); // the LP's objective is the plan's objective
        expect(verifyPlan(instance, mip.plan, routing)).toEqual([]);
        expect(verifyPlan(instance, brute.plan, routing)).toEqual([]);
        // an optimal plan places what it can (the penalty makes placing always cheaper)
        expect(unplacedThatFit(instance, mip.plan)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('plans always pass the independent verifier (property)', () => {
  const mediumArb = fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    requests: fc.integer({ min: 5, max: 80 }),
    departures: fc.integer({ min: 2, max: 12 }),
  });
  it('greedy and MIP plans respect capacity, time windows, transfers, prices, modes, consolidation; MIP ≤ greedy', async () => {
    await fc.assert(
      fc.asyncProperty(mediumArb, async (o) => {
        const { instance, routing } = generateInstance(o);
        const greedy = greedyPlan(instance);
        expect(verifyPlan(instance, greedy, routing)).toEqual([]);
        expect(unplacedThatFit(instance, greedy)).toEqual([]);
        const res = await optimise(instance, { routing, timeLimitSec: 20, mipRelGap: 0 }, inProcessSolver());
        expect(res.violations).toEqual([]);
        expect(verifyPlan(instance, res.plan, routing)).toEqual([]);
        expect(res.figures.objective.totalCents).toBeLessThanOrEqual(objectiveOf(instance, greedy).totalCents);
        expect(res.figures.objective).toEqual(objectiveOf(instance, res.plan));
        if (res.boundCents !== null) expect(res.boundCents).toBeLessThanOrEqual(res.figures.objective.totalCents);
        if (res.lpBoundCents !== null && res.boundCents !== null) expect(res.lpBoundCents).toBeLessThanOrEqual(res.boundCents);
      }),
      { numRuns: 25 },
    );
  });
});

describe('the verifier catches broken plans', () => {
  const { instance, routing } = generateInstance({ seed: 11, requests: 60, departures: 6 });
  const greedy = greedyPlan(instance);
  const placed = Object.entries(greedy.assignment).filter(([, k]) => k !== null);
  const byKey = (rid: string, key: string) => instance.candidates.find((k) => k.requestId === rid && k.key === key)!;

  it('a plan whose departure does not run', () => {
    const [rid, key] = placed[0]!;
    const dep = byKey(rid, key!).legs[0]!.departureId;
    const plan: PoolPlan = { ...greedy, running: greedy.running.filter((id) => id !== dep) };
    expect(verifyPlan(instance, plan, routing).join('\n')).toMatch(/does not run/);
  });

  it('an overloaded departure, a broken time window, a price over the maximum, a forbidden mode, shared exclusivity', () => {
    const [rid, key] = placed[0]!;
    const k = byKey(rid, key!);
    const dep = k.legs[0]!.departureId;
    const tight = (f: (i: PoolInstance) => PoolInstance) => verifyPlan(f(instance), greedy, routing).join('\n');
    const withReq = (patch: object) => (i: PoolInstance) => ({ ...i, requests: i.requests.map((r) => (r.id === rid ? { ...r, ...patch } : r)) });
    expect(tight((i) => ({ ...i, departures: i.departures.map((d) => (d.id === dep ? { ...d, capacityTeu: d.usedTeu } : d)) }))).toMatch(/TEU >/);
    expect(tight((i) => ({ ...i, departures: i.departures.map((d) => (d.id === dep ? { ...d, capacityTonnes: d.usedTonnes } : d)) }))).toMatch(/ t >/);
    expect(tight(withReq({ deliverBy: k.arrivesAt - 1 }))).toMatch(/too_late/);
    expect(tight(withReq({ readyAt: k.departsAt }))).toMatch(/past_cutoff/);
    expect(tight(withReq({ maxTotalCents: k.priceCents - 1 }))).toMatch(/over_budget/);
    const mode = instance.departures.find((d) => d.id === dep)!.mode;
    expect(tight(withReq({ modes: [mode === 'rail' ? 'barge' : 'rail'] }))).toMatch(/wrong_mode/);
    const shared = placed.find(([r2, k2]) => r2 !== rid && byKey(r2, k2!).legs.some((l) => l.departureId === dep));
    if (shared) expect(tight(withReq({ consolidate: false }))).toMatch(/may not be consolidated/);
  });

  it('an unknown candidate, a missing request, a mustRun departure dropped', () => {
    const [rid] = placed[0]!;
    expect(verifyPlan(instance, { ...greedy, assignment: { ...greedy.assignment, [rid]: 'nope' } }, routing).join()).toMatch(/unknown/);
    const { [rid]: _gone, ...rest } = greedy.assignment;
    expect(verifyPlan(instance, { ...greedy, assignment: rest }, routing).join()).toMatch(/missing/);
    const must = instance.departures.find((d) => d.mustRun);
    if (must) expect(verifyPlan(instance, { ...greedy, running: greedy.running.filter((id) => id !== must.id) }, routing).join()).toMatch(/must run/);
  });
});

describe('candidates', () => {
  it('are unique per request, bookable, within the request and priced as the route search prices them', () => {
    const { instance, routing }: { instance: PoolInstance; routing: PoolRouting } = generateInstance({ seed: 5, requests: 300, departures: 20 });
    const keys = new Set(instance.candidates.map((k) => `${k.requestId}|${k.key}`));
    expect(keys.size).toBe(instance.candidates.length);
    expect(instance.candidates.some((k) => k.legs.length > 1)).toBe(true);
    // each candidate alone is a valid plan
    for (const k of instance.candidates.slice(0, 400)) {
      const assignment = Object.fromEntries(instance.requests.map((r) => [r.id, r.id === k.requestId ? k.key : null]));
      const running = [...new Set([...instance.departures.filter((d) => d.mustRun).map((d) => d.id), ...k.legs.map((l) => l.departureId)])];
      expect(verifyPlan(instance, { assignment, running }, routing)).toEqual([]);
    }
  });
});
