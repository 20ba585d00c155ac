import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Timetable,
  enumerateRoutes,
  paretoFront,
  planChain,
  searchRoutes,
  type ItineraryPlan,
  type RouteQuery,
  type RoutingParams,
  type TimetableLeg,
} from '../../server/core/routing.ts';
import { H, ID_POOL, T0, bruteAnswer, buildLegs, caseArb, legArb, rowOf, toLeg, totals, violations } from './routing-model.ts';

const byId = (a: TimetableLeg, b: TimetableLeg) => (a.listingId < b.listingId ? -1 : a.listingId > b.listingId ? 1 : 0);

/** Every rule holds for every itinerary of an answer, checked by planChain and by the test's own rules. */
function expectValid(plans: ItineraryPlan[], current: TimetableLeg[], q: RouteQuery, params: RoutingParams) {
  const now = new Map(current.map((l) => [l.listingId, l]));
  for (const p of plans) {
    expect(violations(p.legs, q, params)).toEqual([]);
    expect(p.legs.map((l) => now.get(l.listingId))).toEqual(p.legs); // the legs as they are now
    const t = totals(p.legs, q, params);
    expect([p.totalCents, p.co2eGrams]).toEqual([t.totalCents, t.co2eGrams]);
    expect(p.arrivesAt).toBe(p.legs.at(-1)!.arrivesAt);
    expect(p.departsAt).toBe(p.legs[0]!.departsAt);
    expect(p.bookable).toBe(p.legs.every((l) => l.format === 'fixed' || l.format === 'falling'));
    expect(p.transfers.map((x) => x.at)).toEqual(p.legs.slice(1).map((l) => l.origin));
    const checked = planChain(p.legs, q, params);
    expect(checked).toEqual({ ok: true, plan: p });
  }
}

