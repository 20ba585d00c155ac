import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays, addSums, changeOf, clearingVsReservePct, csvCell, emptySums, flattenRow, MAX_RANGE_DAYS, metricsOf, parseDay, previousRange,
  priceIndex, rangeBounds, resolveRange, SALE_FORMATS, slimMetricsOf, toCsv, type StatsSums,
} from '../../server/core/stats.ts';
import { teuPerTruck } from '../../server/data/emission-factors.ts';

const DAY = 86_400_000;
const small = fc.integer({ min: 0, max: 5_000 });
const money = fc.integer({ min: 0, max: 50_000_000 });
const formats = (arb: fc.Arbitrary<number>) => fc.record({ fixed: arb, falling: arb, ascending: arb, sealed: arb });

/** Sums as a set of departures could produce them (booked + held within capacity). */
const sumsArb: fc.Arbitrary<StatsSums> = fc
  .record({
    departures: fc.integer({ min: 0, max: 50 }),
    capacityTeu: fc.integer({ min: 0, max: 20_000 }),
    heldPart: fc.double({ min: 0, max: 1, noNaN: true }),
    bookedPart: fc.double({ min: 0, max: 1, noNaN: true }),
    formatTeu: formats(small),
    unitPrice: formats(fc.integer({ min: 0, max: 200_000 })),
    co2eKg: fc.integer({ min: 0, max: 1_000_000 }),
    roadCo2eKg: fc.integer({ min: 0, max: 5_000_000 }),
    cancellations: small,
    cancelledTeu: small,
    cancellationFeesCents: money,
    auctionAwardedTeu: small,
    clearing: fc.integer({ min: 0, max: 100_000 }),
    reserve: fc.integer({ min: 0, max: 100_000 }),
    bookings: small,
  })
  .map((r) => {
    const bookedTeu = SALE_FORMATS.reduce((a, f) => a + r.formatTeu[f], 0);
    const capacityTeu = Math.max(r.capacityTeu, bookedTeu);
    return {
      departures: r.departures,
      capacityTeu,
      heldTeu: Math.floor((capacityTeu - bookedTeu) * r.heldPart),
      bookings: r.bookings,
      bookedTeu,
      revenueCents: SALE_FORMATS.reduce((a, f) => a + r.formatTeu[f] * r.unitPrice[f], 0),
      co2eKg: r.co2eKg,
      roadCo2eKg: r.roadCo2eKg,
      cancellations: r.cancellations,
      cancelledTeu: r.cancelledTeu,
      cancellationFeesCents: r.cancellationFeesCents,
      formatTeu: r.formatTeu,
      formatRevenueCents: Object.fromEntries(SALE_FORMATS.map((f) => [f, r.formatTeu[f] * r.unitPrice[f]])) as Record<(typeof SALE_FORMATS)[number], number>,
      auctionAwardedTeu: r.auctionAwardedTeu,
      auctionClearingCents: r.clearing * r.auctionAwardedTeu,
      auctionReserveCents: r.reserve * r.auctionAwardedTeu,
    };
  });

const dayArb = fc.integer({ min: Date.UTC(2003, 0, 1), max: Date.UTC(2097, 11, 1) }).map((t) => new Date(t).toISOString().slice(0, 10));

