import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lowestUnitPriceAt, onSaleAt, type OnSaleTerms } from '../../server/core/on-sale.ts';
import { fallingPrice, type FallingSchedule } from '../../server/core/pricing.ts';

const MIN = 60_000;
const T = new Date('2025-06-01T08:00:00Z');
const at = (minutes: number) => new Date(T.getTime() + minutes * MIN);
const FALLING: FallingSchedule = { startPriceCents: 60_000, floorPriceCents: 30_000, stepCents: 5_000, stepEveryMinutes: 60, startsAt: T };

describe('lowestUnitPriceAt', () => {
  it('is the cheaper of the fixed price and the falling price at that time', () => {
    expect(lowestUnitPriceAt(50_000, [FALLING], at(0))).toBe(50_000); // falling still at 600 €
    expect(lowestUnitPriceAt(50_000, [FALLING], at(120))).toBe(50_000); // two steps: 500 €, a tie
    expect(lowestUnitPriceAt(50_000, [FALLING], at(180))).toBe(45_000); // the falling price passed the fixed one
    expect(lowestUnitPriceAt(50_000, [FALLING], at(100_000))).toBe(30_000); // its floor
  });

  it('is null with nothing priced, and the falling price alone without a fixed one', () => {
    expect(lowestUnitPriceAt(null, [], at(0))).toBeNull();
    expect(lowestUnitPriceAt(null, [FALLING], at(60))).toBe(55_000);
    expect(lowestUnitPriceAt(null, [FALLING, { ...FALLING, startPriceCents: 40_000, floorPriceCents: 40_000 }], at(0))).toBe(40_000);
  });

  it('is the minimum over every listing at any time, an integer number of cents', () => {
    const schedule = fc
      .record({ start: fc.integer({ min: 1, max: 10_000_000 }), drop: fc.integer({ min: 0, max: 10_000_000 }), step: fc.integer({ min: 1, max: 100_000 }), every: fc.integer({ min: 1, max: 600 }) })
      .map(({ start, drop, step, every }): FallingSchedule => ({ startPriceCents: start, floorPriceCents: Math.max(1, start - drop), stepCents: step, stepEveryMinutes: every, startsAt: T }));
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 1, max: 10_000_000 }), { nil: null }), fc.array(schedule, { maxLength: 5 }), fc.integer({ min: -600, max: 100_000 }), (fixed, falling, minutes) => {
        const now = at(minutes);
        const prices = [...(fixed === null ? [] : [fixed]), ...falling.map((s) => fallingPrice(s, now))];
        const got = lowestUnitPriceAt(fixed, falling, now);
        if (prices.length === 0) return got === null;
        return got === Math.min(...prices) && Number.isSafeInteger(got);
      }),
    );
  });
});

describe('onSaleAt', () => {
  const terms: OnSaleTerms = { teu: 48, fixedMinCents: 50_000, falling: [FALLING], formats: ['sealed', 'fixed', 'ascending', 'fixed', 'falling'], nextCloseAt: at(90) };

  it('summarises the open listings: TEU, the price now, distinct sorted formats, the soonest close as ISO', () => {
    expect(onSaleAt(terms, at(0))).toEqual({ teu: 48, fromUnitPriceCents: 50_000, formats: ['ascending', 'falling', 'fixed', 'sealed'], nextCloseAt: '2025-06-01T09:30:00.000Z' });
    expect(onSaleAt(terms, at(240)).fromUnitPriceCents).toBe(40_000);
  });

  it('says nothing is on sale when nothing is', () => {
    expect(onSaleAt({ teu: 0, fixedMinCents: null, falling: [], formats: [], nextCloseAt: null }, at(0))).toEqual({ teu: 0, fromUnitPriceCents: null, formats: [], nextCloseAt: null });
  });
});
