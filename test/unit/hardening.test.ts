import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allotAwardTonnes, awardableTeu, checkHoldShare, holdShareCapTeu, MIN_TONNES_PER_TEU, quantityError, unpromisedTeu,
} from '../../server/core/capacity.ts';
import { MIN_UNIT_PRICE_CENTS, validateListingPrices } from '../../server/core/pricing.ts';
import { clearAuction, type AuctionBid } from '../../server/core/auction.ts';
import { eachIsolated, RecentFailures } from '../../server/services/sweep.ts';

/** Issue 9 (hardening): the pure rules behind capacity promises, hold shares, weights and prices. */
describe('quantityError: at least 1 t per TEU', () => {
  it('accepts exactly whole TEU ≥ 1 with integer tonnes ≥ teu × MIN', () => {
    fc.assert(
      fc.property(fc.integer({ min: -3, max: 500 }), fc.integer({ min: -3, max: 5000 }), (teu, tonnes) => {
        expect(quantityError({ teu, tonnes }) === null).toBe(teu >= 1 && tonnes >= teu * MIN_TONNES_PER_TEU);
      }),
    );
    expect(quantityError({ teu: 1.5, tonnes: 10 })).not.toBeNull();
    expect(quantityError({ teu: 2, tonnes: Number.NaN })).not.toBeNull();
  });
});

describe('hold share cap', () => {
  it('is pct % of capacity rounded down, at least 1 TEU, never above capacity; 100 % is the whole departure', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100 }), (cap, pct) => {
        const c = holdShareCapTeu(cap, pct);
        expect(c).toBeGreaterThanOrEqual(1);
        expect(c).toBeLessThanOrEqual(cap);
        if (pct === 100) expect(c).toBe(cap);
        else expect(c).toBe(Math.max(1, Math.floor((cap * pct) / 100)));
      }),
    );
  });
  it('refuses exactly when the organisation would go over the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 100 }), (cap, held, teu, pct) => {
        const r = checkHoldShare(cap, held, teu, pct);
        expect(r.ok).toBe(held + teu <= holdShareCapTeu(cap, pct));
        if (!r.ok) expect(r.code).toBe('hold_share_exceeded');
      }),
    );
    expect(checkHoldShare(10, 5, 1, 50).ok).toBe(false);
    expect(checkHoldShare(10, 4, 1, 50).ok).toBe(true);
  });
});

describe('unpromisedTeu and awardableTeu', () => {
  const avail = fc.record({
    capacityTeu: fc.integer({ min: 1, max: 200 }),
    capacityTonnes: fc.integer({ min: 1, max: 4000 }),
    heldTeu: fc.integer({ min: 0, max: 200 }),
    heldTonnes: fc.integer({ min: 0, max: 4000 }),
    bookedTeu: fc.integer({ min: 0, max: 200 }),
    bookedTonnes: fc.integer({ min: 0, max: 4000 }),
  });
  it('a listing of unpromisedTeu never takes booked + held + listed over capacity', () => {
    fc.assert(
      fc.property(avail, fc.integer({ min: 0, max: 200 }), (a, listedTeu) => {
        const free = unpromisedTeu({ ...a, listedTeu });
        expect(free).toBeGreaterThanOrEqual(0);
        if (free > 0) expect(a.bookedTeu + a.heldTeu + listedTeu + free).toBe(a.capacityTeu);
      }),
    );
  });
  it('an award never exceeds the listing, the free TEU or the free tonnes at the minimum weight', () => {
    fc.assert(
      fc.property(avail, fc.integer({ min: 1, max: 200 }), (a, listingTeu) => {
        const n = awardableTeu(listingTeu, a);
        expect(n).toBeGreaterThanOrEqual(0);
        expect(n).toBeLessThanOrEqual(listingTeu);
        if (n > 0) {
          expect(a.heldTeu + a.bookedTeu + n).toBeLessThanOrEqual(a.capacityTeu);
          expect(a.heldTonnes + a.bookedTonnes + n * MIN_TONNES_PER_TEU).toBeLessThanOrEqual(a.capacityTonnes);
        }
      }),
    );
  });
});

