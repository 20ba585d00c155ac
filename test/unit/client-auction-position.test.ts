import { describe, expect, it } from 'vitest';
import { olderLadder, openPosition, positionText, type AuctionPosition, type BidStanding } from '../../client/src/lib/auction-position.ts';

const bid = (teu: number, eur: number, allocatedTeu: number): BidStanding => ({ teu, unitPriceCents: eur * 100, allocatedTeu });
const text = (bids: BidStanding[], minEur?: number, allocated?: number) =>
  positionText(openPosition(bids, allocated)!, minEur === undefined ? undefined : minEur * 100);

describe('client auction room: my position and its text', () => {
  it('two bids, 2 TEU leading and 7 TEU outbid: "winning 2 of 9" names the outbid bid and the minimum of a new bid', () => {
    const p = openPosition([bid(2, 450, 2), bid(7, 400, 0)])!;
    expect(p).toMatchObject({ state: 'partly', allocated: 2, wanted: 9, final: false });
    expect(p.short).toEqual([bid(7, 400, 0)]);
    expect(positionText(p, 43_000)).toBe('winning 2 of 9 TEU — your 7 TEU bid at €400.00 is outbid; a new bid needs at least €430.00 per TEU');
  });

  it('a single bid: all of it, part of it or none of it', () => {
    expect(text([bid(4, 250, 4)], 255)).toBe('winning all 4 TEU you bid for');
    expect(text([bid(4, 250, 2)], 255)).toBe('winning 2 of 4 TEU — your 4 TEU bid at €250.00 wins only 2 TEU; a new bid needs at least €255.00 per TEU');
    expect(text([bid(7, 400, 0)], 430)).toBe('outbid — your 7 TEU bid at €400.00 wins nothing; a new bid needs at least €430.00 per TEU');
    expect(openPosition([bid(7, 400, 0)])!.state).toBe('outbid');
  });

  it('without a known minimum the text stops at the bids', () => {
    expect(text([bid(2, 450, 2), bid(7, 400, 0)])).toBe('winning 2 of 9 TEU — your 7 TEU bid at €400.00 is outbid');
  });

  it('several bids short: partly filled first, then the outbid ones listed highest price first, or counted when many', () => {
    expect(text([bid(1, 300, 0), bid(3, 500, 3), bid(4, 450, 1), bid(2, 350, 0)], 460)).toBe(
      'winning 4 of 10 TEU — your 4 TEU bid at €450.00 wins only 1 TEU, your 2 TEU bid at €350.00 and your 1 TEU bid at €300.00 are outbid; a new bid needs at least €460.00 per TEU',
    );
    expect(text([bid(1, 300, 0), bid(2, 350, 0)], 360)).toBe(
      'outbid — your 2 TEU bid at €350.00 and your 1 TEU bid at €300.00 win nothing; a new bid needs at least €360.00 per TEU',
    );
    expect(text([bid(1, 300, 0), bid(2, 310, 0), bid(3, 320, 0), bid(4, 330, 0)])).toBe('outbid — 4 of your bids (10 TEU) win nothing');
  });

  it('the ladder total has the last word over the bids (a raise they do not show yet); no bids, no position', () => {
    expect(openPosition([bid(3, 250, 0)], 3)).toMatchObject({ state: 'winning', allocated: 3, wanted: 3 });
    expect(openPosition([])).toBeNull();
  });

  it('after the close: won or not won', () => {
    const closed = (state: 'won' | 'lost', allocated: number): AuctionPosition => ({ state, allocated, wanted: 9, final: true, short: [] });
    expect(positionText(closed('won', 2), 43_000)).toBe('won 2 TEU');
    expect(positionText(closed('lost', 0), 43_000)).toBe('not won');
  });
});

describe('client auction room: which ladder is older than the one shown', () => {
  it('drops a read or event of an earlier book version while open; keeps equal and newer ones, closes and unversioned updates', () => {
    // a read answered before a bid (version 7) arriving after that bid's live ladder (version 8)
    expect(olderLadder(7, 8, 'open', 'open')).toBe(true);
    expect(olderLadder(8, 8, 'open', 'open')).toBe(false); // the same version: the same book
    expect(olderLadder(9, 8, 'open', 'open')).toBe(false);
    expect(olderLadder(7, -1, 'open', 'open')).toBe(false); // nothing shown yet
    expect(olderLadder(undefined, 8, 'open', 'open')).toBe(false); // a hold's update, a sealed auction's ladder
    expect(olderLadder(7, 8, 'closed', 'open')).toBe(false); // a close always applies
    expect(olderLadder(7, 8, 'cancelled', 'open')).toBe(false);
    expect(olderLadder(7, 8, 'open', 'closed')).toBe(false); // (a late open state after a close is dropped elsewhere)
  });
});

