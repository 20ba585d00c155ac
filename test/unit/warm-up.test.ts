import { describe, expect, it } from 'vitest';
import { auctionWarmUpRound } from '../../server/core/warm-up.ts';

describe('the auction core warm-up (server/core/warm-up.ts)', () => {
  it('plays a flurry with auto-bid wars — the code it is for — and the same one for the same seed', () => {
    for (const seed of [0, 1, 7, 29]) {
      const r = auctionWarmUpRound(seed);
      expect(r.accepted).toBeGreaterThan(10);
      expect(r.raises).toBeGreaterThan(r.accepted); // auto-bids raised, many times: the simulation ran
      expect(auctionWarmUpRound(seed)).toEqual(r);
    }
    expect(auctionWarmUpRound(1).checksum).not.toBe(auctionWarmUpRound(2).checksum);
  });
});