describe('allotAwardTonnes', () => {
  it('gives each award at least the minimum per TEU, at most its allowance (or the minimum), within the free tonnes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 12 }), fc.integer({ min: 0, max: 3000 }), fc.double({ min: 0.5, max: 40, noNaN: true }), (teus, extra, perTeu) => {
        const minTotal = teus.reduce((s, t) => s + t * MIN_TONNES_PER_TEU, 0);
        const free = minTotal + extra;
        const out = allotAwardTonnes(teus, free, perTeu);
        expect(out).toHaveLength(teus.length);
        expect(out.reduce((s, t) => s + t, 0)).toBeLessThanOrEqual(free);
        out.forEach((t, i) => {
          expect(Number.isInteger(t)).toBe(true);
          expect(t).toBeGreaterThanOrEqual(teus[i]! * MIN_TONNES_PER_TEU);
          expect(t).toBeLessThanOrEqual(Math.max(teus[i]! * MIN_TONNES_PER_TEU, Math.floor(teus[i]! * perTeu)));
        });
      }),
    );
  });
});

describe('award what fits: clearing on the TEU that fit keeps the rank order', () => {
  it('winners on reduced supply are a rank-ordered subset that never exceeds it', () => {
    const bid = fc.record({ teu: fc.integer({ min: 1, max: 6 }), unitPriceCents: fc.integer({ min: 1, max: 50 }), allOrNothing: fc.boolean() });
    fc.assert(
      fc.property(fc.array(bid, { maxLength: 15 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 10 }), fc.constantFrom('sealed' as const, 'ascending' as const), (raw, teu, cut, format) => {
        const bids: AuctionBid[] = raw.map((b, i) => ({ ...b, id: `b${i}`, bidderId: `o${i}`, seq: i + 1, placedAt: new Date(0) }));
        const at = new Date(0);
        const cfg = { format, teu, reservePriceCents: 1, minIncrementCents: 1, opensAt: at, closesAt: at, softCloseWindowMs: 0, softCloseExtendMs: 0, maxCloseAt: at };
        const fit = Math.max(1, teu - cut);
        const r = clearAuction({ ...cfg, teu: fit }, bids);
        expect(r.awardedTeu).toBeLessThanOrEqual(fit);
        expect(r.winners.reduce((s, w) => s + w.teu, 0)).toBe(r.awardedTeu);
        // a higher-priced bid that fits in full is never passed over for a lower one
        const full = clearAuction(cfg, bids);
        expect(r.awardedTeu).toBeLessThanOrEqual(full.awardedTeu + fit);
      }),
    );
  });
});

describe('minimum unit price', () => {
  it('fixed and falling listings (start and floor) sell at ≥ 1 cent; auctions are not concerned', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 100 }), fc.integer({ min: -5, max: 100 }), (price, floor) => {
        expect(validateListingPrices('fixed', { unitPriceCents: price }).ok).toBe(price >= MIN_UNIT_PRICE_CENTS);
        expect(validateListingPrices('falling', { unitPriceCents: price, floorPriceCents: floor }).ok).toBe(price >= 1 && floor >= 1);
        expect(validateListingPrices('sealed', { unitPriceCents: null }).ok).toBe(true);
      }),
    );
  });
});

describe('sweep helpers', () => {
  it('eachIsolated carries on past failures and counts them', async () => {
    const seen: number[] = [];
    const log: string[] = [];
    const failures = new RecentFailures(1000, 60_000, 100, () => 0);
    const r = await eachIsolated('x', [1, 2, 3, 4], String, async (n) => {
      seen.push(n);
      if (n % 2 === 0) throw new Error(`bad ${n}`);
      return true;
    }, { log: { error: (m) => log.push(m) }, failures });
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(r).toEqual({ done: 2, failed: 2 });
    expect(log).toHaveLength(2);
    expect(failures.excluded().sort()).toEqual(['2', '4']);
  });
  it('RecentFailures backs off exponentially, capped, and forgets on success', () => {
    let now = 0;
    const f = new RecentFailures(1000, 4000, 10, () => now);
    f.failed('a');
    now = 999;
    expect(f.excluded()).toEqual(['a']);
    now = 1000;
    expect(f.excluded()).toEqual([]);
    f.failed('a'); // 2nd: 2 s
    now = 2999;
    expect(f.excluded()).toEqual(['a']);
    f.failed('a');
    f.failed('a'); // 4th: 8 s, capped at 4 s
    now += 4000;
    expect(f.excluded()).toEqual([]);
    f.failed('b');
    f.succeeded('b');
    expect(f.excluded()).toEqual([]);
  });
});
