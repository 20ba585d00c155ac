import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clearAuction, type AuctionBid, type AuctionConfig } from '../../server/core/auction.ts';
import {
  clearWithGroups, excludedBidIds, groupAfterClose, groupShapeProblem, withoutExcluded, type GroupedBidState, type GroupState,
} from '../../server/core/bid-groups.ts';

const T0 = Date.parse('2030-01-01T10:00:00Z');

function cfg(teu: number, format: 'ascending' | 'sealed', reserve: number): AuctionConfig {
  return {
    format, teu, reservePriceCents: reserve, minIncrementCents: 10, opensAt: new Date(T0 - 3_600_000), closesAt: new Date(T0),
    softCloseWindowMs: 0, softCloseExtendMs: 0, maxCloseAt: new Date(T0),
  };
}

const bidArb = fc.record({ teu: fc.integer({ min: 1, max: 8 }), price: fc.integer({ min: 50, max: 400 }), aon: fc.boolean() });

/** A few auctions, single bids on each, groups of bids on 2..n of them, and an order in which they close. */
const world = fc
  .record({
    auctions: fc.array(fc.record({ teu: fc.integer({ min: 1, max: 10 }), sealed: fc.boolean(), reserve: fc.integer({ min: 50, max: 200 }) }), { minLength: 2, maxLength: 5 }),
    singles: fc.array(fc.tuple(fc.nat(), bidArb), { maxLength: 12 }),
    groups: fc.array(fc.array(fc.tuple(fc.nat(), bidArb), { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 4 }),
    order: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
    /** the store forgets to mark a withdrawn sibling (defence in depth: the group's state still excludes it) */
    forgetful: fc.boolean(),
  })
  .map((w) => {
    const n = w.auctions.length;
    const bids: (AuctionBid & { listing: number; groupId: string | null })[] = [];
    let seq = 0;
    const mk = (listing: number, b: { teu: number; price: number; aon: boolean }, bidder: string, groupId: string | null) =>
      bids.push({ id: `b${++seq}`, bidderId: bidder, teu: b.teu, unitPriceCents: b.price, allOrNothing: b.aon, seq, placedAt: new Date(T0 - 1000), listing, groupId });
    for (const [l, b] of w.singles) mk(l % n, b, `s${seq % 3}`, null);
    w.groups.forEach((g, gi) => {
      const used = new Set<number>();
      for (const [l, b] of g) {
        if (used.has(l % n)) continue; // a group bids once per listing
        used.add(l % n);
        mk(l % n, b, `f${gi % 2}`, `g${gi}`);
      }
    });
    // a permutation of the auctions from the random keys
    const order = [...Array(n).keys()].sort((a, b) => (w.order[a] ?? 0) - (w.order[b] ?? 0) || a - b);
    return { configs: w.auctions.map((a) => cfg(a.teu, a.sealed ? 'sealed' : 'ascending', a.reserve)), bids, order, forgetful: w.forgetful };
  });

describe('bid groups (pure core): at most one bid of a group wins, withdrawn bids never count', () => {
  it('for any bids and any close order of the auctions', () => {
    fc.assert(
      fc.property(world, ({ configs, bids, order, forgetful }) => {
        const status = new Map<string, GroupedBidState['status']>(bids.map((b) => [b.id, 'active']));
        const groups = new Map<string, GroupState>();
        for (const b of bids) if (b.groupId) groups.set(b.groupId, 'open');
        const withdrawnEver = new Set<string>();
        const wins = new Map<string, string[]>();

        for (const l of order) {
          const mine = bids.filter((b) => b.listing === l);
          const states = mine.map((b) => ({ id: b.id, groupId: b.groupId, status: status.get(b.id)! }));
          const excluded = excludedBidIds(states, groups);
          for (const id of withdrawnEver) if (mine.some((b) => b.id === id)) expect(excluded.has(id)).toBe(true);
          const groupOf = new Map(mine.flatMap((b) => (b.groupId ? [[b.id, b.groupId] as const] : [])));
          const { result, won } = clearWithGroups(configs[l]!, mine, excluded, groupOf);
          // clearing is the auction core's on the book without the excluded bids
          expect(result).toEqual(clearAuction(configs[l]!, withoutExcluded(mine, excluded)));
          for (const w of result.winners) expect(excluded.has(w.bidId)).toBe(false);
          // the close: winners won, others lost; each group that won withdraws its other bids in force
          const winners = new Set(result.winners.map((w) => w.bidId));
          for (const b of mine) if (status.get(b.id) === 'active') status.set(b.id, winners.has(b.id) ? 'won' : 'lost');
          for (const w of won) {
            expect(groups.get(w.groupId)).toBe('open');
            groups.set(w.groupId, 'won');
            wins.set(w.groupId, [...(wins.get(w.groupId) ?? []), w.bidId]);
            for (const s of bids.filter((b) => b.groupId === w.groupId && b.id !== w.bidId && status.get(b.id) === 'active')) {
              withdrawnEver.add(s.id);
              if (!forgetful) status.set(s.id, 'withdrawn');
            }
          }
          for (const [g, st] of groups) {
            if (st !== 'open') continue;
            if (groupAfterClose(bids.filter((b) => b.groupId === g).map((b) => ({ status: status.get(b.id)! }))) === 'lost') groups.set(g, 'lost');
          }
        }
        // never two winners in a group; a group is won exactly when one of its bids won
        for (const g of groups.keys()) {
          const wonBids = bids.filter((b) => b.groupId === g && status.get(b.id) === 'won');
          expect(wonBids.length).toBeLessThanOrEqual(1);
          expect(groups.get(g) === 'won').toBe(wonBids.length === 1);
          expect(wins.get(g)?.length ?? 0).toBe(wonBids.length);
        }
        for (const id of withdrawnEver) expect(status.get(id)).not.toBe('won');
      }),
      { numRuns: 500 },
    );
  });

  it('a group bid that loses leaves its siblings in force; one that wins partly still wins', () => {
    const a = cfg(4, 'ascending', 100);
    const bids: AuctionBid[] = [
      { id: 'x', bidderId: 'o', teu: 3, unitPriceCents: 300, allOrNothing: false, seq: 1, placedAt: new Date(T0) },
      { id: 'g', bidderId: 'f', teu: 3, unitPriceCents: 200, allOrNothing: false, seq: 2, placedAt: new Date(T0) },
    ];
    expect(clearWithGroups(a, bids, new Set(), new Map([['g', 'G']])).won).toEqual([{ groupId: 'G', bidId: 'g' }]); // 1 of 3 TEU
    const lost = clearWithGroups(cfg(3, 'ascending', 100), bids, new Set(), new Map([['g', 'G']]));
    expect(lost.won).toEqual([]);
    expect(groupAfterClose([{ status: 'lost' }, { status: 'active' }])).toBe('open');
    expect(groupAfterClose([{ status: 'lost' }, { status: 'lost' }])).toBe('lost');
  });

  it('a bid of a decided group is excluded even while its own row still reads active', () => {
    const states: GroupedBidState[] = [
      { id: 'a', groupId: 'G', status: 'active' },
      { id: 'b', groupId: 'H', status: 'active' },
      { id: 'c', groupId: null, status: 'withdrawn' },
      { id: 'd', groupId: null, status: 'active' },
    ];
    expect([...excludedBidIds(states, new Map([['G', 'won'], ['H', 'open']]))].sort()).toEqual(['a', 'c']);
    expect([...excludedBidIds(states, new Map([['G', 'withdrawn']]))].sort()).toEqual(['a', 'c']);
  });

  it('shape: 2–5 listings, each once', () => {
    expect(groupShapeProblem(['a'])).toMatch(/at least 2/);
    expect(groupShapeProblem(['a', 'b', 'c', 'd', 'e', 'f'])).toMatch(/at most 5/);
    expect(groupShapeProblem(['a', 'b', 'a'])).toMatch(/bids\[2\].*second time/);
    expect(groupShapeProblem(['a', 'b'])).toBeNull();
    expect(groupShapeProblem(['a', 'b', 'c', 'd', 'e'])).toBeNull();
  });
});
