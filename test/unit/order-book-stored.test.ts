import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptBid, allocate, type AuctionBid, type AuctionConfig } from '../../server/core/auction.ts';
import { acceptBidInBook, OrderBook } from '../../server/core/order-book.ts';

/**
 * The incremental book against the plain definitions on books as they come from storage — random replace links (some to
 * ids never seen, one naming itself), bids given out of order, bids below the reserve, TEU above the listing, all-or-nothing
 * auto-bids, equal prices — then successive bids added as the bid service adds them (found by an intruder review).
 */
const T0 = Date.parse('2030-01-01T10:00:00Z');
const MIN = 60_000;
const cfg = (o: Partial<AuctionConfig> = {}): AuctionConfig => ({
  format: 'ascending', teu: 10, reservePriceCents: 100, minIncrementCents: 10, softCloseWindowMs: 0, softCloseExtendMs: 0,
  opensAt: new Date(T0), closesAt: new Date(T0 + 60 * MIN), maxCloseAt: new Date(T0 + 60 * MIN), ...o,
});
const bid = (o: Partial<AuctionBid> & { id: string; seq: number }): AuctionBid => ({
  bidderId: 'X', teu: 1, unitPriceCents: 100, allOrNothing: false, placedAt: new Date(T0), ...o,
});
const opts = { newBidId: (s: number) => `auto${s}` };
const now = new Date(T0 + MIN);

describe('acceptBidInBook ≡ acceptBid(book.all()) on stored books', () => {
  it('incoming bid whose id a stored bid already names as replaced (with an auto-bid in force)', () => {
    const config = cfg({ teu: 5 });
    const bids = [
      bid({ id: 'A', bidderId: 'A', teu: 5, unitPriceCents: 200, maxUnitPriceCents: 1000, seq: 1 }),
      bid({ id: 'R', bidderId: 'B', teu: 1, unitPriceCents: 150, replacesBidId: 'ghost', seq: 2 }),
    ];
    const book = new OrderBook(config, bids);
    const incoming = { id: 'ghost', bidderId: 'C', teu: 5, unitPriceCents: 300, allOrNothing: false };
    const plain = acceptBid(config, book.all(), incoming, now, 3, opts);
    const fast = acceptBidInBook(config, book, incoming, now, 3, opts);
    expect(fast).toEqual(plain);
  });

  it('a stored auto-bid naming itself as replaced must not hide the other auto-bids in force', () => {
    const config = cfg({ teu: 5 });
    const bids = [
      bid({ id: 'A', bidderId: 'A', teu: 5, unitPriceCents: 200, maxUnitPriceCents: 1000, seq: 1 }),
      bid({ id: 'S', bidderId: 'S', teu: 1, unitPriceCents: 120, maxUnitPriceCents: 130, replacesBidId: 'S', seq: 2 }),
    ];
    const book = new OrderBook(config, bids);
    const incoming = { id: 'n', bidderId: 'C', teu: 5, unitPriceCents: 300, allOrNothing: false };
    expect(acceptBidInBook(config, book, incoming, now, 3, opts)).toEqual(acceptBid(config, book.all(), incoming, now, 3, opts));
  });

  it('arbitrary stored books (random replace links, out of order, ineligible, teu > capacity, AON autos, equal prices) and any next bid', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    const storedArb = fc.array(
      fc.record({
        bidderId: fc.constantFrom('A', 'B', 'C'),
        teu: fc.integer({ min: 1, max: 12 }),
        price: fc.constantFrom(50, 100, 110, 120, 150, 200, 300),
        aon: fc.boolean(),
        max: fc.option(fc.constantFrom(90, 120, 160, 250, 400, 900), { nil: undefined }),
        repl: fc.option(fc.constantFrom(...ids, 'zz'), { nil: undefined, freq: 3 }),
        seq: fc.integer({ min: 1, max: 30 }),
      }),
      { maxLength: 10 },
    );
    const nextArb = fc.record({
      bidderId: fc.constantFrom('A', 'B', 'D'),
      teu: fc.integer({ min: 1, max: 10 }),
      price: fc.constantFrom(100, 110, 120, 130, 160, 210, 310),
      aon: fc.boolean(),
      max: fc.option(fc.constantFrom(120, 200, 300, 500, 1000), { nil: undefined }),
    });
    fc.assert(
      fc.property(storedArb, nextArb, fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 20 }), fc.array(nextArb, { maxLength: 6 }), (stored, n, teu, inc, extra) => {
        const config = cfg({ teu, minIncrementCents: inc });
        const bids = stored.map((s, i) => bid({
          id: ids[i]!, bidderId: s.bidderId, teu: s.teu, unitPriceCents: s.price, allOrNothing: s.aon, seq: s.seq * 10 + i,
          ...(s.max !== undefined ? { maxUnitPriceCents: s.max } : {}), ...(s.repl !== undefined && s.repl !== ids[i] ? { replacesBidId: s.repl } : {}),
        }));
        const book = new OrderBook(config, bids);
        expect(book.allocation()).toEqual(allocate(config, book.all()));
        // several successive bids, each result added as the bidding service does
        let all = book.all();
        let seq0 = 500;
        for (const [k, m] of extra.entries()) {
          const inc = { id: `x${k}`, bidderId: m.bidderId, teu: m.teu, unitPriceCents: m.price, allOrNothing: m.aon, ...(m.max !== undefined ? { maxUnitPriceCents: m.max } : {}) };
          const p = acceptBid(config, all, inc, now, seq0, opts);
          expect(acceptBidInBook(config, book, inc, now, seq0, opts)).toEqual(p);
          if (!p.ok) continue;
          seq0 += 1 + p.autoBids.length;
          all = [...all, p.bid, ...p.autoBids];
          for (const b of [p.bid, ...p.autoBids]) book.add(b);
          expect(book.allocation()).toEqual(allocate(config, all));
        }
        const incoming = { id: 'next', bidderId: n.bidderId, teu: n.teu, unitPriceCents: n.price, allOrNothing: n.aon, ...(n.max !== undefined ? { maxUnitPriceCents: n.max } : {}) };
        const seq = 1000;
        const plain = acceptBid(config, book.all(), incoming, now, seq, opts);
        const fast = acceptBidInBook(config, book, incoming, now, seq, opts);
        expect(fast).toEqual(plain);
        if (!plain.ok) return;
        const after = [...book.all(), plain.bid, ...plain.autoBids];
        for (const b of [plain.bid, ...plain.autoBids]) book.add(b);
        expect(book.allocation()).toEqual(allocate(config, after));
      }),
      { numRuns: 1500 },
    );
  });
});

