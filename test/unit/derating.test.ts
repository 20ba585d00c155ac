import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedFactor, bookingsToMove, deratedCapacity, levelProblem, tableProblem, type OnBoard } from '../../server/core/derating.ts';
import { factorFor, gaugeCodes, gaugeOf } from '../../server/data/water-levels.ts';

const KAUB = [
  { levelCm: 30, factor: 0 },
  { levelCm: 80, factor: 0.4 },
  { levelCm: 200, factor: 1 },
];

describe('low-water derating (pure)', () => {
  it('the factor is linear between points, the first point below, the last above', () => {
    expect(allowedFactor(KAUB, 10)).toBe(0);
    expect(allowedFactor(KAUB, 55)).toBeCloseTo(0.2);
    expect(allowedFactor(KAUB, 80)).toBeCloseTo(0.4);
    expect(allowedFactor(KAUB, 140)).toBeCloseTo(0.7);
    expect(allowedFactor(KAUB, 500)).toBe(1);
    expect(deratedCapacity({ teu: 200, tonnes: 3000 }, 0.4)).toEqual({ teu: 80, tonnes: 1200 });
    expect(deratedCapacity({ teu: 200, tonnes: 3000 }, 0)).toBeNull(); // it cannot sail
  });

  it('the demo tables are usable and every gauge governs barge corridors', () => {
    for (const code of gaugeCodes()) {
      const g = gaugeOf(code)!;
      expect(tableProblem(g.table)).toBeNull();
      expect(g.corridors.length).toBeGreaterThan(0);
      expect(g.corridors.every((c) => c.endsWith('-barge'))).toBe(true);
      expect(factorFor(g, null, 2000)).toBe(1);
    }
    expect(tableProblem([{ levelCm: 10, factor: 0.5 }, { levelCm: 20, factor: 0.4 }])).not.toBeNull();
  });

  it('property: capacity never grows as the water falls, and never exceeds the nominal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 10_000 }), (l1, l2, teu, tonnes) => {
        const [lo, hi] = l1 <= l2 ? [l1, l2] : [l2, l1];
        for (const code of gaugeCodes()) {
          const g = gaugeOf(code)!;
          const a = deratedCapacity({ teu, tonnes }, factorFor(g, null, lo));
          const b = deratedCapacity({ teu, tonnes }, factorFor(g, null, hi));
          if (a) {
            expect(b).not.toBeNull();
            expect(a.teu).toBeLessThanOrEqual(b!.teu);
            expect(a.tonnes).toBeLessThanOrEqual(b!.tonnes);
          }
          if (b) expect(b.teu <= teu && b.tonnes <= tonnes).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: the bookings moved are the latest booked, the fewest under that order, and what stays fits', () => {
    const arb = fc.record({
      bookings: fc.uniqueArray(
        fc.record({ id: fc.uuid(), teu: fc.integer({ min: 1, max: 20 }), tonnes: fc.integer({ min: 1, max: 300 }), bookedAt: fc.integer({ min: 0, max: 1_000_000 }) }),
        { maxLength: 15, selector: (b) => b.id },
      ),
      cap: fc.option(fc.record({ teu: fc.integer({ min: 1, max: 200 }), tonnes: fc.integer({ min: 1, max: 3000 }) }), { nil: null }),
      held: fc.record({ teu: fc.integer({ min: 0, max: 10 }), tonnes: fc.integer({ min: 0, max: 100 }) }),
    });
    fc.assert(
      fc.property(arb, ({ bookings, cap, held }) => {
        const { move, keep } = bookingsToMove(bookings as OnBoard[], cap, held);
        expect(move.length + keep.length).toBe(bookings.length);
        if (!cap) {
          expect(keep).toEqual([]);
          return;
        }
        const sum = (xs: OnBoard[], k: 'teu' | 'tonnes') => xs.reduce((s, b) => s + b[k], 0);
        const fits = (xs: OnBoard[]) => held.teu + sum(xs, 'teu') <= cap.teu && held.tonnes + sum(xs, 'tonnes') <= cap.tonnes;
        // what stays fits (unless even the holds alone do not: then everything moves)
        if (fits([])) expect(fits(keep)).toBe(true);
        else expect(keep).toEqual([]);
        // every moved booking was booked no earlier than any that stays
        for (const m of move) for (const k of keep) expect(m.bookedAt > k.bookedAt || (m.bookedAt === k.bookedAt && m.id > k.id)).toBe(true);
        // the fewest: keeping the last one moved as well would not fit
        if (move.length > 0 && fits([])) expect(fits([...keep, move[move.length - 1]!])).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it('a level must be a plausible reading, measured in the past', () => {
    const now = Date.parse('2026-08-01T12:00:00Z');
    expect(levelProblem(78, now - 60_000, now)).toBeNull();
    expect(levelProblem(-5, now, now)).toMatch(/0 to 2000/);
    expect(levelProblem(78, now + 3_600_000, now)).toMatch(/future/);
    expect(levelProblem(78, now - 40 * 86_400_000, now)).toMatch(/old/);
    expect(levelProblem(78, Date.parse('2016-12-31T23:59:60Z'), now)).toMatch(/valid time/); // a leap second: no such Date
  });
});
