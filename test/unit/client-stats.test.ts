import { describe, expect, it } from 'vitest';
import { csvField, csvUrl, toCsv } from '../../client/src/lib/csv.ts';
import {
  addDays, daysBetween, filtersFromQuery, filtersToQuery, fmtAsOf, partsTouched, periodDays, priceIndexSeries, seriesByDay,
} from '../../client/src/lib/stats-data.ts';
import type { DayRow, PriceIndexRow } from '../../client/src/lib/types.ts';

const UUID = '0b6a3c1e-5f1d-4c39-9d57-2a8f3e7b9c10';

describe('client: dashboard filters in the route query', () => {
  it('defaults to the last 30 days and leaves the defaults out of the URL again', () => {
    const f = filtersFromQuery({}, '2026-03-31');
    expect(f).toEqual({ from: '2026-03-02', to: '2026-03-31', cluster: '', corridorId: '', mode: '', operatorOrgId: '' });
    expect(periodDays(f)).toBe(30);
    expect(Object.values(filtersToQuery(f, '2026-03-31')).filter(Boolean)).toEqual([]);
  });

  it('keeps valid values, drops bad ones and swaps a reversed period', () => {
    const f = filtersFromQuery({ from: '2026-02-10', to: '2026-01-01', cluster: 'dedui', corridorId: UUID, mode: 'barge', operatorOrgId: 'x' }, '2026-03-31');
    expect(f).toEqual({ from: '2026-01-01', to: '2026-02-10', cluster: 'DEDUI', corridorId: UUID, mode: 'barge', operatorOrgId: '' });
    expect(filtersToQuery(f, '2026-03-31')).toMatchObject({ from: '2026-01-01', to: '2026-02-10', cluster: 'DEDUI', mode: 'barge' });
    const bad = filtersFromQuery({ from: '2026-13-45', to: 'today', cluster: '<script>', mode: 'truck', corridorId: 'DROP TABLE' }, '2026-03-31');
    expect(bad).toEqual(filtersFromQuery({}, '2026-03-31'));
  });

  it('counts UTC days across month ends and leap days', () => {
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(daysBetween('2026-12-30', '2027-01-02')).toEqual(['2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02']);
    expect(daysBetween('2026-01-02', '2026-01-01')).toEqual([]);
    expect(fmtAsOf('2026-03-03T14:03:22.517Z')).toBe('14:03:22');
    expect(fmtAsOf('nonsense')).toBe('');
  });
});

describe('client: shaping statistics for the charts', () => {
  const row = (day: string, co2eSavedKg: number, loadFactor: number | null) => ({ day, co2eSavedKg, loadFactor }) as unknown as DayRow;

  it('puts a by-day answer on every day: a gap for a ratio, 0 for a sum', () => {
    const days = ['2026-03-01', '2026-03-02', '2026-03-03'];
    const rows = [row('2026-03-01', 1200, 0.5), row('2026-03-03', 300, null)];
    expect(seriesByDay(days, rows, (m) => m.loadFactor)).toEqual([0.5, null, null]);
    expect(seriesByDay(days, rows, (m) => m.co2eSavedKg, 0)).toEqual([1200, 0, 300]);
  });

  it('draws a price-index line per corridor, the corridors with most TEU first, gaps where a week has no bookings', () => {
    const p = (corridorId: string, period: string, bookedTeu: number, index: number | null): PriceIndexRow => ({
      corridorId, corridorCode: `C-${corridorId}`, period, bookedTeu, avgUnitPriceCents: index === null ? null : index * 100, index,
    });
    const rows = [p('a', '2026-03-02', 2, 100), p('b', '2026-03-02', 10, 100), p('b', '2026-03-09', 10, 95), p('c', '2026-03-09', 1, 100), p('a', '2026-03-16', 2, 110)];
    const s = priceIndexSeries(rows, 2);
    expect(s.labels).toEqual(['2026-03-02', '2026-03-09', '2026-03-16']);
    expect(s.series).toEqual([
      { label: 'C-b', data: [100, 95, null] },
      { label: 'C-a', data: [100, null, 110] },
    ]);
    expect(s.corridors).toBe(3);
  });
});

describe('client: CSV export', () => {
  it('quotes what needs quoting and defuses spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField(-12.5)).toBe('-12.5');
    expect(csvField(null)).toBe('');
    expect(csvField(Number.NaN)).toBe('');
    expect(toCsv(['corridor', 'day'], [['DEDUI → ITBLQ', 62.5], ['x\ny', null]])).toBe('corridor,day\r\nDEDUI → ITBLQ,62.5\r\n"x\ny",\r\n');
  });

  it('links to the server CSV of the same request', () => {
    expect(csvUrl('/stats/utilisation', { groupBy: 'corridor', from: '2026-03-01', cluster: '', mode: undefined })).toBe(
      '/api/stats/utilisation?groupBy=corridor&from=2026-03-01&format=csv',
    );
  });
});

describe('which parts of a dashboard a stats:update touches', () => {
  const w = { from: '2026-11-06', to: '2026-12-05', aheadFrom: '2026-12-05', aheadTo: '2026-12-18' };
  it('a booking for next week: the look-ahead and the moment, not the last 30 days', () => {
    expect([...partsTouched(['2026-12-10'], w)].sort()).toEqual(['activity', 'atRisk', 'corridorDays', 'corridors']);
  });
  it('today: both windows; a day of the previous period: the KPIs (they compare with it); no days: everything', () => {
    expect(partsTouched(['2026-12-05'], w).size).toBe(9);
    expect([...partsTouched(['2026-10-20'], w)].sort()).toEqual(['activity', 'atRisk', 'kpis']);
    expect([...partsTouched(['2026-10-06'], w)].sort()).toEqual(['activity', 'atRisk']);
    expect(partsTouched([], w).size).toBe(9);
    expect(partsTouched(undefined, w).size).toBe(9);
  });
});
