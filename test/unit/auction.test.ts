import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  acceptBid,
  activeBids,
  allocate,
  autoBidRaisePrice,
  anonymise,
  clearAuction,
  clearSealed,
  effectiveCloseAt,
  minAcceptableBid,
  priceToFillFully,
  publicLadder,
  validateAuctionConfig,
  type AcceptBidOptions,
  type AuctionBid,
  type AuctionConfig,
} from '../../server/core/auction.ts';
import { acceptBidInBook, OrderBook } from '../../server/core/order-book.ts';

const T0 = Date.parse('2030-01-01T10:00:00Z');
const MIN = 60_000;

function cfg(over: Partial<AuctionConfig> = {}): AuctionConfig {
  return {
    format: 'ascending',
    teu: 10,
    reservePriceCents: 100,
    minIncrementCents: 10,
    opensAt: new Date(T0),
    closesAt: new Date(T0 + 60 * MIN),
    softCloseWindowMs: 2 * MIN,
    softCloseExtendMs: 2 * MIN,
    maxCloseAt: new Date(T0 + 90 * MIN),
    ...over,
  };
}

let n = 0;
function bid(bidderId: string, teu: number, unitPriceCents: number, over: Partial<AuctionBid> = {}): AuctionBid {
  n++;
  return { id: `b${n}`, bidderId, teu, unitPriceCents, allOrNothing: false, seq: n, placedAt: new Date(T0 + n), ...over };
}

/** Places bids one after another like the service would, storing accepted bids and raises. */
function run(
  config: AuctionConfig,
  reqs: { bidderId: string; teu: number; price: number; aon?: boolean; max?: number }[],
  at = T0 + MIN,
  options: AcceptBidOptions = {},
) {
  const bids: AuctionBid[] = [];
  let seq = 1;
  let c = config;
  const results = [];
  for (const [i, r] of reqs.entries()) {
    const res = acceptBid(
      c,
      bids,
      {
        id: `r${i}`,
        bidderId: r.bidderId,
        teu: r.teu,
        unitPriceCents: r.price,
        allOrNothing: r.aon ?? false,
        ...(r.max !== undefined ? { maxUnitPriceCents: r.max } : {}),
      },
      new Date(at + i),
      seq,
      options,
    );
    results.push(res);
    if (res.ok) {
      bids.push(res.bid, ...res.autoBids);
      seq += 1 + res.autoBids.length;
      c = { ...c, closesAt: res.closesAt };
    }
  }
  return { bids, results, config: c };
}

describe('allocate (examples)', () => {
  it('fills from the highest price down, ties to the earlier seq', () => {
    const c = cfg({ teu: 5 });
    const a = bid('A', 3, 200);
    const b = bid('B', 3, 200);
    const d = bid('C', 3, 300);
    const r = allocate(c, [a, b, d]);
    expect(r.winners).toEqual([
      { bidId: d.id, bidderId: 'C', teu: 3, unitPriceCents: 300 },
      { bidId: a.id, bidderId: 'A', teu: 2, unitPriceCents: 200 },
    ]);
    expect(r.awardedTeu).toBe(5);
    expect(r.unallocatedTeu).toBe(0);
    expect(r.lowestWinningPriceCents).toBe(200);
  });

  it('skips an all-or-nothing bid that does not fit; lower bids still fill', () => {
    const c = cfg({ teu: 10 });
    const a = bid('A', 6, 500);
    const aon = bid('B', 5, 400, { allOrNothing: true });
    const low = bid('C', 3, 300);
    const r = allocate(c, [low, aon, a]);
    expect(r.winners.map((w) => [w.bidId, w.teu])).toEqual([
      [a.id, 6],
      [low.id, 3],
    ]);
    expect(r.unallocatedTeu).toBe(1);
    expect(r.lowestWinningPriceCents).toBe(300);
  });

  it('never lets a bid below the reserve win', () => {
    const r = allocate(cfg(), [bid('A', 2, 99)]);
    expect(r.winners).toEqual([]);
    expect(r.unallocatedTeu).toBe(10);
    expect(r.lowestWinningPriceCents).toBeNull();
  });

  it('ignores bids replaced by an auto-bid raise', () => {
    const a = bid('A', 2, 200);
    const raise = bid('A', 2, 300, { replacesBidId: a.id });
    expect(activeBids([a, raise])).toEqual([raise]);
    expect(allocate(cfg(), [a, raise]).awardedTeu).toBe(2);
  });
});

