import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptBid, priceCeilingCents, PRICE_CEILING_FLOOR_CENTS, type AuctionConfig } from '../../server/core/auction.ts';
import { acceptBidInBook, OrderBook } from '../../server/core/order-book.ts';

/**
 * The fat-finger guard: an operator walking the demo found a bid of 2^31 cents (€21,474,836.48 per TEU) on a €300
 * reserve accepted, won, invoiced and counted in the statistics. A unit price, or an auto-bid's maximum, above the
 * listing's ceiling (20× the reserve, at least €10,000) is refused with `bid_too_high` naming the ceiling — in the
 * plain core and in the incremental book alike.
 */

const T0 = Date.parse('2030-01-01T10:00:00Z');
const cfg = (over: Partial<AuctionConfig>): AuctionConfig => ({
  format: 'ascending', teu: 10, reservePriceCents: 30_000, minIncrementCents: 500, softCloseWindowMs: 0, softCloseExtendMs: 0,
  opensAt: new Date(T0), closesAt: new Date(T0 + 3_600_000), maxCloseAt: new Date(T0 + 3_600_000), ...over,
});
const now = new Date(T0 + 60_000);

describe('the price ceiling of a bid', () => {
  it('20× the reserve, never below €10,000 per TEU', () => {
    expect(priceCeilingCents({ reservePriceCents: 30_000 })).toBe(1_000_000); // €300 reserve: the floor
    expect(priceCeilingCents({ reservePriceCents: 100_000 })).toBe(2_000_000);
    expect(priceCeilingCents({ reservePriceCents: 1 })).toBe(PRICE_CEILING_FLOOR_CENTS);
  });

  it('the bid the demo accepted is refused, with the ceiling; one at the ceiling is taken', () => {
    const c = cfg({});
    const r = acceptBid(c, [], { id: 'x', bidderId: 'A', teu: 1, unitPriceCents: 2 ** 31, allOrNothing: false }, now, 1);
    expect(r).toMatchObject({ ok: false, code: 'bid_too_high', maxUnitPriceCents: 1_000_000 });
    expect(!r.ok && r.message).toMatch(/€10,000\.00/);
    expect(acceptBid(c, [], { id: 'y', bidderId: 'A', teu: 1, unitPriceCents: 1_000_000, allOrNothing: false }, now, 1).ok).toBe(true);
    // an auto-bid's maximum counts too (it is what the bidder may end up paying)
    const auto = acceptBid(c, [], { id: 'z', bidderId: 'A', teu: 1, unitPriceCents: 30_000, maxUnitPriceCents: 1_000_001, allOrNothing: false }, now, 1);
    expect(auto).toMatchObject({ ok: false, code: 'bid_too_high' });
  });

  it('property: plain core and incremental book refuse exactly the bids above the ceiling, sealed and ascending', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('ascending' as const, 'sealed' as const),
        fc.integer({ min: 1, max: 200_000 }),
        fc.integer({ min: 1, max: 5_000_000 }),
        fc.option(fc.integer({ min: 0, max: 5_000_000 }), { nil: undefined }),
        (format, reserve, price, extra) => {
          const c = cfg({ format, reservePriceCents: reserve });
          const incoming = { id: 'b', bidderId: 'A', teu: 1, unitPriceCents: price, allOrNothing: false, ...(extra !== undefined ? { maxUnitPriceCents: price + extra } : {}) };
          const plain = acceptBid(c, [], incoming, now, 1);
          const fast = acceptBidInBook(c, new OrderBook(c, []), incoming, now, 1);
          const named = extra !== undefined ? price + extra : price; // a sealed auction ignores a maximum, but not one above the ceiling
          const tooHigh = named > priceCeilingCents(c);
          expect(!plain.ok && plain.code === 'bid_too_high').toBe(tooHigh);
          expect(!fast.ok && fast.code === 'bid_too_high').toBe(tooHigh);
          if (tooHigh) expect(plain).toEqual(fast);
        },
      ),
    );
  });
});
