import { describe, expect, it } from 'vitest';
import { fmtTimeLeft } from '../../client/src/lib/format.ts';
import { followFreeTeu, msToClose, onSaleMatches, saleBadges, type OnSaleLike } from '../../client/src/lib/on-sale.ts';

const sale = (o: Partial<OnSaleLike> = {}): OnSaleLike => ({ teu: 20, fromUnitPriceCents: 50_000, formats: ['fixed'], nextCloseAt: null, ...o });

describe('client: what a departure has on sale', () => {
  it('names its formats in a fixed order, auctions marked', () => {
    expect(saleBadges(sale({ formats: ['sealed', 'ascending', 'falling', 'fixed'] })).map((b) => [b.label, b.auction])).toEqual([
      ['Fixed', false], ['Falling', false], ['Auction', true], ['Sealed bid', true],
    ]);
    expect(saleBadges(sale({ formats: [] }))).toEqual([]);
  });

  it('counts down to the soonest auction close', () => {
    const now = Date.parse('2025-06-01T08:00:00Z');
    expect(msToClose(sale({ nextCloseAt: '2025-06-01T10:05:00.000Z' }), now)).toBe(2 * 3_600_000 + 5 * 60_000);
    expect(msToClose(sale(), now)).toBeNull();
    expect(fmtTimeLeft(2 * 3_600_000 + 5 * 60_000)).toBe('2 h 05 min');
    expect(fmtTimeLeft(2 * 3_600_000)).toBe('2 h');
    expect(fmtTimeLeft(35 * 60_000 + 59_000)).toBe('35 min');
    expect(fmtTimeLeft(45_500)).toBe('45 s');
    expect(fmtTimeLeft(-1)).toBe('0 s');
    expect(fmtTimeLeft(76 * 3_600_000)).toBe('3 d 4 h');
  });

  it('follows a drop of free TEU at once, waits for a re-read on a rise, never shows more than is free', () => {
    const o = sale({ teu: 20 });
    followFreeTeu(o, -2, 60);
    expect(o.teu).toBe(18);
    followFreeTeu(o, +5, 65);
    expect(o.teu).toBe(18);
    followFreeTeu(o, -50, 15);
    expect(o.teu).toBe(0);
    const p = sale({ teu: 20 });
    followFreeTeu(p, 0, 12); // capacity derated below what is listed
    expect(p.teu).toBe(12);
  });

  it('filters the board by a price cap and by the TEU a forwarder needs', () => {
    const d = sale({ teu: 6, fromUnitPriceCents: 40_000 });
    expect(onSaleMatches(d, null, null)).toBe(true);
    expect(onSaleMatches(d, null, 6)).toBe(true);
    expect(onSaleMatches(d, null, 7)).toBe(false);
    expect(onSaleMatches(d, 40_000, 6)).toBe(true);
    expect(onSaleMatches(d, 39_999, 1)).toBe(false);
    // only auctions on sale: no price to compare with a cap, yet TEU to bid for
    const auctionsOnly = sale({ teu: 12, fromUnitPriceCents: null, formats: ['ascending'] });
    expect(onSaleMatches(auctionsOnly, 50_000, null)).toBe(false);
    expect(onSaleMatches(auctionsOnly, null, 10)).toBe(true);
    expect(onSaleMatches(undefined, null, 1)).toBe(false);
    expect(onSaleMatches(undefined, null, null)).toBe(true);
  });
});
