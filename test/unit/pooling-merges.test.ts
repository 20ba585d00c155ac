import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MERGE_RULES, mergedLoadFactor, mergeProposals, prepareMerges, type MergeCandidate, type MergeInput, type MovableBooking,
} from '../../server/core/pooling/merges.ts';
import type { DepartureOutcome } from '../../server/core/pooling/report.ts';
import type { PoolDeparture } from '../../server/core/pooling/types.ts';

const H = 3_600_000;
const NOW = Date.parse('2026-03-02T00:00:00Z');

function dep(o: Partial<PoolDeparture> & { id: string }): PoolDeparture {
  return {
    operatorOrgId: 'op1', corridorId: 'c1', mode: 'rail', origin: 'DEDUI', destination: 'ITBLQ', departsAt: NOW + 48 * H, arrivesAt: NOW + 72 * H,
    cutoffAt: NOW + 44 * H, capacityTeu: 80, capacityTonnes: 1600, usedTeu: 0, usedTonnes: 0, fixedCostCents: 1_200_000, variableCostCentsPerTeu: 3_000,
    minLoadTeu: 32, mustRun: false, ...o,
  };
}
const HORIZON = NOW + 72 * H;
const runs = (deps: PoolDeparture[], off: string[] = []): DepartureOutcome[] =>
  deps.map((d) => ({
    departureId: d.id, runs: !off.includes(d.id), mustRun: d.mustRun, capacityTeu: d.capacityTeu, teuBefore: d.usedTeu, teuAfter: off.includes(d.id) ? 0 : d.usedTeu,
    pooledTeu: 0, pooledRequests: 0, belowMinLoad: d.usedTeu < d.minLoadTeu, displacedTeu: 0,
  }));
const merges = (departures: PoolDeparture[], bookings: MovableBooking[]): MergeCandidate[] =>
  prepareMerges({ now: NOW, horizon: HORIZON, departures, bookings }).candidates;