describe('minAcceptableBid', () => {
  it('is the reserve while TEU are unallocated', () => {
    const c = cfg({ teu: 5 });
    expect(minAcceptableBid(c, [])).toBe(100);
    expect(minAcceptableBid(c, [bid('A', 4, 500)])).toBe(100);
  });

  it('is lowest winning + increment when all TEU are allocated', () => {
    const c = cfg({ teu: 5 });
    expect(minAcceptableBid(c, [bid('A', 3, 500), bid('B', 2, 250)])).toBe(260);
  });

  it('asks an all-or-nothing bid that does not fit the unallocated TEU to beat the lowest winner', () => {
    const c = cfg({ teu: 5 });
    const bids = [bid('A', 3, 500), bid('B', 1, 250)];
    expect(minAcceptableBid(c, bids, 'X', { teu: 1, allOrNothing: true })).toBe(100);
    expect(minAcceptableBid(c, bids, 'X', { teu: 2, allOrNothing: true })).toBe(260);
    expect(minAcceptableBid(c, bids, 'X', { teu: 2, allOrNothing: false })).toBe(100);
  });

  it('is the reserve for sealed auctions', () => {
    expect(minAcceptableBid(cfg({ format: 'sealed', teu: 1 }), [bid('A', 1, 900)])).toBe(100);
  });
});

describe('acceptBid (examples)', () => {
  it('refuses a bid at or after the close with auction_closed, and before opening', () => {
    const c = cfg();
    const inc = { id: 'x', bidderId: 'A', teu: 1, unitPriceCents: 500, allOrNothing: false };
    expect(acceptBid(c, [], inc, c.closesAt, 1)).toMatchObject({ ok: false, code: 'auction_closed' });
    expect(acceptBid(c, [], inc, new Date(T0 - 1), 1)).toMatchObject({ ok: false, code: 'auction_not_open' });
    // the cap counts even if closesAt is later
    const capped = cfg({ closesAt: new Date(T0 + 100 * MIN) });
    expect(acceptBid(capped, [], inc, new Date(T0 + 95 * MIN), 1)).toMatchObject({ ok: false, code: 'auction_closed' });
  });

  it('refuses a too-low bid with the minimum that would be accepted', () => {
    const c = cfg({ teu: 2 });
    const bids = [bid('A', 2, 300)];
    const r = acceptBid(c, bids, { id: 'x', bidderId: 'B', teu: 1, unitPriceCents: 305, allOrNothing: false }, new Date(T0 + MIN), 1000);
    expect(r).toMatchObject({ ok: false, code: 'bid_too_low', minUnitPriceCents: 310 });
    const below = acceptBid(cfg(), [], { id: 'y', bidderId: 'B', teu: 1, unitPriceCents: 50, allOrNothing: false }, new Date(T0 + MIN), 1000);
    expect(below).toMatchObject({ ok: false, code: 'bid_too_low', minUnitPriceCents: 100 });
  });

  it('refuses malformed bids with invalid_bid', () => {
    const c = cfg({ teu: 4 });
    const at = new Date(T0 + MIN);
    const base = { id: 'x', bidderId: 'B', teu: 1, unitPriceCents: 500, allOrNothing: false };
    expect(acceptBid(c, [], { ...base, teu: 5 }, at, 1)).toMatchObject({ code: 'invalid_bid' });
    expect(acceptBid(c, [], { ...base, teu: 1.5 }, at, 1)).toMatchObject({ code: 'invalid_bid' });
    expect(acceptBid(c, [], { ...base, unitPriceCents: 10.5 }, at, 1)).toMatchObject({ code: 'invalid_bid' });
    expect(acceptBid(c, [], { ...base, maxUnitPriceCents: 400 }, at, 1)).toMatchObject({ code: 'invalid_bid' });
    const existing = bid('A', 1, 500, { seq: 7 });
    expect(acceptBid(c, [existing], base, at, 7)).toMatchObject({ code: 'invalid_bid' });
  });

  it('reports leading / outbid and lets a bidder hold several independent bids', () => {
    const { results, bids } = run(cfg({ teu: 3 }), [
      { bidderId: 'A', teu: 2, price: 200 },
      { bidderId: 'A', teu: 1, price: 150 },
      { bidderId: 'B', teu: 2, price: 300 },
    ]);
    expect(results.map((r) => (r.ok ? r.status : r.code))).toEqual(['leading', 'leading', 'leading']);
    const a = allocate(cfg({ teu: 3 }), bids);
    expect(a.winners.map((w) => [w.bidderId, w.teu, w.unitPriceCents])).toEqual([
      ['B', 2, 300],
      ['A', 1, 200],
    ]);
  });

  it('extends the close in the last minutes, only for ascending, never past the cap', () => {
    const c = cfg({ closesAt: new Date(T0 + 60 * MIN), maxCloseAt: new Date(T0 + 61 * MIN) });
    const inc = { id: 'x', bidderId: 'A', teu: 1, unitPriceCents: 500, allOrNothing: false };
    const early = acceptBid(c, [], inc, new Date(T0 + 30 * MIN), 1);
    expect(early).toMatchObject({ ok: true, extended: false, closesAt: c.closesAt });
    const late = acceptBid(cfg(), [], inc, new Date(T0 + 59 * MIN), 1);
    expect(late).toMatchObject({ ok: true, extended: true, closesAt: new Date(T0 + 61 * MIN) });
    const capped = acceptBid(c, [], inc, new Date(T0 + 59.5 * MIN), 1);
    expect(capped).toMatchObject({ ok: true, extended: true, closesAt: new Date(T0 + 61 * MIN) });
    const sealed = acceptBid(cfg({ format: 'sealed' }), [], inc, new Date(T0 + 59 * MIN), 1);
    expect(sealed).toMatchObject({ ok: true, extended: false, status: 'sealed', closesAt: new Date(T0 + 60 * MIN) });
  });

  it('drops an auto-bid maximum on sealed bids', () => {
    const r = acceptBid(cfg({ format: 'sealed' }), [], { id: 'x', bidderId: 'A', teu: 1, unitPriceCents: 500, allOrNothing: false, maxUnitPriceCents: 900 }, new Date(T0 + MIN), 1);
    expect(r.ok && r.bid.maxUnitPriceCents).toBe(undefined);
  });
});