describe('stats core: metrics from sums', () => {
  it('are consistent: 0 ≤ load factor ≤ 1, free = capacity − booked − held, saved = road − booking, trucks = round(TEU / 2)', () => {
    fc.assert(
      fc.property(sumsArb, (s) => {
        const m = metricsOf(s, { teuPerTruck });
        if (s.capacityTeu! > 0) {
          expect(m.loadFactor).toBeGreaterThanOrEqual(0);
          expect(m.loadFactor).toBeLessThanOrEqual(1);
          expect(Math.abs(m.loadFactor! - s.bookedTeu / s.capacityTeu!)).toBeLessThanOrEqual(0.00005 + 1e-12);
        } else expect(m.loadFactor).toBeNull();
        expect(m.freeTeu).toBe(s.capacityTeu! - s.bookedTeu - s.heldTeu!);
        expect(m.co2eSavedKg).toBe(s.roadCo2eKg - s.co2eKg);
        expect(m.trucksAvoided).toBe(Math.round(s.bookedTeu / 2));
        expect(m.bookedTeu).toBe(SALE_FORMATS.reduce((a, f) => a + m.byFormat[f].teu, 0));
        expect(m.revenueCents).toBe(SALE_FORMATS.reduce((a, f) => a + m.byFormat[f].revenueCents, 0));
        if (s.bookedTeu > 0) {
          // the average per TEU lies within the extremes of the formats' averages
          const avgs = SALE_FORMATS.map((f) => m.byFormat[f].avgUnitPriceCents).filter((x): x is number => x !== null);
          expect(m.avgUnitPriceCents).toBeGreaterThanOrEqual(Math.min(...avgs) - 1);
          expect(m.avgUnitPriceCents).toBeLessThanOrEqual(Math.max(...avgs) + 1);
        } else expect(m.avgUnitPriceCents).toBeNull();
      }),
    );
  });

  it('teuPerTruck is the documented 2', () => {
    expect(teuPerTruck).toBe(2);
  });

  it('adding sums is commutative and associative, and the empty sums are its identity', () => {
    fc.assert(
      fc.property(sumsArb, sumsArb, sumsArb, (a, b, c) => {
        expect(addSums(a, b)).toEqual(addSums(b, a));
        expect(addSums(addSums(a, b), c)).toEqual(addSums(a, addSums(b, c)));
        expect(addSums(a, emptySums())).toEqual(a);
      }),
    );
  });

  it("a forwarder's sums keep departure figures null (and so load factor and free TEU)", () => {
    fc.assert(
      fc.property(fc.array(sumsArb.map((s) => ({ ...s, departures: null, capacityTeu: null, heldTeu: null })), { maxLength: 5 }), (xs) => {
        const total = xs.reduce(addSums, emptySums(true));
        const m = metricsOf(total, { teuPerTruck });
        expect([m.departures, m.capacityTeu, m.heldTeu, m.freeTeu, m.loadFactor]).toEqual([null, null, null, null, null]);
        expect(m.bookedTeu).toBe(xs.reduce((a, s) => a + s.bookedTeu, 0));
      }),
    );
  });

  it("a row without detail: exactly API.md's figures (and departures, CO2e saved), each as metricsOf gives it, in its order", () => {
    const slim = ['departures', 'capacityTeu', 'bookedTeu', 'heldTeu', 'loadFactor', 'revenueCents', 'avgUnitPriceCents', 'co2eKg', 'roadCo2eKg', 'co2eSavedKg', 'trucksAvoided'];
    fc.assert(
      fc.property(sumsArb, fc.boolean(), (s0, forwarder) => {
        const s = forwarder ? { ...s0, departures: null, capacityTeu: null, heldTeu: null } : s0;
        const full = metricsOf(s, { teuPerTruck }) as unknown as Record<string, unknown>;
        const m = slimMetricsOf(s, { teuPerTruck });
        expect(Object.keys(m)).toEqual(slim);
        expect(Object.keys(full).filter((k) => slim.includes(k))).toEqual(slim);
        expect(m).toEqual(Object.fromEntries(slim.map((k) => [k, full[k]])));
      }),
    );
  });

  it('clearing vs reserve: the clearing premium over the reserve in %, null without a reserve', () => {
    expect(clearingVsReservePct(120_000, 100_000)).toBe(20);
    expect(clearingVsReservePct(100_000, 100_000)).toBe(0);
    expect(clearingVsReservePct(5, 0)).toBeNull();
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 100 }), (c, r, n) => {
      expect(clearingVsReservePct(c * n, r * n)).toBe(clearingVsReservePct(c, r)); // per-TEU prices, whatever the volume
    }));
  });
});

