import { describe, expect, it } from 'vitest';
import { prng } from '../../server/core/rng.ts';
import { expandHistory, FORWARDER_SHARE_PCT, planDeparture, seasonFactor, weekdayFactor, type HistoryService } from '../../server/seed/history-plan.ts';

const DAY = 86_400_000;
const rail: HistoryService = {
  code: 'T-A-B-rail', operatorSlug: 'op', corridorCode: 'A-B-rail', assetName: 'Test Train', weekdays: [1, 3, 5], departTimeUtc: '20:00',
  transitMinutes: 600, cutoffMinutesBefore: 300, capacityTeu: 90, capacityTonnes: 1800, listedTeu: 20, unitPriceCents: 60_000, mode: 'rail',
};

describe('history plan (server/seed/history-plan.ts)', () => {
  it('weekly pattern: Monday and Friday above midweek, the weekend lowest', () => {
    const at = (iso: string) => weekdayFactor(Date.parse(iso));
    expect(at('2026-06-05T12:00:00Z')).toBeGreaterThan(at('2026-06-03T12:00:00Z')); // Fri > Wed
    expect(at('2026-06-01T12:00:00Z')).toBeGreaterThan(at('2026-06-03T12:00:00Z')); // Mon > Wed
    expect(at('2026-06-07T12:00:00Z')).toBeLessThan(at('2026-06-06T12:00:00Z')); // Sun < Sat
    expect(at('2026-06-06T12:00:00Z')).toBeLessThan(at('2026-06-03T12:00:00Z')); // Sat < Wed
  });

  it('seasonal pattern: a summer dip, a pre-Christmas peak, the holiday trough', () => {
    const s = (iso: string) => seasonFactor(Date.parse(iso));
    expect(s('2026-08-08T00:00:00Z')).toBeLessThan(0.8);
    expect(s('2026-12-01T00:00:00Z')).toBeGreaterThan(1.1);
    expect(s('2026-12-29T00:00:00Z')).toBeLessThan(0.7);
    expect(Math.abs(s('2026-05-20T00:00:00Z') - 1)).toBeLessThan(0.05);
  });

  it('expands the timetable times scale: distinct departure times per service, thinned below 1, all in the window', () => {
    const from = new Date('2026-03-02T00:00:00Z');
    const to = new Date(from.getTime() + 28 * DAY);
    const base = expandHistory([rail], from, to, 1, prng(1));
    expect(base.length).toBe(12); // 4 weeks × Mon/Wed/Fri
    const more = expandHistory([rail], from, to, 3, prng(1));
    expect(more.length).toBe(36);
    expect(new Set(more.map((r) => r.departsAt.getTime())).size).toBe(36);
    for (const r of more) expect(r.departsAt >= from && r.departsAt < to).toBe(true);
    const fewer = expandHistory([rail], from, to, 0.25, prng(1));
    expect(fewer.length).toBeLessThan(base.length);
    expect(expandHistory([rail], from, to, 2.5, prng(7))).toEqual(expandHistory([rail], from, to, 2.5, prng(7))); // deterministic
  });

  it('plans bookings that fit: within capacity and listings, each forwarder within its share, before the cut-off', () => {
    const rng = prng(5);
    for (let i = 0; i < 300; i++) {
      const departsAt = Date.parse('2026-06-01T20:00:00Z') + i * DAY;
      const cutoffAt = departsAt - 5 * 3_600_000;
      const p = planDeparture({ departsAt, cutoffAt, capacityTeu: 90, capacityTonnes: 1800, mode: 'rail', unitPriceCents: 60_000, listedTeu: 20 }, rng, { forwarders: 4, end: departsAt + DAY });
      const teu = p.bookings.reduce((s, b) => s + b.teu, 0);
      expect(teu).toBeLessThanOrEqual(90);
      expect(p.bookings.reduce((s, b) => s + b.tonnes, 0)).toBeLessThanOrEqual(1800);
      expect(p.fixedTeu + (p.falling?.teu ?? 0)).toBeLessThanOrEqual(90);
      expect(p.bookings.filter((b) => b.listing === 'fixed').reduce((s, b) => s + b.teu, 0)).toBeLessThanOrEqual(p.fixedTeu);
      expect(p.bookings.filter((b) => b.listing === 'falling').reduce((s, b) => s + b.teu, 0)).toBeLessThanOrEqual(p.falling?.teu ?? 0);
      for (let f = 0; f < 4; f++) {
        expect(p.bookings.filter((b) => b.forwarder === f).reduce((s, b) => s + b.teu, 0)).toBeLessThanOrEqual(Math.floor((90 * FORWARDER_SHARE_PCT) / 100));
      }
      for (const b of p.bookings) {
        expect(b.at).toBeLessThan(cutoffAt);
        expect(b.at).toBeGreaterThan(p.listedAt);
        expect(b.tonnes).toBeGreaterThanOrEqual(b.teu);
        if (b.listing === 'falling') expect(b.at).toBeGreaterThanOrEqual(p.falling!.opensAt);
        if (b.cancelAt !== null) expect(b.cancelAt > b.at && b.cancelAt < departsAt).toBe(true);
      }
    }
  });
});