describe('auto-bid (examples)', () => {
  it('raises an outbid auto-bid to the lowest price that wins back its TEU', () => {
    const { results, bids } = run(cfg({ teu: 1 }), [
      { bidderId: 'A', teu: 1, price: 200, max: 1000 },
      { bidderId: 'B', teu: 1, price: 500 },
    ]);
    const second = results[1]!;
    expect(second.ok && second.status).toBe('outbid');
    expect(second.ok && second.autoBids).toEqual([
      {
        id: 'r0:auto:3',
        bidderId: 'A',
        teu: 1,
        unitPriceCents: 510,
        allOrNothing: false,
        seq: 3,
        placedAt: new Date(T0 + MIN + 1),
        maxUnitPriceCents: 1000,
        replacesBidId: 'r0',
      },
    ]);
    expect(allocate(cfg({ teu: 1 }), bids).winners).toEqual([{ bidId: 'r0:auto:3', bidderId: 'A', teu: 1, unitPriceCents: 510 }]);
  });

  it('resolves a war between two auto-bidders deterministically, collapsing steps', () => {
    const c = cfg({ teu: 1 });
    const { results, bids } = run(c, [
      { bidderId: 'A', teu: 1, price: 100, max: 1000 },
      { bidderId: 'B', teu: 1, price: 100, max: 700 }, // opened at the minimum 110
    ]);
    const r = results[1]!;
    if (!r.ok) throw new Error('expected ok');
    expect(r.bid.unitPriceCents).toBe(110);
    expect(r.status).toBe('outbid');
    expect(r.autoBids.map((b) => [b.bidderId, b.unitPriceCents, b.seq, b.replacesBidId])).toEqual([
      ['B', 690, 3, 'r1'],
      ['A', 700, 4, 'r0'],
    ]);
    expect(allocate(c, bids).winners).toEqual([{ bidId: 'r0:auto:4', bidderId: 'A', teu: 1, unitPriceCents: 700 }]);
  });

  // A forwarder found its auto-bid raised against its own second bid, €5 a time up to €448, with nobody else bidding
  it('never raises an auto-bid against its own organisation', () => {
    const c = cfg({ teu: 11, reservePriceCents: 10_000, minIncrementCents: 500 });
    const { results, bids } = run(c, [
      { bidderId: 'A', teu: 11, price: 39_300, max: 45_000 },
      { bidderId: 'A', teu: 11, price: 39_800, max: 45_000 },
    ]);
    expect(results[1]).toMatchObject({ ok: true, status: 'leading', autoBids: [] });
    expect(bids.map((b) => b.unitPriceCents)).toEqual([39_300, 39_800]);
    // against another organisation it still raises, passing that organisation's bid only
    const { results: r2, bids: b2 } = run(c, [
      { bidderId: 'A', teu: 6, price: 20_000, max: 45_000 },
      { bidderId: 'A', teu: 5, price: 30_000 },
      { bidderId: 'B', teu: 6, price: 25_000 },
    ]);
    const third = r2[2]!;
    if (!third.ok) throw new Error('expected ok');
    expect(third.autoBids.map((b) => [b.bidderId, b.unitPriceCents, b.replacesBidId])).toEqual([['A', 25_500, 'r0']]);
    expect(allocate(c, b2).winners.map((w) => [w.bidderId, w.teu, w.unitPriceCents])).toEqual([['A', 5, 30_000], ['A', 6, 25_500]]);
    // the incremental book decides the same
    const book = new OrderBook(c, []);
    let seq = 1;
    for (const [i, r] of [[39_300, 45_000], [39_800, 45_000]].entries()) {
      const res = acceptBidInBook(c, book, { id: `o${i}`, bidderId: 'A', teu: 11, unitPriceCents: r[0]!, allOrNothing: false, maxUnitPriceCents: r[1]! }, new Date(T0 + MIN + i), seq);
      if (!res.ok) throw new Error('expected ok');
      expect(res.autoBids).toEqual([]);
      for (const b of [res.bid, ...res.autoBids]) book.add(b);
      seq += 1 + res.autoBids.length;
    }
  });

  it('does not raise beyond the maximum', () => {
    const { results } = run(cfg({ teu: 1 }), [
      { bidderId: 'A', teu: 1, price: 200, max: 300 },
      { bidderId: 'B', teu: 1, price: 500 },
    ]);
    expect(results[1]).toMatchObject({ ok: true, status: 'leading', autoBids: [] });
  });

  it('lets the caller choose raise ids', () => {
    const c = cfg({ teu: 1 });
    const a: AuctionBid = { ...bid('A', 1, 200), maxUnitPriceCents: 900 };
    const r = acceptBid(c, [a], { id: 'x', bidderId: 'B', teu: 1, unitPriceCents: 300, allOrNothing: false }, new Date(T0 + MIN), 10_000, {
      newBidId: (seq) => `uuid-${seq}`,
    });
    expect(r.ok && r.autoBids.map((b) => b.id)).toEqual(['uuid-10001']);
  });
});