describe('searchRoutes on random small networks (property)', () => {
  it('answers exactly the enumeration (same itineraries, tie-break and order) and the independent brute force', () => {
    fc.assert(
      fc.property(caseArb(), ({ n, specs, ids, params, q }) => {
        const legs = buildLegs(specs, n, ids);
        const tt = new Timetable(legs);
        const found = searchRoutes(tt, q, params);
        expect(found).toEqual(enumerateRoutes(legs, q, params));
        expect(found.map(rowOf)).toEqual(bruteAnswer(legs, q, params));
        expectValid(found, legs, q, params);
      }),
      { numRuns: 1500 },
    );
  });

  it('answers exactly the enumeration and the brute force on deep networks (long chains, maxLegs 3–4)', () => {
    fc.assert(
      fc.property(caseArb(true), ({ n, specs, ids, params, q }) => {
        const legs = buildLegs(specs, n, ids);
        const found = searchRoutes(new Timetable(legs), q, params);
        expect(found).toEqual(enumerateRoutes(legs, q, params));
        expect(found.map(rowOf)).toEqual(bruteAnswer(legs, q, params));
        expectValid(found, legs, q, params);
      }),
      { numRuns: 1500 },
    );
  });

  it('stays equal to the enumeration after random timetable updates', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('free' as const), dep: fc.integer({ min: 0, max: 7 }), teu: fc.integer({ min: 0, max: 6 }), tonnes: fc.integer({ min: 0, max: 80 }) }),
      fc.record({
        kind: fc.constant('listing' as const),
        idx: fc.nat(),
        remainingTeu: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
        unitPriceCents: fc.option(fc.constantFrom(0, 5000, 20_000), { nil: undefined }),
        open: fc.option(fc.boolean(), { nil: undefined }),
      }),
      fc.record({ kind: fc.constant('remove' as const), idx: fc.nat() }),
      fc.record({ kind: fc.constant('upsert' as const), idx: fc.nat(), spec: legArb(6) }),
      fc.record({ kind: fc.constant('prune' as const), hour: fc.integer({ min: -5, max: 40 }) }),
    );
    fc.assert(
      fc.property(caseArb(), fc.array(op, { maxLength: 12 }), ({ n, specs, ids, params, q }, ops) => {
        const model = new Map(buildLegs(specs, n, ids).map((l) => [l.listingId, l]));
        const tt = new Timetable([...model.values()]);
        let version = tt.version;
        for (const o of ops) {
          const known = [...model.keys()].sort();
          if (o.kind === 'free') {
            tt.setDepartureFree(`D${o.dep}`, o.teu, o.tonnes);
            for (const l of model.values()) if (l.departureId === `D${o.dep}`) Object.assign(l, { depFreeTeu: o.teu, depFreeTonnes: o.tonnes });
          } else if (o.kind === 'listing' && known.length > 0) {
            const id = known[o.idx % known.length]!;
            const patch = { ...(o.remainingTeu !== undefined ? { remainingTeu: o.remainingTeu } : {}), ...(o.unitPriceCents !== undefined ? { unitPriceCents: o.unitPriceCents } : {}), ...(o.open !== undefined ? { open: o.open } : {}) };
            tt.setListing(id, patch);
            if (o.open === false) model.delete(id);
            else {
              const l = model.get(id)!;
              if (o.remainingTeu !== undefined) l.listingRemainingTeu = o.remainingTeu;
              if (o.unitPriceCents !== undefined) l.unitPriceCents = o.unitPriceCents;
            }
          } else if (o.kind === 'remove' && known.length > 0) {
            const id = known[o.idx % known.length]!;
            tt.removeListing(id);
            model.delete(id);
          } else if (o.kind === 'upsert') {
            const id = ID_POOL[o.idx % ID_POOL.length]!; // an existing listing (replaced) or a new one
            const leg = toLeg({ ...o.spec, o: o.spec.o % n, step: o.spec.step % n }, n, id);
            tt.upsertLeg(leg);
            model.set(id, { ...leg });
            leg.unitPriceCents = 999_999; // the timetable keeps its own copy
          } else if (o.kind === 'prune') {
            tt.pruneBefore(T0 + o.hour * H);
            for (const [id, l] of model) if (l.cutoffAt <= T0 + o.hour * H) model.delete(id);
          } else continue;
          expect(tt.version).toBeGreaterThanOrEqual(version);
          version = tt.version;
        }
        const current = [...model.values()].sort(byId);
        expect(tt.legs().sort(byId)).toEqual(current);
        expect(tt.size).toBe(current.length);
        const found = searchRoutes(tt, q, params);
        expect(found).toEqual(enumerateRoutes(current, q, params));
        expectValid(found, current, q, params);
      }),
      { numRuns: 600 },
    );
  });

  it('paretoFront does not depend on the order of its input and keeps its answer', () => {
    fc.assert(
      fc.property(caseArb(true), fc.nat(), ({ n, specs, ids, params, q }, rot) => {
        const found = enumerateRoutes(buildLegs(specs, n, ids), q, params);
        const k = found.length > 0 ? rot % found.length : 0;
        const mixed = [...found.slice(k), ...found.slice(0, k)].reverse();
        expect(paretoFront(mixed)).toEqual(found);
        expect(paretoFront([...found, ...mixed])).toEqual(found);
      }),
      { numRuns: 100 },
    );
  });

  it('never returns a dominated itinerary or two of the same vector', () => {
    fc.assert(
      fc.property(caseArb(), ({ n, specs, ids, params, q }) => {
        const found = searchRoutes(new Timetable(buildLegs(specs, n, ids)), { ...q, maxLegs: 4 }, params);
        const rows = found.map(rowOf);
        for (const a of rows) {
          for (const b of rows) {
            if (a === b) continue;
            expect(a.slice(0, 4)).not.toEqual(b.slice(0, 4));
            expect(a[0] <= b[0] && a[1] <= b[1] && a[2] <= b[2] && a[3] <= b[3]).toBe(false);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
