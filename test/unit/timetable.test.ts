import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  expandTimetable,
  parseTimeOfDay,
  validateWeeklyService,
  type WeeklyService,
} from '../../server/core/timetable.ts';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const MIN = 60_000;
/** 1970-01-05 was a Monday. */
const REF_MONDAY = Date.UTC(1970, 0, 5);

function service(over: Partial<WeeklyService> = {}): WeeklyService {
  return {
    code: 'S1',
    operatorSlug: 'op',
    corridorCode: 'A-B-rail',
    assetName: 'Train',
    weekdays: [1],
    departTimeUtc: '20:00',
    transitMinutes: 1800,
    cutoffMinutesBefore: 300,
    capacityTeu: 90,
    capacityTonnes: 1800,
    listedTeu: 20,
    unitPriceCents: 90_000,
    ...over,
  };
}

const hhmm = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);

const serviceArb = (code: string) =>
  fc.record({
    code: fc.constant(code),
    operatorSlug: fc.constant('op'),
    corridorCode: fc.constant('A-B-rail'),
    assetName: fc.constant(`asset ${code}`),
    weekdays: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }),
    departTimeUtc: hhmm,
    transitMinutes: fc.integer({ min: 1, max: 6000 }),
    cutoffMinutesBefore: fc.integer({ min: 1, max: 2000 }),
    capacityTeu: fc.integer({ min: 1, max: 500 }),
    capacityTonnes: fc.integer({ min: 1, max: 6000 }),
    listedTeu: fc.constant(1),
    unitPriceCents: fc.integer({ min: 0, max: 200_000 }),
  });

const servicesArb = fc
  .integer({ min: 1, max: 4 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => serviceArb(`S${i}`))));

const nowArb = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) }).map((t) => new Date(t));

/** Oracle: departures of one weekday/time are REF + k·WEEK; count those in [start, end). */
function expectedCount(s: WeeklyService, start: number, end: number): number {
  const tod = parseTimeOfDay(s.departTimeUtc)!;
  let n = 0;
  for (const d of new Set(s.weekdays)) {
    const t0 = REF_MONDAY + (d - 1) * DAY + tod * MIN;
    n += Math.ceil((end - t0) / WEEK) - Math.ceil((start - t0) / WEEK);
  }
  return n;
}

describe('parseTimeOfDay', () => {
  it('parses valid times and rejects invalid ones', () => {
    expect(parseTimeOfDay('00:00')).toBe(0);
    expect(parseTimeOfDay('23:59')).toBe(23 * 60 + 59);
    expect(parseTimeOfDay('06:30')).toBe(390);
    for (const bad of ['24:00', '6:30', '12:60', '', '12:00:00', 'ab:cd']) expect(parseTimeOfDay(bad)).toBeNull();
  });
});

describe('validateWeeklyService', () => {
  it('accepts a sane service', () => {
    expect(validateWeeklyService(service())).toEqual({ ok: true });
  });
  it.each([
    ['weekday 0', { weekdays: [0] }],
    ['weekday 8', { weekdays: [8] }],
    ['no weekdays', { weekdays: [] }],
    ['bad time', { departTimeUtc: '25:00' }],
    ['zero transit', { transitMinutes: 0 }],
    ['fractional cutoff', { cutoffMinutesBefore: 1.5 }],
    ['listed above capacity', { listedTeu: 91 }],
    ['negative price', { unitPriceCents: -1 }],
  ])('rejects %s', (_name, over) => {
    const r = validateWeeklyService(service(over));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe('invalid_service');
  });
});

describe('expandTimetable examples', () => {
  // 2024-01-01 is a Monday.
  const mon = Date.UTC(2024, 0, 1);

  it('produces the Monday 20:00 departure with cut-off and arrival', () => {
    const [d, ...rest] = expandTimetable([service()], new Date(mon), 7);
    expect(rest).toHaveLength(0);
    expect(d).toEqual({
      serviceCode: 'S1',
      departsAt: new Date('2024-01-01T20:00:00Z'),
      arrivesAt: new Date('2024-01-03T02:00:00Z'),
      cutoffAt: new Date('2024-01-01T15:00:00Z'),
      capacityTeu: 90,
      capacityTonnes: 1800,
      assetName: 'Train',
    });
  });

  it('window is [now, now + days): start inclusive, end exclusive', () => {
    const dep = Date.UTC(2024, 0, 1, 20);
    expect(expandTimetable([service()], new Date(dep), 1)).toHaveLength(1);
    expect(expandTimetable([service()], new Date(dep + 1), 1)).toHaveLength(0);
    expect(expandTimetable([service()], new Date(dep - DAY), 1)).toHaveLength(0);
    expect(expandTimetable([service()], new Date(dep - DAY + 1), 1)).toHaveLength(1);
  });

  it('Sunday is ISO weekday 7', () => {
    const out = expandTimetable([service({ weekdays: [7], departTimeUtc: '00:00' })], new Date(mon), 7);
    expect(out.map((d) => d.departsAt.toISOString())).toEqual(['2024-01-07T00:00:00.000Z']);
  });

  it('sorts by time then service code and skips invalid services', () => {
    const out = expandTimetable(
      [
        service({ code: 'B', weekdays: [1, 2] }),
        service({ code: 'A', weekdays: [1] }),
        service({ code: 'X', weekdays: [9] }),
      ],
      new Date(mon),
      2,
    );
    expect(out.map((d) => `${d.serviceCode}@${d.departsAt.toISOString()}`)).toEqual([
      'A@2024-01-01T20:00:00.000Z',
      'B@2024-01-01T20:00:00.000Z',
      'B@2024-01-02T20:00:00.000Z',
    ]);
  });

  it('returns nothing for non-positive days', () => {
    expect(expandTimetable([service()], new Date(mon), 0)).toEqual([]);
    expect(expandTimetable([service()], new Date(mon), -3)).toEqual([]);
  });
});