describe('stats core: change vs the previous period', () => {
  it('percent change is null against 0, else (cur − prev) / |prev|; load factor change in points', () => {
    fc.assert(
      fc.property(sumsArb, sumsArb, (a, b) => {
        const cur = metricsOf(a, { teuPerTruck });
        const prev = metricsOf(b, { teuPerTruck });
        const c = changeOf(cur, prev);
        if (prev.bookedTeu === 0) expect(c.bookedTeuPct).toBeNull();
        else expect(Math.abs(c.bookedTeuPct! - ((cur.bookedTeu - prev.bookedTeu) / prev.bookedTeu) * 100)).toBeLessThanOrEqual(0.05 + 1e-9);
        if (cur.loadFactor === null || prev.loadFactor === null) expect(c.loadFactorPts).toBeNull();
        else expect(Math.abs(c.loadFactorPts! - (cur.loadFactor - prev.loadFactor) * 100)).toBeLessThanOrEqual(0.05 + 1e-9);
        expect(changeOf(cur, cur)).toEqual({
          loadFactorPts: cur.loadFactor === null ? null : 0,
          bookedTeuPct: cur.bookedTeu ? 0 : null,
          co2eSavedKgPct: cur.co2eSavedKg ? 0 : null,
          trucksAvoidedPct: cur.trucksAvoided ? 0 : null,
          revenueCentsPct: cur.revenueCents ? 0 : null,
        });
      }),
    );
  });
});

describe('stats core: date ranges', () => {
  const now = new Date('2026-12-03T09:00:00Z');

  it('defaults to the 30 days up to today (UTC)', () => {
    expect(resolveRange({}, now)).toEqual({ ok: true, range: { from: '2026-11-04', to: '2026-12-03', days: 30 } });
    expect(resolveRange({ to: '2026-06-30' }, now)).toEqual({ ok: true, range: { from: '2026-06-01', to: '2026-06-30', days: 30 } });
  });

  it('accepts any valid range of 1..366 days, refuses to < from (invalid_range) and longer ranges (range_too_large)', () => {
    fc.assert(
      fc.property(dayArb, fc.integer({ min: -400, max: 400 }), (from, n) => {
        const to = addDays(from, n);
        const r = resolveRange({ from, to }, now);
        if (n < 0) expect(r).toMatchObject({ ok: false, code: 'invalid_range' });
        else if (n + 1 > MAX_RANGE_DAYS) expect(r).toMatchObject({ ok: false, code: 'range_too_large' });
        else {
          expect(r).toEqual({ ok: true, range: { from, to, days: n + 1 } });
          if (!r.ok) return;
          const { start, end } = rangeBounds(r.range);
          expect((end.getTime() - start.getTime()) / DAY).toBe(n + 1);
          const p = previousRange(r.range);
          expect(p.days).toBe(r.range.days);
          expect(addDays(p.to, 1)).toBe(from);
          expect(Math.round((parseDay(p.to)! - parseDay(p.from)!) / DAY) + 1).toBe(p.days);
        }
      }),
    );
  });

  it('refuses impossible days and years outside 2000–2100 (invalid_date)', () => {
    for (const bad of ['2026-02-29', '2026-02-30', '2026-13-01', '2026-00-10', '2026-04-31', '1999-12-31', '2101-01-01', '26-01-01', '2026-1-01']) {
      expect(resolveRange({ from: bad, to: '2026-12-01' }, now)).toMatchObject({ ok: false, code: 'invalid_date' });
    }
    expect(parseDay('2028-02-29')).toBe(Date.UTC(2028, 1, 29));
  });
});