describe('auto-bid wars on stored books', () => {
  it('random stored auto-bid books (replaced, ineligible, AON, big teu) with successive auto-bids', () => {
    const b = fc.record({
      bidderId: fc.constantFrom('A', 'B', 'C', 'D'),
      teu: fc.integer({ min: 1, max: 9 }),
      price: fc.integer({ min: 80, max: 300 }),
      aon: fc.boolean(),
      max: fc.option(fc.integer({ min: 250, max: 1500 }), { nil: undefined, freq: 1 }),
    });
    fc.assert(
      fc.property(fc.array(b, { maxLength: 8 }), fc.array(fc.boolean(), { maxLength: 8 }), fc.array(b, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 3 }),
        (stored, replaceFlags, nexts, teu, inc) => {
          const config = cfg({ teu, minIncrementCents: inc, reservePriceCents: 100 });
          const bids: AuctionBid[] = stored.map((s, i) => bid({ id: `s${i}`, bidderId: s.bidderId, teu: s.teu, unitPriceCents: s.price, allOrNothing: s.aon, seq: i + 1,
            ...(s.max !== undefined ? { maxUnitPriceCents: s.max } : {}), ...(replaceFlags[i] && i > 0 ? { replacesBidId: `s${i - 1}` } : {}) }));
          const book = new OrderBook(config, [...bids].reverse());
          let all = book.all();
          let seq = 100;
          for (const [k, m] of nexts.entries()) {
            const inc2 = { id: `n${k}`, bidderId: m.bidderId, teu: m.teu, unitPriceCents: m.price, allOrNothing: m.aon, ...(m.max !== undefined ? { maxUnitPriceCents: m.max } : {}) };
            const truth = acceptBid(config, all, inc2, now, seq, { ...opts, stepwiseAutoBids: true });
            expect(acceptBidInBook(config, book, inc2, now, seq, opts)).toEqual(truth);
            if (!truth.ok) continue;
            seq += 1 + truth.autoBids.length;
            all = [...all, truth.bid, ...truth.autoBids];
            for (const x of [truth.bid, ...truth.autoBids]) book.add(x);
            expect(book.allocation()).toEqual(allocate(config, all));
          }
        }),
      { numRuns: 400 },
    );
  });
});