describe('sealed and views (examples)', () => {
  it('clears at the lowest winning price for every winner', () => {
    const c = cfg({ format: 'sealed', teu: 6 });
    const r = clearSealed(c, [bid('A', 3, 500), bid('B', 3, 400), bid('C', 2, 800, { allOrNothing: true }), bid('D', 2, 450, { allOrNothing: true })]);
    expect(r.clearingPriceCents).toBe(400);
    expect(r.winners.map((w) => [w.bidderId, w.teu, w.unitPriceCents])).toEqual([
      ['C', 2, 400],
      ['A', 3, 400],
      ['B', 1, 400],
    ]);
    expect(r.awardedTeu).toBe(6);
    expect(clearAuction(c, [])).toEqual({ winners: [], clearingPriceCents: null, awardedTeu: 0, unallocatedTeu: 6 });
  });

  it('clears ascending pay-as-bid', () => {
    const c = cfg({ teu: 4 });
    const r = clearAuction(c, [bid('A', 2, 500), bid('B', 3, 400)]);
    expect(r.winners.map((w) => w.unitPriceCents)).toEqual([500, 400]);
    expect(r.clearingPriceCents).toBe(400);
    expect(r.awardedTeu).toBe(4);
  });

  it('labels bidders stably by first appearance, the viewer as You, without bidder ids or maxima', () => {
    const bids = [bid('Z', 1, 300, { seq: 5 }), bid('Y', 1, 200, { seq: 2, maxUnitPriceCents: 999 }), bid('Z', 1, 100, { seq: 9 }), bid('X', 1, 150, { seq: 7 })];
    const v = anonymise(bids, 'X');
    expect(v.map((b) => b.label)).toEqual(['Bidder 2', 'Bidder 1', 'Bidder 2', 'You']);
    expect(JSON.stringify(v)).not.toContain('999');
    expect(JSON.stringify(v)).not.toContain('"Z"');
    expect(anonymise(bids, null).map((b) => b.label)).toEqual(['Bidder 2', 'Bidder 1', 'Bidder 2', 'Bidder 3']);
  });

  it('shows the ascending ladder and nothing of a sealed one', () => {
    const bids = [bid('A', 2, 500, { maxUnitPriceCents: 12345 }), bid('B', 3, 400)];
    const asc = publicLadder(cfg({ teu: 4 }), bids, 'B');
    expect(asc).toMatchObject({ format: 'ascending', currentPriceCents: 400, minNextBidCents: 410, awardedTeu: 4, unallocatedTeu: 0 });
    expect(asc.format === 'ascending' && asc.leadingBids.map((l) => [l.label, l.teu, l.bidTeu])).toEqual([
      ['Bidder 1', 2, 2],
      ['You', 2, 3],
    ]);
    expect(JSON.stringify(asc)).not.toContain('12345');
    const sealed = publicLadder(cfg({ format: 'sealed' }), bids, 'B');
    expect(sealed).toEqual({ format: 'sealed', closesAt: new Date(T0 + 60 * MIN) });
  });

  it('a public ladder shows the top rows and the viewer’s further winning bids, each with its rank, and counts them all', () => {
    // 6 bidders of 1 TEU each, all winning: A 600 > B 500 > … > F 100
    const bids = ['A', 'B', 'C', 'D', 'E', 'F'].map((o, i) => bid(o, 1, 600 - 100 * i, { seq: i + 1 }));
    const c = cfg({ teu: 10 });
    const rows = (l: ReturnType<typeof publicLadder>) => (l.format === 'ascending' ? l.leadingBids.map((r) => [r.rank, r.label]) : []);
    const broadcast = publicLadder(c, bids, null, 2);
    expect(broadcast).toMatchObject({ leadingBidCount: 6, currentPriceCents: 100, awardedTeu: 6, unallocatedTeu: 4 });
    expect(rows(broadcast)).toEqual([
      [1, 'Bidder 1'],
      [2, 'Bidder 2'],
    ]);
    expect(rows(publicLadder(c, bids, 'E', 2))).toEqual([
      [1, 'Bidder 1'],
      [2, 'Bidder 2'],
      [5, 'You'],
    ]);
    expect(rows(publicLadder(c, bids, 'A', 2))).toEqual([
      [1, 'You'],
      [2, 'Bidder 2'],
    ]);
    const book = new OrderBook(c, bids);
    expect(book.ladder(c, null, 2)).toEqual(broadcast); // the book's undersubscribed path: no walk of the winners
    expect(book.ladder(c, 'E', 2)).toEqual(publicLadder(c, bids, 'E', 2));
  });

  it('validates configs', () => {
    expect(validateAuctionConfig(cfg())).toEqual([]);
    expect(validateAuctionConfig(cfg({ teu: 0, closesAt: new Date(T0) })).length).toBe(2);
  });
});

