import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cancellationFee, DEFAULT_FEE_RULE } from '../../server/core/fees.ts';
import { feeBands, feeScheduleText } from '../../client/src/lib/fees.ts';

const H = 3_600_000;
const T = Date.parse('2026-12-20T10:00:00Z');

describe('a listing fee rule as the hold form shows it', () => {
  it('the default rule: free now, 50 % from 7 days before departure, 100 % from the cut-off', () => {
    const text = feeScheduleText(DEFAULT_FEE_RULE, T, T - 6 * H, T - 10 * 24 * H, (ms) => new Date(ms).toISOString().slice(0, 16));
    expect(text).toBe('free now · 50 % from 2026-12-13T10:00 · 100 % from the cut-off');
    expect(feeScheduleText(DEFAULT_FEE_RULE, T, T - 6 * H, T - 2 * 24 * H, String)).toBe('50 % now · 100 % from the cut-off');
    expect(feeScheduleText(DEFAULT_FEE_RULE, T, T - 6 * H, T - H, String)).toBe('100 % now');
  });

  it('the band in force is the fee the server would charge, at any time and for any rule', () => {
    const rule = fc
      .uniqueArray(fc.integer({ min: 1, max: 30 * 24 * 60 }), { maxLength: 4 })
      .chain((mins) =>
        fc.tuple(fc.constant(mins.sort((a, b) => b - a)), fc.array(fc.integer({ min: 0, max: 100 }), { minLength: mins.length, maxLength: mins.length }).map((p) => p.sort((a, b) => a - b)), fc.integer({ min: 0, max: 100 })),
      )
      .map(([mins, pcts, after]) => ({ tiers: mins.map((m, i) => ({ fromMinutesBeforeDeparture: m, percent: pcts[i]! })), afterCutoffPercent: Math.max(after, ...pcts) }));
    fc.assert(
      fc.property(rule, fc.integer({ min: 1, max: 48 }), fc.integer({ min: -40 * 24 * 60, max: 0 }), (r, cutoffH, nowMin) => {
        const cutoff = T - cutoffH * H;
        const now = T + nowMin * 60_000;
        const bands = feeBands(r, T, cutoff, now);
        expect(bands[0]!.fromMs).toBeNull();
        expect(bands[0]!.percent).toBe(cancellationFee(r, 10_000, { departsAt: new Date(T), cutoffAt: new Date(cutoff) }, new Date(now)).percent);
        // each later band is what the server charges from its start on
        for (const b of bands.slice(1)) {
          expect(b.fromMs!).toBeGreaterThan(now);
          expect(b.percent).toBe(cancellationFee(r, 10_000, { departsAt: new Date(T), cutoffAt: new Date(cutoff) }, new Date(b.fromMs!)).percent);
        }
        // and at any later time the band in force by the schedule is the server's fee: no band was left out
        for (let t = now; t < cutoff + 2 * H; t += 97 * 60_000) {
          const inForce = [...bands].reverse().find((b) => b.fromMs === null || b.fromMs <= t)!;
          expect(inForce.percent).toBe(cancellationFee(r, 10_000, { departsAt: new Date(T), cutoffAt: new Date(cutoff) }, new Date(t)).percent);
        }
      }),
      { numRuns: 300 },
    );
  });
});
