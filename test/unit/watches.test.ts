import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fallingPrice, type FallingSchedule } from '../../server/core/pricing.ts';
import {
  acceptedQuantity, canTake, compareForOffer, crossedMax, matchesWatch, offerExpiresAt, offerOrder, shipmentCriteria, watchCovers, type DepartureFacts, type Lot,
  type PooledShipment, type WatchCriteria,
} from '../../server/core/watches.ts';

const T0 = Date.parse('2030-01-01T10:00:00Z');
const CODES = ['DEDUI', 'ESZAZ', 'FRLIL', 'ITBLQ'] as const;
const CORRIDORS = ['c1', 'c2', 'c3'] as const;

const watchArb: fc.Arbitrary<WatchCriteria> = fc.record({
  id: fc.uuid(),
  orgId: fc.constantFrom('o1', 'o2', 'o3', 'o4', 'o5'),
  from: fc.option(fc.constantFrom(...CODES), { nil: null }),
  to: fc.option(fc.constantFrom(...CODES), { nil: null }),
  corridorId: fc.option(fc.constantFrom(...CORRIDORS), { nil: null }),
  modes: fc.option(fc.subarray(['rail', 'barge'] as const, { minLength: 1 }), { nil: null }),
  departsAfter: fc.option(fc.integer({ min: -5, max: 5 }).map((h) => new Date(T0 + h * 3_600_000)), { nil: null }),
  departsBefore: fc.option(fc.integer({ min: -5, max: 5 }).map((h) => new Date(T0 + h * 3_600_000)), { nil: null }),
  minTeu: fc.integer({ min: 1, max: 10 }),
  minTonnes: fc.option(fc.integer({ min: 1, max: 200 }), { nil: null }),
  maxUnitPriceCents: fc.option(fc.integer({ min: 100, max: 1000 }), { nil: null }),
  createdAt: fc.integer({ min: 0, max: 20 }).map((m) => new Date(T0 - m * 60_000)),
});
const depArb: fc.Arbitrary<DepartureFacts> = fc.record({
  corridorId: fc.constantFrom(...CORRIDORS),
  origin: fc.constantFrom(...CODES),
  destination: fc.constantFrom(...CODES),
  mode: fc.constantFrom('rail', 'barge'),
  departsAt: fc.integer({ min: -5, max: 5 }).map((h) => new Date(T0 + h * 3_600_000)),
});
const lotArb: fc.Arbitrary<Lot> = fc.record({ teu: fc.integer({ min: 1, max: 12 }), tonnes: fc.integer({ min: 12, max: 250 }), unitPriceCents: fc.integer({ min: 100, max: 1000 }) });
const excludeArb = fc.subarray(['o1', 'o2', 'o3', 'o4', 'o5']).map((a) => new Set(a));

