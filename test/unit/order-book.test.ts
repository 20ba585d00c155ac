import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptBid, allocate, publicLadder, type AuctionBid, type AuctionConfig } from '../../server/core/auction.ts';
import { acceptBidInBook, OrderBook } from '../../server/core/order-book.ts';

/**
 * Issue 16, part 2: the incremental book gives exactly what the plain definitions give (acceptBid, allocate,
 * publicLadder over the array of bids), on random books built by playing random bids through the core (auto-bids,
 * their raises and replaced bids included), for every next bid — valid or not.
 */

const T0 = Date.parse('2030-01-01T10:00:00Z');
const MIN = 60_000;

const configArb: fc.Arbitrary<AuctionConfig> = fc
  .record({
    format: fc.constantFrom('ascending' as const, 'sealed' as const),
    teu: fc.integer({ min: 1, max: 20 }),
    reservePriceCents: fc.integer({ min: 1, max: 500 }),
    minIncrementCents: fc.integer({ min: 1, max: 50 }),
    softCloseWindowMs: fc.integer({ min: 0, max: 5 * MIN }),
    softCloseExtendMs: fc.integer({ min: 0, max: 5 * MIN }),
  })
  .map((r) => ({ ...r, opensAt: new Date(T0), closesAt: new Date(T0 + 60 * MIN), maxCloseAt: new Date(T0 + 70 * MIN) }));

const reqArb = fc.record({
  bidderId: fc.constantFrom('A', 'B', 'C', 'D', 'E'),
  teu: fc.integer({ min: 0, max: 22 }),
  price: fc.integer({ min: 0, max: 1500 }),
  aon: fc.boolean(),
  max: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined, freq: 4 }),
  at: fc.integer({ min: -1, max: 65 }),
});
type Req = typeof reqArb extends fc.Arbitrary<infer R> ? R : never;

const incomingOf = (r: Req, i: number) => ({
  id: `b${i}`, bidderId: r.bidderId, teu: r.teu, unitPriceCents: r.price, allOrNothing: r.aon, ...(r.max !== undefined ? { maxUnitPriceCents: r.max } : {}),
});
const opts = { newBidId: (s: number) => `auto${s}` };

/** Plays the requests through the plain core; the book as arrays of bids, and the config as the last bid left it. */
function play(config: AuctionConfig, reqs: Req[]): { config: AuctionConfig; bids: AuctionBid[]; seq: number } {
  let c = config;
  const bids: AuctionBid[] = [];
  let seq = 0;
  for (const [i, r] of reqs.entries()) {
    const res = acceptBid(c, bids, incomingOf(r, i), new Date(T0 + r.at * MIN), seq + 1, opts);
    if (!res.ok) continue;
    seq += 1 + res.autoBids.length;
    bids.push(res.bid, ...res.autoBids);
    c = { ...c, closesAt: res.closesAt };
  }
  return { config: c, bids, seq };
}