// ---------------------------------------------------------------------------
// Properties

const configArb: fc.Arbitrary<AuctionConfig> = fc
  .record({
    format: fc.constantFrom('ascending' as const, 'sealed' as const),
    teu: fc.integer({ min: 1, max: 20 }),
    reservePriceCents: fc.integer({ min: 1, max: 500 }),
    minIncrementCents: fc.integer({ min: 1, max: 50 }),
    durationMs: fc.integer({ min: MIN, max: 120 * MIN }),
    capSlackMs: fc.integer({ min: 0, max: 10 * MIN }),
    softCloseWindowMs: fc.integer({ min: 0, max: 5 * MIN }),
    softCloseExtendMs: fc.integer({ min: 0, max: 5 * MIN }),
  })
  .map(({ durationMs, capSlackMs, ...r }) => ({
    ...r,
    opensAt: new Date(T0),
    closesAt: new Date(T0 + durationMs),
    maxCloseAt: new Date(T0 + durationMs + capSlackMs),
  }));

const bidsArb: fc.Arbitrary<AuctionBid[]> = fc
  .array(
    fc.record({
      bidderId: fc.constantFrom('A', 'B', 'C', 'D', 'E'),
      teu: fc.integer({ min: 1, max: 25 }),
      unitPriceCents: fc.integer({ min: 0, max: 1000 }),
      allOrNothing: fc.boolean(),
      gap: fc.integer({ min: 1, max: 3 }),
    }),
    { maxLength: 25 },
  )
  .map((rs) => {
    let seq = 0;
    return rs.map(({ gap, ...r }, i) => {
      seq += gap;
      return { ...r, id: `id${i}`, seq, placedAt: new Date(T0 + seq) };
    });
  });

function shuffle<T>(xs: readonly T[], keys: readonly number[]): T[] {
  return xs
    .map((x, i) => [x, keys[i % Math.max(1, keys.length)] ?? 0, i] as const)
    .sort((a, b) => a[1] - b[1] || b[2] - a[2])
    .map(([x]) => x);
}