describe('re-offer order (pure core)', () => {
  it('offers exactly the organisations with an eligible watch, each once, none excluded, in the published order', () => {
    fc.assert(
      fc.property(fc.array(watchArb, { maxLength: 25 }), depArb, lotArb, excludeArb, (watches, d, lot, exclude) => {
        const order = offerOrder(watches, d, lot, exclude);
        // each entry is an eligible watch of a non-excluded organisation
        for (const w of order) {
          expect(exclude.has(w.orgId)).toBe(false);
          expect(matchesWatch(w, d, lot)).toBe(true);
        }
        // one entry per organisation, and every organisation with an eligible watch is there
        const orgs = order.map((w) => w.orgId);
        expect(new Set(orgs).size).toBe(orgs.length);
        const eligibleOrgs = new Set(watches.filter((w) => !exclude.has(w.orgId) && matchesWatch(w, d, lot)).map((w) => w.orgId));
        expect(new Set(orgs)).toEqual(eligibleOrgs);
        // sorted: highest maximum (none = any price) first, then the earliest watch
        for (let i = 1; i < order.length; i++) expect(compareForOffer(order[i - 1]!, order[i]!)).toBeLessThan(0);
        // each organisation is represented by its best eligible watch
        for (const w of order) {
          const best = watches.filter((x) => x.orgId === w.orgId && matchesWatch(x, d, lot)).sort(compareForOffer)[0];
          expect(w.id).toBe(best!.id);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('does not depend on the order the watches are read in', () => {
    fc.assert(
      fc.property(fc.array(watchArb, { maxLength: 20 }).chain((ws) => fc.tuple(fc.constant(ws), fc.shuffledSubarray(ws, { minLength: ws.length, maxLength: ws.length }))), depArb, lotArb, excludeArb, ([a, b], d, lot, exclude) => {
        expect(offerOrder(b, d, lot, exclude).map((w) => w.id)).toEqual(offerOrder(a, d, lot, exclude).map((w) => w.id));
      }),
    );
  });

  it('a cascade (excluding each offeree in turn) visits every eligible organisation once, in order', () => {
    fc.assert(
      fc.property(fc.array(watchArb, { maxLength: 20 }), depArb, lotArb, (watches, d, lot) => {
        const full = offerOrder(watches, d, lot, new Set());
        const visited: string[] = [];
        const exclude = new Set<string>();
        for (;;) {
          const next = offerOrder(watches, d, lot, exclude)[0];
          if (!next) break;
          visited.push(next.orgId);
          exclude.add(next.orgId);
        }
        expect(visited).toEqual(full.map((w) => w.orgId));
      }),
    );
  });

  it('never offers capacity a watch cannot take, and never a departure it does not cover', () => {
    fc.assert(
      fc.property(watchArb, depArb, lotArb, (w, d, lot) => {
        const m = matchesWatch(w, d, lot);
        if (lot.teu < w.minTeu || (w.minTonnes !== null && lot.tonnes < w.minTonnes)) expect(m).toBe(false);
        if (w.maxUnitPriceCents !== null && lot.unitPriceCents > w.maxUnitPriceCents) expect(m).toBe(false);
        if (w.corridorId !== null && w.corridorId !== d.corridorId) expect(m).toBe(false);
        if (w.modes !== null && !w.modes.includes(d.mode)) expect(m).toBe(false);
        expect(m).toBe(watchCovers(w, d) && canTake(w, lot));
      }),
    );
  });

  it('a watch without a maximum ranks above every maximum; equal maxima go earliest first', () => {
    const base = { orgId: 'o', from: null, to: null, corridorId: null, modes: null, departsAfter: null, departsBefore: null, minTeu: 1, minTonnes: null };
    const a = { ...base, id: 'a', maxUnitPriceCents: null, createdAt: new Date(T0) };
    const b = { ...base, id: 'b', maxUnitPriceCents: 900, createdAt: new Date(T0 - 1000) };
    const c = { ...base, id: 'c', maxUnitPriceCents: 900, createdAt: new Date(T0 - 2000) };
    expect([b, a, c].sort(compareForOffer).map((w) => w.id)).toEqual(['a', 'c', 'b']);
  });
});

describe('falling prices crossing a maximum', () => {
  it('crosses exactly once over a falling schedule, at the first step at or below the maximum', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 2000 }), fc.integer({ min: 1, max: 199 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 3000 }),
        (start, floor, step, max) => {
          const s: FallingSchedule = { startPriceCents: start, floorPriceCents: floor, stepCents: step, stepEveryMinutes: 10, startsAt: new Date(T0) };
          const prices = Array.from({ length: 400 }, (_, i) => fallingPrice(s, new Date(T0 + i * 600_000)));
          const crossings = prices.flatMap((p, i) => (i > 0 && crossedMax({ maxUnitPriceCents: max }, prices[i - 1]!, p) ? [i] : []));
          expect(crossings.length).toBeLessThanOrEqual(1);
          const first = prices.findIndex((p) => p <= max);
          if (first > 0) expect(crossings).toEqual([first]);
          else expect(crossings).toEqual([]); // already at or below the maximum (told as a new listing), or never reaches it
          expect(crossedMax({ maxUnitPriceCents: null }, start, floor)).toBe(false);
        },
      ),
    );
  });
});

describe('offer windows and accepted quantities', () => {
  it('an offer never outlives the cut-off', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e7 }), fc.integer({ min: 1, max: 1e7 }), (window, toCutoff) => {
        const now = new Date(T0);
        const cutoff = new Date(T0 + toCutoff);
        const at = offerExpiresAt(now, window, cutoff);
        expect(at.getTime()).toBeLessThanOrEqual(cutoff.getTime());
        expect(at.getTime()).toBeLessThanOrEqual(T0 + window);
      }),
    );
  });

  it('accepts 1..offered TEU with at least 1 t per TEU and at most the offered tonnes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 200 }), fc.option(fc.integer({ min: -2, max: 25 }), { nil: undefined }), fc.option(fc.integer({ min: -2, max: 300 }), { nil: undefined }), (teu, extra, t, tn) => {
        const offer = { teu, tonnes: teu + extra };
        const r = acceptedQuantity(offer, { ...(t !== undefined ? { teu: t } : {}), ...(tn !== undefined ? { tonnes: tn } : {}) });
        if (r.ok) {
          expect(r.teu).toBeGreaterThanOrEqual(1);
          expect(r.teu).toBeLessThanOrEqual(offer.teu);
          expect(r.tonnes).toBeGreaterThanOrEqual(r.teu);
          expect(r.tonnes).toBeLessThanOrEqual(offer.tonnes);
        }
        if (t === undefined && tn === undefined) expect(r).toEqual({ ok: true, teu: offer.teu, tonnes: offer.tonnes });
      }),
    );
  });
});