describe('merges of under-used departures (pure)', () => {
  it('merges a departure carrying only a few bookings into the next one of its corridor that runs anyway, naming the bookings', () => {
    const a = dep({ id: 'a', usedTeu: 6, usedTonnes: 90, mustRun: true });
    const b = dep({ id: 'b', departsAt: NOW + 60 * H, arrivesAt: NOW + 84 * H, cutoffAt: NOW + 56 * H, usedTeu: 40, usedTonnes: 700, mustRun: true });
    const bookings: MovableBooking[] = [
      { id: 'k1', departureId: 'a', forwarderOrgId: 'f1', teu: 4, tonnes: 60 },
      { id: 'k2', departureId: 'a', forwarderOrgId: 'f2', teu: 2, tonnes: 30 },
    ];
    const prep = prepareMerges({ now: NOW, horizon: HORIZON, departures: [a, b], bookings });
    const out = prep.candidates;
    expect(out).toHaveLength(1);
    // the solver gets the source as an ordinary departure and the room for its bookings reserved on the target
    expect(prep.departures.map((d) => [d.id, d.mustRun, d.usedTeu, d.usedTonnes])).toEqual([['a', false, 6, 90], ['b', true, 46, 790]]);
    // a plan that runs the source keeps the bookings where they are; one that does not proposes the merge
    expect(mergeProposals(out, runs(prep.departures))).toEqual([]);
    expect(mergeProposals(out, runs(prep.departures, ['a']))).toEqual(out);
    // load factor: the reserved room counts only when the source does not run
    expect(mergedLoadFactor(runs(prep.departures), out)).toBeCloseTo((6 + 40) / 160);
    expect(mergedLoadFactor(runs(prep.departures, ['a']), out)).toBeCloseTo(46 / 80);
    expect(out[0]).toMatchObject({ departureId: 'a', intoDepartureId: 'b', teu: 6, tonnes: 90, targetLoadBeforeTeu: 40, targetLoadAfterTeu: 46 });
    expect(out[0]!.bookings.map((k) => k.id)).toEqual(['k1', 'k2']);
    expect(out[0]!.savingCents).toBe(1_200_000);
  });

  it('never merges away a departure with a hold on it or beyond the horizon, into one that may not run, an earlier one, another operator\'s, a full one, or one arriving over a day later', () => {
    const a = dep({ id: 'a', usedTeu: 6, usedTonnes: 90, mustRun: true });
    const k = [{ id: 'k1', departureId: 'a', forwarderOrgId: 'f1', teu: 4, tonnes: 60 }];
    const later = { departsAt: NOW + 60 * H, arrivesAt: NOW + 84 * H, cutoffAt: NOW + 56 * H, mustRun: true, usedTeu: 40, usedTonnes: 700 };
    const cases: PoolDeparture[] = [
      dep({ id: 'x', ...later, departsAt: NOW + 40 * H }),
      dep({ id: 'x', ...later, operatorOrgId: 'op2' }),
      dep({ id: 'x', ...later, usedTeu: 78 }),
      dep({ id: 'x', ...later, arrivesAt: NOW + 97 * H }),
      dep({ id: 'x', ...later, mode: 'barge' }),
    ];
    // a hold on the source (6 TEU used, 4 booked): it cannot be moved, so the source stays
    const y = dep({ id: 'y', ...later });
    expect(merges([a, y], k)).toEqual([]);
    const full = [...k, { id: 'k2', departureId: 'a', forwarderOrgId: 'f1', teu: 2, tonnes: 30 }];
    expect(merges([a, y], full)).toHaveLength(1);
    // nor one whose cut-off is beyond the decision horizon (it still sells), nor into a target that may not run
    expect(merges([{ ...a, cutoffAt: HORIZON + H }, y], full)).toEqual([]);
    expect(merges([a, { ...y, mustRun: false }], full)).toEqual([]);
    for (const x of cases) expect(merges([a, x], full)).toEqual([]);
  });

  it('property: every merge fits — same operator, corridor and mode, a target that runs anyway, time window, room reserved within capacity, source or target never both, it saves', () => {
    const depArb = fc.record({
      op: fc.constantFrom('op1', 'op2'),
      corridor: fc.constantFrom('c1', 'c2'),
      mode: fc.constantFrom<'rail' | 'barge'>('rail', 'barge'),
      departsH: fc.integer({ min: 0, max: 60 }),
      transitH: fc.integer({ min: 6, max: 30 }),
      cap: fc.integer({ min: 10, max: 90 }),
      used: fc.integer({ min: 0, max: 60 }),
      beyond: fc.oneof(fc.constant(false), fc.constant(false), fc.boolean()),
      fixed: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2_000_000 })),
      perTeu: fc.integer({ min: 0, max: 10_000 }),
      minLoad: fc.integer({ min: 0, max: 60 }),
      split: fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 4 }),
      extraHold: fc.oneof(fc.constant(false), fc.constant(false), fc.boolean()),
    });
    let merged = 0;
    fc.assert(
      fc.property(fc.array(depArb, { minLength: 1, maxLength: 12 }), (specs) => {
        const departures: PoolDeparture[] = [];
        const bookings: MovableBooking[] = [];
        specs.forEach((s, i) => {
          const id = `d${String(i).padStart(2, '0')}`;
          const booked = s.split.reduce((x, y) => x + y, 0);
          const used = Math.min(s.cap, booked + (s.extraHold ? 1 : 0) + (s.split.length ? 0 : s.used));
          departures.push(dep({
            id, operatorOrgId: s.op, corridorId: s.corridor, mode: s.mode, departsAt: NOW + s.departsH * H, arrivesAt: NOW + (s.departsH + s.transitH) * H,
            cutoffAt: NOW + (s.departsH - 4) * H + (s.beyond ? 80 * H : 0), capacityTeu: s.cap, capacityTonnes: s.cap * 20, usedTeu: used, usedTonnes: used * 15, fixedCostCents: s.fixed,
            variableCostCentsPerTeu: s.perTeu, minLoadTeu: s.minLoad, mustRun: used > 0 || s.beyond,
          }));
          s.split.forEach((teu, j) => bookings.push({ id: `${id}-k${j}`, departureId: id, forwarderOrgId: `f${j % 2}`, teu, tonnes: teu * 15 }));
        });
        const input: MergeInput = { now: NOW, horizon: HORIZON, departures, bookings };
        const prep = prepareMerges(input);
        const out = prep.candidates;
        merged += out.length;
        const byId = new Map(departures.map((d) => [d.id, d]));
        const solverSees = new Map(prep.departures.map((d) => [d.id, d]));
        const sources = new Set(out.map((m) => m.departureId));
        const into = new Map<string, { teu: number; tonnes: number }>();
        for (const m of out) {
          const s = byId.get(m.departureId)!;
          const t = byId.get(m.intoDepartureId)!;
          expect(sources.has(t.id)).toBe(false);
          expect(t.mustRun).toBe(true);
          expect(solverSees.get(s.id)!.mustRun).toBe(false);
          expect([t.operatorOrgId, t.corridorId, t.mode]).toEqual([s.operatorOrgId, s.corridorId, s.mode]);
          expect(t.departsAt).toBeGreaterThanOrEqual(s.departsAt);
          expect(t.arrivesAt).toBeLessThanOrEqual(s.arrivesAt + DEFAULT_MERGE_RULES.maxDelayMs);
          expect(Math.min(s.cutoffAt, t.cutoffAt)).toBeGreaterThan(NOW);
          expect(s.cutoffAt).toBeLessThanOrEqual(HORIZON);
          expect(m.bookings).toEqual(bookings.filter((k) => k.departureId === s.id));
          expect(m.teu).toBe(s.usedTeu); // nothing but bookings on it: no hold is ever moved
          expect(m.teu).toBeLessThan(s.minLoadTeu);
          expect(m.savingCents).toBe(s.fixedCostCents + s.variableCostCentsPerTeu * m.teu - t.variableCostCentsPerTeu * m.teu);
          expect(m.savingCents).toBeGreaterThan(0);
          const cur = into.get(t.id) ?? { teu: 0, tonnes: 0 };
          into.set(t.id, { teu: cur.teu + m.teu, tonnes: cur.tonnes + m.tonnes });
        }
        // room is reserved for every merge on its target, within capacity; nothing else changes
        for (const d of departures) {
          const add = into.get(d.id) ?? { teu: 0, tonnes: 0 };
          const seen = solverSees.get(d.id)!;
          expect([seen.usedTeu, seen.usedTonnes]).toEqual([d.usedTeu + add.teu, d.usedTonnes + add.tonnes]);
          expect(seen.usedTeu).toBeLessThanOrEqual(d.capacityTeu);
          expect(seen.usedTonnes).toBeLessThanOrEqual(d.capacityTonnes);
          if (!sources.has(d.id)) expect(seen.mustRun).toBe(d.mustRun);
        }
      }),
      { numRuns: 400 },
    );
    expect(merged).toBeGreaterThan(20); // the generator does produce merges to check
  });
});