describe('the incremental order book (pure core)', () => {
  it('allocation and public ladder equal the plain definitions on any book', () => {
    fc.assert(
      fc.property(configArb, fc.array(reqArb, { maxLength: 30 }), fc.constantFrom(null, 'A', 'C'), fc.constantFrom(0, 1, 2, 3, 50), (c, reqs, viewer, rows) => {
        const { config, bids } = play(c, reqs);
        const book = new OrderBook(config, bids);
        expect(book.allocation()).toEqual(allocate(config, bids));
        expect(book.ladder(config, viewer)).toEqual(publicLadder(config, bids, viewer));
        // the top `rows` winners (and the viewer's further ones); the count of all of them
        const ladder = book.ladder(config, viewer, rows);
        expect(ladder).toEqual(publicLadder(config, bids, viewer, rows));
        const full = publicLadder(config, bids, viewer, Infinity);
        if (ladder.format === 'ascending' && full.format === 'ascending') {
          expect(ladder.leadingBidCount).toBe(allocate(config, bids).winners.length);
          expect(ladder.leadingBids).toEqual(full.leadingBids.filter((r, i) => i < rows || r.isYou));
          expect({ ...ladder, leadingBids: [] }).toEqual({ ...full, leadingBids: [] });
        }
        // the order the bids are given in does not matter
        expect(new OrderBook(config, [...bids].reverse()).allocation()).toEqual(allocate(config, bids));
      }),
      { numRuns: 400 },
    );
  });

  it('acceptBidInBook answers exactly as acceptBid for the next bid, valid or not (seq, duplicate id, too low, closed…)', () => {
    fc.assert(
      fc.property(configArb, fc.array(reqArb, { maxLength: 30 }), reqArb, fc.constantFrom(0, 1, 1, 1, 2), fc.boolean(), (c, reqs, next, seqStep, dupId) => {
        const { config, bids, seq } = play(c, reqs);
        const incoming = { ...incomingOf(next, 999), ...(dupId && bids.length > 0 ? { id: bids[0]!.id } : {}) };
        const now = new Date(T0 + next.at * MIN);
        const plain = acceptBid(config, bids, incoming, now, seq + seqStep, opts);
        const fast = acceptBidInBook(config, new OrderBook(config, bids), incoming, now, seq + seqStep, opts);
        expect(fast).toEqual(plain);
      }),
      { numRuns: 800 },
    );
  });

  it('kept incrementally (each accepted bid and its raises added), the book stays equal to the plain one, step by step', () => {
    fc.assert(
      fc.property(configArb, fc.array(reqArb, { maxLength: 40 }), fc.constantFrom(null, 'B'), fc.constantFrom(1, 3, 50), (c, reqs, viewer, rows) => {
        let config = c;
        const bids: AuctionBid[] = [];
        const book = new OrderBook(config);
        let seq = 0;
        for (const [i, r] of reqs.entries()) {
          const now = new Date(T0 + r.at * MIN);
          const plain = acceptBid(config, bids, incomingOf(r, i), now, seq + 1, opts);
          const fast = acceptBidInBook(config, book, incomingOf(r, i), now, seq + 1, opts);
          expect(fast).toEqual(plain);
          if (!plain.ok) continue;
          seq += 1 + plain.autoBids.length;
          bids.push(plain.bid, ...plain.autoBids);
          for (const b of [plain.bid, ...plain.autoBids]) book.add(b);
          config = { ...config, closesAt: plain.closesAt };
          expect(book.ladder(config, viewer, rows)).toEqual(publicLadder(config, bids, viewer, rows));
        }
        expect(book.size).toBe(bids.length);
        expect(book.maxSeq).toBe(bids.length ? Math.max(...bids.map((b) => b.seq)) : Number.NEGATIVE_INFINITY);
      }),
      { numRuns: 300 },
    );
  });

  it('auto-bid wars on the book, with the leapfrog jump or raise by raise, give exactly the plain raise-by-raise result', () => {
    // many bidders with maxima close together and small increments: long wars, several lines at once, all-or-nothing among them
    const warArb = fc.record({
      bidderId: fc.constantFrom('A', 'B', 'C', 'D', 'E'),
      teu: fc.integer({ min: 1, max: 8 }),
      price: fc.integer({ min: 100, max: 400 }),
      aon: fc.boolean(),
      max: fc.option(fc.integer({ min: 300, max: 2000 }), { nil: undefined, freq: 2 }),
      at: fc.constant(1),
    });
    const smallSteps = configArb.map((c) => ({ ...c, format: 'ascending' as const, minIncrementCents: Math.ceil(c.minIncrementCents / 10) }));
    fc.assert(
      fc.property(smallSteps, fc.array(warArb, { minLength: 1, maxLength: 25 }), (c, reqs) => {
        let config = c;
        const bids: AuctionBid[] = [];
        const book = new OrderBook(config);
        let seq = 0;
        for (const [i, r] of reqs.entries()) {
          const now = new Date(T0 + r.at * MIN);
          // the ground truth: the plain definitions, raise by raise
          const truth = acceptBid(config, bids, incomingOf(r, i), now, seq + 1, { ...opts, stepwiseAutoBids: true });
          expect(acceptBidInBook(config, book, incomingOf(r, i), now, seq + 1, opts)).toEqual(truth);
          expect(acceptBidInBook(config, book, incomingOf(r, i), now, seq + 1, { ...opts, stepwiseAutoBids: true })).toEqual(truth);
          if (!truth.ok) continue;
          seq += 1 + truth.autoBids.length;
          bids.push(truth.bid, ...truth.autoBids);
          for (const b of [truth.bid, ...truth.autoBids]) book.add(b);
          config = { ...config, closesAt: truth.closesAt };
        }
        expect(book.allocation()).toEqual(allocate(config, bids));
      }),
      { numRuns: 300 },
    );
  });

  it('a plain bid on a deep book walks only the winners: the answer is right with 10,000 losing bids below', () => {
    const config: AuctionConfig = {
      format: 'ascending', teu: 10, reservePriceCents: 100, minIncrementCents: 10, softCloseWindowMs: 0, softCloseExtendMs: 0,
      opensAt: new Date(T0), closesAt: new Date(T0 + 60 * MIN), maxCloseAt: new Date(T0 + 60 * MIN),
    };
    // 10 winners at 1,000 and 10,000 bids below the reserve-beating minimum (never walked once the TEU are given out)
    const bids: AuctionBid[] = [];
    for (let i = 0; i < 10; i++) bids.push({ id: `w${i}`, bidderId: 'W', teu: 1, unitPriceCents: 1000, allOrNothing: false, seq: i + 1, placedAt: new Date(T0) });
    for (let i = 0; i < 10_000; i++) bids.push({ id: `l${i}`, bidderId: 'L', teu: 1, unitPriceCents: 100 + (i % 800), allOrNothing: false, seq: 11 + i, placedAt: new Date(T0) });
    const book = new OrderBook(config, bids);
    const incoming = { id: 'x', bidderId: 'X', teu: 2, unitPriceCents: 1010, allOrNothing: false };
    const fast = acceptBidInBook(config, book, incoming, new Date(T0 + MIN), 20_000, opts);
    expect(fast).toEqual(acceptBid(config, bids, incoming, new Date(T0 + MIN), 20_000, opts));
    expect(fast).toMatchObject({ ok: true, status: 'leading', allocatedTeu: 2 });
  });
});