const hours = (min: number, max: number) => fc.integer({ min, max }).map((h) => new Date(T0 + h * 3_600_000));
const shipmentArb: fc.Arbitrary<PooledShipment> = fc.record({
  id: fc.uuid(),
  orgId: fc.constantFrom('o1', 'o2', 'o3', 'o4', 'o5'),
  from: fc.constantFrom(...CODES),
  to: fc.constantFrom(...CODES),
  modes: fc.subarray(['rail', 'barge'] as const, { minLength: 1 }),
  teu: fc.integer({ min: 1, max: 12 }),
  tonnes: fc.integer({ min: 12, max: 250 }),
  readyAt: hours(-8, 2),
  deliverBy: hours(0, 40),
  maxTotalCents: fc.integer({ min: 100, max: 12_000 }),
  createdAt: fc.integer({ min: 0, max: 20 }).map((m) => new Date(T0 - m * 60_000)),
});
const depTimesArb: fc.Arbitrary<DepartureFacts> = fc.tuple(depArb, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 4, max: 36 })).map(([d, before, transit]) => ({
  ...d, cutoffAt: new Date(d.departsAt.getTime() - before * 3_600_000), arrivesAt: new Date(d.departsAt.getTime() + transit * 3_600_000),
}));

describe('pooled shipments as offerees (pure core)', () => {
  it('a shipment is offered exactly the lots it can carry: its ends and modes, ready by the cut-off, there by its deadline, its TEU and tonnes, within its total', () => {
    fc.assert(
      fc.property(shipmentArb, depTimesArb, lotArb, (sh, d, lot) => {
        const can = d.origin === sh.from && d.destination === sh.to && sh.modes.includes(d.mode) && d.cutoffAt!.getTime() >= sh.readyAt.getTime() &&
          d.arrivesAt!.getTime() <= sh.deliverBy.getTime() && lot.teu >= sh.teu && lot.tonnes >= sh.tonnes && lot.unitPriceCents * sh.teu <= sh.maxTotalCents;
        expect(matchesWatch(shipmentCriteria(sh), d, lot)).toBe(can);
      }),
      { numRuns: 2000 },
    );
  });

  it('a departure without its times never matches a shipment (fail closed)', () => {
    fc.assert(
      fc.property(shipmentArb, depArb, lotArb, (sh, d, lot) => {
        expect(matchesWatch(shipmentCriteria(sh), d, lot)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('watches and shipments share one order: eligible ones, one per organisation (its best), sorted, none excluded', () => {
    const offereeArb = fc.oneof(watchArb, shipmentArb.map(shipmentCriteria));
    fc.assert(
      fc.property(fc.array(offereeArb, { maxLength: 25 }), depTimesArb, lotArb, excludeArb, (all, d, lot, exclude) => {
        const order = offerOrder(all, d, lot, exclude);
        const eligible = all.filter((w) => !exclude.has(w.orgId) && matchesWatch(w, d, lot));
        expect(new Set(order.map((w) => w.orgId))).toEqual(new Set(eligible.map((w) => w.orgId)));
        expect(new Set(order.map((w) => w.orgId)).size).toBe(order.length);
        for (let i = 1; i < order.length; i++) expect(compareForOffer(order[i - 1]!, order[i]!)).toBeLessThan(0);
        for (const w of order) expect(w).toBe(eligible.filter((x) => x.orgId === w.orgId).sort(compareForOffer)[0]);
      }),
      { numRuns: 500 },
    );
  });

  it('a shipment ranks by its maximum per TEU (⌊max total / TEU⌋) against watches', () => {
    const base = { orgId: 'o1', from: 'DEDUI', to: 'ITBLQ', modes: ['rail'] as const, tonnes: 20, readyAt: new Date(T0), deliverBy: new Date(T0 + 9e7), createdAt: new Date(T0) };
    const sh = shipmentCriteria({ ...base, id: 's', teu: 3, maxTotalCents: 1000 }); // 333 per TEU
    expect(sh.maxUnitPriceCents).toBe(333);
    const w = (id: string, max: number | null): WatchCriteria => ({
      id, orgId: 'o2', from: null, to: null, corridorId: null, modes: null, departsAfter: null, departsBefore: null, minTeu: 1, minTonnes: null, maxUnitPriceCents: max, createdAt: new Date(T0 - 1),
    });
    expect([w('a', 300), sh, w('b', 334), w('c', null)].sort(compareForOffer).map((x) => x.id)).toEqual(['c', 'b', 's', 'a']);
  });
});