describe('clearing properties', () => {
  it('never allocates more than the listing TEU; winners pay ≥ reserve; AON filled fully or not at all', () => {
    fc.assert(
      fc.property(configArb, bidsArb, (c, bids) => {
        for (const r of [allocate(c, bids), clearAuction(c, bids), clearSealed(c, bids)]) {
          const total = r.winners.reduce((s, w) => s + w.teu, 0);
          expect(total).toBe(r.awardedTeu);
          expect(r.awardedTeu + r.unallocatedTeu).toBe(c.teu);
          expect(total).toBeLessThanOrEqual(c.teu);
          const byId = new Map(bids.map((b) => [b.id, b]));
          for (const w of r.winners) {
            const b = byId.get(w.bidId)!;
            expect(w.unitPriceCents).toBeGreaterThanOrEqual(c.reservePriceCents);
            expect(w.teu).toBeGreaterThanOrEqual(1);
            expect(w.teu).toBeLessThanOrEqual(b.teu);
            if (b.allOrNothing) expect(w.teu).toBe(b.teu);
            expect(w.unitPriceCents).toBeLessThanOrEqual(b.unitPriceCents);
          }
          expect(new Set(r.winners.map((w) => w.bidId)).size).toBe(r.winners.length);
        }
      }),
    );
  });

  it('a higher-ranked partial bid is never left short while a lower one wins', () => {
    fc.assert(
      fc.property(configArb, bidsArb, (c, bids) => {
        const r = allocate(c, bids);
        const won = new Map(r.winners.map((w) => [w.bidId, w.teu]));
        for (const b of bids) {
          if (b.allOrNothing || b.unitPriceCents < c.reservePriceCents) continue;
          if ((won.get(b.id) ?? 0) < b.teu) {
            // every winner ranked below b means b should have been filled first
            const lower = r.winners.filter((w) => {
              const o = bids.find((x) => x.id === w.bidId)!;
              return o.unitPriceCents < b.unitPriceCents || (o.unitPriceCents === b.unitPriceCents && o.seq > b.seq);
            });
            expect(lower).toEqual([]);
          }
        }
      }),
    );
  });

  it('the same bids clear the same way whatever order they arrive in', () => {
    fc.assert(
      fc.property(configArb, bidsArb, fc.array(fc.integer(), { minLength: 1 }), (c, bids, keys) => {
        const other = shuffle(bids, keys);
        expect(allocate(c, other)).toEqual(allocate(c, bids));
        expect(clearAuction(c, other)).toEqual(clearAuction(c, bids));
        expect(clearSealed(c, other)).toEqual(clearSealed(c, bids));
        expect(minAcceptableBid(c, other)).toBe(minAcceptableBid(c, bids));
        expect(publicLadder(c, other, 'A')).toEqual(publicLadder(c, bids, 'A'));
      }),
    );
  });

  it('sealed winners all pay one clearing price, ≤ their own bid and ≥ reserve', () => {
    fc.assert(
      fc.property(configArb, bidsArb, (c, bids) => {
        const r = clearSealed(c, bids);
        if (r.winners.length === 0) {
          expect(r.clearingPriceCents).toBeNull();
          return;
        }
        const p = r.clearingPriceCents!;
        expect(p).toBeGreaterThanOrEqual(c.reservePriceCents);
        for (const w of r.winners) {
          expect(w.unitPriceCents).toBe(p);
          expect(bids.find((b) => b.id === w.bidId)!.unitPriceCents).toBeGreaterThanOrEqual(p);
        }
      }),
    );
  });

  it('a bid at minAcceptableBid for its shape wins something unless it is an unfitting all-or-nothing bid', () => {
    fc.assert(
      fc.property(
        configArb.map((c) => ({ ...c, format: 'ascending' as const })),
        bidsArb,
        fc.integer({ min: 1, max: 20 }),
        (c, bids, teu) => {
          fc.pre(teu <= c.teu);
          const min = minAcceptableBid(c, bids, 'Z', { teu, allOrNothing: false });
          const nb: AuctionBid = { id: 'new', bidderId: 'Z', teu, unitPriceCents: min, allOrNothing: false, seq: 10_000, placedAt: new Date(T0) };
          expect(allocate(c, [...bids, nb]).winners.some((w) => w.bidId === 'new')).toBe(true);
          const full = priceToFillFully(c, bids, teu, true);
          const aon = { ...nb, allOrNothing: true, unitPriceCents: full };
          expect(allocate(c, [...bids, aon]).winners.find((w) => w.bidId === 'new')?.teu).toBe(teu);
          if (full > c.reservePriceCents) {
            const cheaper = { ...aon, unitPriceCents: full - 1 };
            const got = allocate(c, [...bids, cheaper]).winners.find((w) => w.bidId === 'new')?.teu ?? 0;
            // one cent less either no longer fills fully, or is below the acceptance minimum
            expect(got < teu || full - 1 < minAcceptableBid(c, bids, 'Z', { teu, allOrNothing: true })).toBe(true);
          }
        },
      ),
    );
  });
});

