import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { departureOutcomes, greedyPlan, objectiveOf, verifyPlan } from '../../server/core/pooling.ts';
import { MAX_SHARE_OF_STANDALONE, planProposals, shareOut } from '../../server/core/pooling/proposals.ts';
import { smallCaseArb, smallInstance } from './pooling-model.ts';

/** Issue 13 — a plan split into proposals, and the savings rule (server/core/pooling/proposals.ts). */
describe('pooling proposals', () => {
  it('shareOut: whole cents that add up to the total, each within a cent of its exact proportional share', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 10_000_000 }), fc.array(fc.integer({ min: 0, max: 5_000_000 }), { maxLength: 30 }), (total, weights) => {
        const out = shareOut(total, weights);
        expect(out).toHaveLength(weights.length);
        const sum = weights.reduce((s, w) => s + w, 0);
        if (total <= 0 || sum === 0) {
          expect(out.every((x) => x === 0)).toBe(true);
          return;
        }
        expect(out.reduce((s, x) => s + x, 0)).toBe(total);
        out.forEach((x, i) => {
          expect(Number.isInteger(x)).toBe(true);
          expect(Math.abs(x - (total * weights[i]!) / sum)).toBeLessThan(1);
        });
      }),
    );
  });

  it('every placed request gets one proposal at its candidate price; only empty departures outside mustRun are proposed for cancellation', () => {
    fc.assert(
      fc.property(smallCaseArb(), (c) => {
        const { instance, routing } = smallInstance(c);
        const plan = greedyPlan(instance);
        expect(verifyPlan(instance, plan, routing)).toEqual([]);
        const pp = planProposals(instance, plan, departureOutcomes(instance, plan), { plan: objectiveOf(instance, plan), greedy: objectiveOf(instance, plan) });
        const placed = Object.values(plan.assignment).filter((k) => k !== null).length;
        expect(pp.shipments).toHaveLength(placed);
        expect(pp.shipments.length + pp.unplaced.length).toBe(instance.requests.length);
        expect(pp.poolSavingCents).toBe(0); // the same plan saves nothing against itself
        for (const s of pp.shipments) {
          expect(s.priceCents).toBe(s.candidate.priceCents);
          expect(s.standaloneCents).toBeLessThanOrEqual(s.priceCents);
          expect(s.savingCents).toBe(s.standaloneCents - s.priceCents + s.shareCents);
          // nobody is moved to a dearer itinerary for free: the premium comes back in the share
          expect(s.savingCents).toBeGreaterThanOrEqual(0);
          expect(s.savingCents).toBeLessThanOrEqual(s.standaloneCents); // nobody is paid to ship
        }
        // a pool that saves far more than anyone pays: each share (beyond a premium given back) is capped at a fifth of
        // the stand-alone price
        const obj = objectiveOf(instance, plan);
        const rich = planProposals(instance, plan, departureOutcomes(instance, plan), { plan: obj, greedy: { ...obj, fixedCents: obj.fixedCents + 1_000_000_000 } });
        for (const s of rich.shipments) {
          const premium = Math.max(0, s.priceCents - s.standaloneCents);
          expect(s.shareCents).toBe(premium + Math.floor(s.standaloneCents * MAX_SHARE_OF_STANDALONE));
          expect(s.savingCents).toBeLessThanOrEqual(s.standaloneCents);
          expect(s.savingCents).toBeGreaterThanOrEqual(0);
        }
        const deps = new Map(instance.departures.map((d) => [d.id, d]));
        for (const d of pp.departures) {
          const dep = deps.get(d.departureId)!;
          expect(dep.mustRun).toBe(false);
          expect(dep.usedTeu).toBe(0);
          expect(plan.running).not.toContain(d.departureId);
        }
      }),
      { numRuns: 60 },
    );
  });
});