describe('stats core: price index', () => {
  it("is 100 at each corridor's first period with bookings and proportional to the average price after", () => {
    const pointArb = fc.record({
      corridor: fc.constantFrom('A', 'B', 'C'),
      week: fc.integer({ min: 0, max: 20 }),
      bookedTeu: fc.integer({ min: 0, max: 50 }),
      unit: fc.integer({ min: 1, max: 200_000 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(pointArb, { selector: (p) => `${p.corridor}${p.week}` }), (pts) => {
        const rows = priceIndex(pts.map((p) => ({
          corridorId: p.corridor, corridorCode: `C-${p.corridor}`, period: addDays('2026-01-05', 7 * p.week), bookedTeu: p.bookedTeu, revenueCents: p.bookedTeu * p.unit,
        })));
        expect(rows).toHaveLength(pts.length);
        for (const c of ['A', 'B', 'C']) {
          const mine = rows.filter((r) => r.corridorId === c);
          expect(mine.map((r) => r.period)).toEqual([...mine.map((r) => r.period)].sort());
          const first = mine.find((r) => r.avgUnitPriceCents !== null);
          if (!first) continue;
          expect(first.index).toBe(100);
          for (const r of mine) {
            if (r.avgUnitPriceCents === null) expect(r.index).toBeNull();
            else if (r.period >= first.period) expect(Math.abs(r.index! - (r.avgUnitPriceCents / first.avgUnitPriceCents!) * 100)).toBeLessThanOrEqual(0.05 + 1e-9);
            else throw new Error('a priced period before the base');
          }
        }
      }),
    );
  });
});

describe('stats core: CSV', () => {
  it('flattens byFormat and auction as the contract names them', () => {
    const m = metricsOf(emptySums(), { teuPerTruck });
    const flat = flattenRow({ corridorId: 'x', day: '2026-01-01', ...m } as unknown as Record<string, unknown>);
    expect(Object.keys(flat)).toEqual(expect.arrayContaining(['fixedTeu', 'fixedRevenueCents', 'fixedAvgUnitPriceCents', 'sealedTeu', 'auctionAwardedTeu', 'auctionClearingCents', 'auctionReserveCents', 'auctionClearingVsReservePct', 'loadFactor', 'corridorId', 'day']));
    expect(Object.values(flat).every((v) => v === null || typeof v !== 'object')).toBe(true);
    expect(flattenRow({ change: { loadFactorPts: 1 } })).toEqual({ changeLoadFactorPts: 1 });
  });

  it('with columns, reads each column by its path: the same CSV as flattening every row', () => {
    fc.assert(
      fc.property(fc.array(sumsArb, { maxLength: 6 }), fc.boolean(), (sums, withChange) => {
        const rows = sums.map((s, i) => ({ corridorId: `c${i}`, day: '2026-01-01', ...metricsOf(s, { teuPerTruck }), ...(withChange && i === 0 ? { change: { loadFactorPts: 1 } } : {}) }));
        const cols = ['corridorId', 'day', ...Object.keys(flattenRow(metricsOf(emptySums(), { teuPerTruck }) as unknown as Record<string, unknown>)), 'changeLoadFactorPts'];
        const reference = [cols.join(','), ...rows.map((r) => { const f = flattenRow(r); return cols.map((c) => csvCell(f[c])).join(','); })].join('\r\n') + '\r\n';
        expect(toCsv(rows, cols)).toBe(reference);
      }),
    );
  });

  it('round-trips any text through RFC 4180 quoting; formula-like text is defused', () => {
    /** A minimal RFC 4180 reader, for the round trip. */
    const parse = (csv: string): string[][] => {
      const out: string[][] = [];
      let row: string[] = [];
      let cell = '';
      let quoted = false;
      for (let i = 0; i < csv.length; i++) {
        const ch = csv[i]!;
        if (quoted) {
          if (ch === '"' && csv[i + 1] === '"') {
            cell += '"';
            i++;
          } else if (ch === '"') quoted = false;
          else cell += ch;
        } else if (ch === '"') quoted = true;
        else if (ch === ',') {
          row.push(cell);
          cell = '';
        } else if (ch === '\r' && csv[i + 1] === '\n') {
          row.push(cell);
          out.push(row);
          row = [];
          cell = '';
          i++;
        } else cell += ch;
      }
      return out;
    };
    fc.assert(
      fc.property(fc.array(fc.record({ a: fc.string(), n: fc.integer(), z: fc.constantFrom(null, true) }), { maxLength: 8 }), (rows) => {
        const parsed = parse(toCsv(rows, ['a', 'n', 'z']));
        expect(parsed[0]).toEqual(['a', 'n', 'z']);
        expect(parsed).toHaveLength(rows.length + 1);
        rows.forEach((r, i) => {
          const cell = parsed[i + 1]![0]!;
          expect(/^[=+\-@\t\r]/.test(r.a) ? cell === `'${r.a}` : cell === r.a).toBe(true);
          expect(parsed[i + 1]![1]).toBe(String(r.n));
          expect(parsed[i + 1]![2]).toBe(r.z === null ? '' : 'true');
        });
      }),
    );
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
  });
});