describe('expandTimetable properties', () => {
  it('count matches weekday arithmetic; whole weeks give weeks × weekdays', () => {
    fc.assert(
      fc.property(servicesArb, nowArb, fc.integer({ min: 0, max: 40 }), (services, now, days) => {
        const out = expandTimetable(services, now, days);
        const start = now.getTime();
        const end = start + days * DAY;
        for (const s of services) {
          const mine = out.filter((d) => d.serviceCode === s.code);
          expect(mine.length).toBe(expectedCount(s, start, end));
          if (days % 7 === 0) expect(mine.length).toBe((days / 7) * new Set(s.weekdays).size);
        }
      }),
    );
  });

  it('every departure is inside the window, on a listed weekday and time, with cutoff < departs < arrives', () => {
    fc.assert(
      fc.property(servicesArb, nowArb, fc.double({ min: 0, max: 30, noNaN: true }), (services, now, days) => {
        const out = expandTimetable(services, now, days);
        const start = now.getTime();
        const end = start + days * DAY;
        for (const d of out) {
          const s = services.find((x) => x.code === d.serviceCode)!;
          const t = d.departsAt.getTime();
          expect(t).toBeGreaterThanOrEqual(start);
          expect(t).toBeLessThan(end);
          const wd = d.departsAt.getUTCDay() === 0 ? 7 : d.departsAt.getUTCDay();
          expect(s.weekdays).toContain(wd);
          expect(d.departsAt.toISOString().slice(11, 16)).toBe(s.departTimeUtc);
          expect(d.cutoffAt.getTime()).toBe(t - s.cutoffMinutesBefore * MIN);
          expect(d.arrivesAt.getTime()).toBe(t + s.transitMinutes * MIN);
          expect(d.cutoffAt.getTime()).toBeLessThan(t);
          expect(d.arrivesAt.getTime()).toBeGreaterThan(t);
          expect(d.capacityTeu).toBe(s.capacityTeu);
          expect(d.capacityTonnes).toBe(s.capacityTonnes);
        }
      }),
    );
  });

  it('is sorted, stable and deterministic when called twice', () => {
    fc.assert(
      fc.property(servicesArb, nowArb, fc.integer({ min: 0, max: 21 }), (services, now, days) => {
        const a = expandTimetable(services, now, days);
        const b = expandTimetable(services, new Date(now.getTime()), days);
        expect(b).toEqual(a);
        const reversed = expandTimetable([...services].reverse(), now, days);
        expect(reversed).toEqual(a);
        for (let i = 1; i < a.length; i++) {
          const p = a[i - 1]!;
          const c = a[i]!;
          const dt = c.departsAt.getTime() - p.departsAt.getTime();
          expect(dt > 0 || (dt === 0 && p.serviceCode < c.serviceCode)).toBe(true);
        }
      }),
    );
  });

  it('overlapping windows give identical departures for the same service and time', () => {
    fc.assert(
      fc.property(
        servicesArb,
        nowArb,
        fc.integer({ min: -10 * DAY, max: 10 * DAY }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        (services, now, shift, d1, d2) => {
          const now2 = new Date(now.getTime() + shift);
          const a = expandTimetable(services, now, d1);
          const b = expandTimetable(services, now2, d2);
          const key = (d: { serviceCode: string; departsAt: Date }) => `${d.serviceCode}@${d.departsAt.getTime()}`;
          const bByKey = new Map(b.map((d) => [key(d), d]));
          const lo = Math.max(now.getTime(), now2.getTime());
          const hi = Math.min(now.getTime() + d1 * DAY, now2.getTime() + d2 * DAY);
          const aInOverlap = a.filter((d) => d.departsAt.getTime() >= lo && d.departsAt.getTime() < hi);
          const bInOverlap = b.filter((d) => d.departsAt.getTime() >= lo && d.departsAt.getTime() < hi);
          expect(aInOverlap.length).toBe(bInOverlap.length);
          for (const d of aInOverlap) expect(bByKey.get(key(d))).toEqual(d);
        },
      ),
    );
  });
});