const reqsArb = fc.array(
  fc.record({
    bidderId: fc.constantFrom('A', 'B', 'C', 'D'),
    teu: fc.integer({ min: 1, max: 8 }),
    price: fc.integer({ min: 1, max: 1500 }),
    aon: fc.boolean(),
    max: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
  }),
  { maxLength: 20 },
);

describe('acceptBid properties', () => {
  it('rejects every bid at or after the close; never extends past the cap; extends only within the window', () => {
    fc.assert(
      fc.property(
        configArb,
        bidsArb,
        fc.integer({ min: -MIN, max: 140 * MIN }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 3000 }),
        (c, bids, offset, teu, price) => {
          const now = new Date(T0 + offset);
          const r = acceptBid(c, bids, { id: 'new', bidderId: 'Z', teu, unitPriceCents: price, allOrNothing: false }, now, 10_000);
          const close = effectiveCloseAt(c).getTime();
          if (now.getTime() >= close) expect(r).toMatchObject({ ok: false, code: 'auction_closed' });
          if (now.getTime() < T0) expect(r).toMatchObject({ ok: false, code: 'auction_not_open' });
          if (r.ok) {
            expect(now.getTime()).toBeLessThan(close);
            expect(r.closesAt.getTime()).toBeLessThanOrEqual(c.maxCloseAt.getTime());
            expect(r.closesAt.getTime()).toBeGreaterThanOrEqual(close);
            expect(r.extended).toBe(r.closesAt.getTime() > close);
            if (r.extended) {
              expect(c.format).toBe('ascending');
              expect(close - now.getTime()).toBeLessThanOrEqual(c.softCloseWindowMs);
              expect(r.closesAt.getTime()).toBe(Math.min(now.getTime() + c.softCloseExtendMs, c.maxCloseAt.getTime()));
            }
            expect(price).toBeGreaterThanOrEqual(c.reservePriceCents);
          } else if (r.code === 'bid_too_low') {
            expect(price).toBeLessThan(r.minUnitPriceCents!);
            const again = acceptBid(c, bids, { id: 'new', bidderId: 'Z', teu, unitPriceCents: r.minUnitPriceCents!, allOrNothing: false }, now, 10_000);
            expect(again.ok).toBe(true);
          }
        },
      ),
    );
  });

  it('auto-bids never exceed their maximum, terminate, and leave no outbid auto-bid that could still win within its maximum', () => {
    fc.assert(
      fc.property(
        configArb.map((c) => ({ ...c, format: 'ascending' as const })),
        reqsArb,
        (c, reqs) => {
          const safe = reqs.map((r) => (r.max !== undefined && r.max < r.price ? { ...r, max: r.price } : r));
          const { bids, results } = run(c, safe, T0 + 1);
          let expectedSeq = 1;
          for (const r of results) {
            if (!r.ok) continue;
            expect(r.bid.seq).toBe(expectedSeq);
            r.autoBids.forEach((a, i) => {
              expect(a.seq).toBe(expectedSeq + 1 + i);
              expect(a.replacesBidId).toBeDefined();
            });
            expectedSeq += 1 + r.autoBids.length;
          }
          for (const b of bids) {
            if (b.maxUnitPriceCents !== undefined) expect(b.unitPriceCents).toBeLessThanOrEqual(b.maxUnitPriceCents);
          }
          // every replaced id existed before its replacement, and each is replaced at most once
          const replaced = bids.flatMap((b) => (b.replacesBidId ? [b.replacesBidId] : []));
          expect(new Set(replaced).size).toBe(replaced.length);
          for (const id of replaced) {
            const orig = bids.find((b) => b.id === id)!;
            const raise = bids.find((b) => b.replacesBidId === id)!;
            expect(orig.seq).toBeLessThan(raise.seq);
            expect(raise.unitPriceCents).toBeGreaterThan(orig.unitPriceCents);
            expect(raise.bidderId).toBe(orig.bidderId);
            expect(raise.teu).toBe(orig.teu);
          }
          // stable: no active auto-bid short of its TEU could be filled within its maximum against the other
          // organisations (it is short only of what its own organisation's bids hold, or the others are beyond its maximum)
          const active = activeBids(bids);
          const alloc = allocate(c, active);
          for (const b of active) {
            if (b.maxUnitPriceCents === undefined) continue;
            const got = alloc.winners.find((w) => w.bidId === b.id)?.teu ?? 0;
            if (got < b.teu) {
              const rivals = active.filter((o) => o.bidderId !== b.bidderId);
              const alone = allocate(c, [...rivals, b]).winners.find((w) => w.bidId === b.id)?.teu ?? 0;
              if (alone >= b.teu) continue;
              const need = autoBidRaisePrice(c, rivals, b.teu, b.allOrNothing);
              expect(need).toBeGreaterThan(b.maxUnitPriceCents);
            }
          }
          expect(alloc.awardedTeu).toBeLessThanOrEqual(c.teu);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the leapfrog jump gives exactly the raise-by-raise result', () => {
    fc.assert(
      fc.property(
        configArb.map((c) => ({ ...c, format: 'ascending' as const, minIncrementCents: Math.ceil(c.minIncrementCents / 10) })),
        reqsArb,
        (c, reqs) => {
          const safe = reqs.map((r) => (r.max !== undefined && r.max < r.price ? { ...r, max: r.price } : r));
          const fast = run(c, safe, T0 + 1);
          const slow = run(c, safe, T0 + 1, { stepwiseAutoBids: true });
          expect(fast.bids).toEqual(slow.bids);
          expect(fast.results).toEqual(slow.results);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('resolves a long war between two auto-bidders quickly and correctly', () => {
    const c = cfg({ teu: 1, minIncrementCents: 1 });
    const others = Array.from({ length: 30 }, (_, i) => ({ bidderId: `O${i}`, teu: 1, price: 200 + i * 7 }));
    const t = performance.now();
    const { results, bids } = run(c, [...others, { bidderId: 'A', teu: 1, price: 500, max: 1_000_000 }, { bidderId: 'B', teu: 1, price: 600, max: 900_000 }]);
    expect(performance.now() - t).toBeLessThan(2000);
    const last = results.at(-1)!;
    expect(last.ok && last.status).toBe('outbid');
    const w = allocate(c, bids).winners;
    expect(w).toHaveLength(1);
    expect(w[0]!.bidderId).toBe('A');
    expect(w[0]!.unitPriceCents).toBeGreaterThanOrEqual(900_000);
    expect(w[0]!.unitPriceCents).toBeLessThanOrEqual(900_001);
  });

  it('sealed bids are accepted at ≥ reserve regardless of others, never extend, and raise nothing', () => {
    fc.assert(
      fc.property(configArb.map((c) => ({ ...c, format: 'sealed' as const })), reqsArb, (c, reqs) => {
        const { results } = run(c, reqs, T0 + 1);
        for (const [i, r] of results.entries()) {
          const req = reqs[i]!;
          if (req.teu > c.teu) expect(r).toMatchObject({ ok: false, code: 'invalid_bid' });
          else if (req.price < c.reservePriceCents) expect(r).toMatchObject({ ok: false, code: 'bid_too_low', minUnitPriceCents: c.reservePriceCents });
          else expect(r).toMatchObject({ ok: true, status: 'sealed', extended: false, autoBids: [] });
        }
      }),
    );
  });
});

describe('acceptBid fast paths (ranking once, allocation without building winners)', () => {
  it('answers exactly what the plain definitions give: the minimum, and the new bid\'s allocation', () => {
    fc.assert(
      fc.property(
        configArb,
        bidsArb,
        fc.record({ teu: fc.integer({ min: 1, max: 20 }), unitPriceCents: fc.integer({ min: 1, max: 1200 }), allOrNothing: fc.boolean(), bidderId: fc.constantFrom('A', 'B', 'X') }),
        (c, bids, inc) => {
          const now = new Date(T0 + 1);
          const seq = (bids.at(-1)?.seq ?? 0) + 1;
          const r = acceptBid(c, bids, { id: 'new', ...inc, teu: Math.min(inc.teu, c.teu) }, now, seq);
          const min = minAcceptableBid(c, bids, inc.bidderId, { teu: Math.min(inc.teu, c.teu), allOrNothing: inc.allOrNothing });
          if (!r.ok) {
            if (r.code === 'bid_too_low') expect(r.minUnitPriceCents).toBe(min);
            return;
          }
          if (c.format === 'sealed') return;
          const all = [...bids, r.bid, ...r.autoBids];
          const line = r.autoBids.find((b) => b.replacesBidId === 'new')?.id ?? 'new';
          expect(r.allocatedTeu).toBe(allocate(c, all).winners.find((w) => w.bidId === line)?.teu ?? 0);
          expect(r.status).toBe(r.allocatedTeu > 0 ? 'leading' : 'outbid');
        },
      ),
    );
  });
});
