/**
 * The pure part of the dashboard statistics (no state, no requests): UTC days, the filters in a
 * route's query, and the shaping of the answers for the charts. Tested in test/unit/client-stats.test.ts.
 */
import type { DayRow, Mode, PriceIndexAnswer, SlimMetrics } from './types.ts';

export const DAY_MS = 86_400_000;

// ---- days (UTC calendar dates, YYYY-MM-DD) ----

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return utcDay(Date.parse(day + 'T00:00:00Z') + n * DAY_MS);
}

/** every day from `from` to `to`, inclusive */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to && out.length < 400; d = addDays(d, 1)) out.push(d);
  return out;
}

export function isDay(v: string | undefined): v is string {
  return !!v && DAY_RE.test(v) && !Number.isNaN(Date.parse(v + 'T00:00:00Z'));
}

// ---- filters ----

export interface StatsFilterValues {
  /** period, inclusive departure days */
  from: string;
  to: string;
  /** UN/LOCODE of a cluster: departures from or to it */
  cluster: string;
  corridorId: string;
  mode: '' | Mode;
  operatorOrgId: string;
}

export const PERIOD_DEFAULT_DAYS = 30;

/** The filters in a route's query (`#/dashboard?from=…&to=…&cluster=…`), checked; bad values fall back to the defaults. */
export function filtersFromQuery(q: Record<string, string>, today: string): StatsFilterValues {
  let to = isDay(q.to) ? q.to : today;
  let from = isDay(q.from) ? q.from : addDays(to, -(PERIOD_DEFAULT_DAYS - 1));
  if (from > to) [from, to] = [to, from];
  return {
    from,
    to,
    cluster: q.cluster && /^[A-Za-z0-9]{2,8}$/.test(q.cluster) ? q.cluster.toUpperCase() : '',
    corridorId: q.corridorId && UUID_RE.test(q.corridorId) ? q.corridorId : '',
    mode: q.mode === 'rail' || q.mode === 'barge' ? q.mode : '',
    operatorOrgId: q.operatorOrgId && UUID_RE.test(q.operatorOrgId) ? q.operatorOrgId : '',
  };
}

/** The query of filters for the URL: defaults left out. */
export function filtersToQuery(f: StatsFilterValues, today: string): Record<string, string | undefined> {
  const isDefault = f.to === today && f.from === addDays(today, -(PERIOD_DEFAULT_DAYS - 1));
  return {
    from: isDefault ? undefined : f.from,
    to: isDefault ? undefined : f.to,
    cluster: f.cluster || undefined,
    corridorId: f.corridorId || undefined,
    mode: f.mode || undefined,
    operatorOrgId: f.operatorOrgId || undefined,
  };
}

export function periodDays(f: { from: string; to: string }): number {
  return Math.round((Date.parse(f.to) - Date.parse(f.from)) / DAY_MS) + 1;
}

export type Query = Record<string, string | number | undefined>;

/** The scope filters (everything except the period). */
export function scopeQuery(f: StatsFilterValues, withOperator = true): Query {
  return {
    cluster: f.cluster || undefined,
    corridorId: f.corridorId || undefined,
    mode: f.mode || undefined,
    operatorOrgId: withOperator ? f.operatorOrgId || undefined : undefined,
  };
}

// ---- shaping the answers for the widgets ----

/** "14:03:22" (UTC) of an ISO time; '' when there is none */
export function fmtAsOf(iso: string | null | undefined): string {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? '' : new Date(t).toISOString().slice(11, 19);
}

/** a 0..1 share as whole percent (null stays null) */
export function pct(share: number | null | undefined): number | null {
  return share === null || share === undefined ? null : Math.round(share * 1000) / 10;
}

/**
 * Values of a by-day answer on every day of `days`. A day without a row has nothing booked: `missing`
 * (0 for sums such as CO₂e saved; null — a gap in the line — for a ratio such as the load factor).
 */
export function seriesByDay(days: string[], rows: DayRow[], pick: (m: SlimMetrics) => number | null, missing: number | null = null): (number | null)[] {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  return days.map((d) => {
    const r = byDay.get(d);
    return r ? pick(r) : missing;
  });
}

/** Price index lines: one per corridor, the `limit` corridors with the most TEU first. */
export function priceIndexSeries(rows: PriceIndexAnswer['rows'], limit = 6) {
  const periods = [...new Set(rows.map((r) => r.period))].sort();
  const teu = new Map<string, { code: string; teu: number }>();
  for (const r of rows) {
    const t = teu.get(r.corridorId) ?? { code: r.corridorCode, teu: 0 };
    t.teu += r.bookedTeu;
    teu.set(r.corridorId, t);
  }
  const top = [...teu.entries()].sort((a, b) => b[1].teu - a[1].teu || a[1].code.localeCompare(b[1].code)).slice(0, limit);
  const at = new Map(rows.map((r) => [`${r.corridorId}|${r.period}`, r.index]));
  return {
    labels: periods,
    series: top.map(([id, t]) => ({ label: t.code, data: periods.map((p) => at.get(`${id}|${p}`) ?? null) })),
    corridors: teu.size,
  };
}

// ---- which parts of a dashboard a change touches ----

/** The parts of a dashboard read (as in stats.svelte.ts `StatsPart`). */
export type DashboardPart = 'kpis' | 'corridors' | 'corridorDays' | 'history' | 'modes' | 'priceIndex' | 'atRisk' | 'operators' | 'activity';

/**
 * The parts a `stats:update` touches, from the departure days it names: figures over the period (KPIs also over the
 * period before it), over the look-ahead window, or of the moment (activity, at-risk: always). Without days, all.
 * A dashboard re-read all eight answers on every update, one every 2 s while the simulator ran (a scheduler's review):
 * a booking for next week leaves the last 30 days' figures as they were.
 */
export function partsTouched(days: readonly string[] | undefined, w: { from: string; to: string; aheadFrom: string; aheadTo: string }): Set<DashboardPart> {
  const all: DashboardPart[] = ['kpis', 'corridors', 'corridorDays', 'history', 'modes', 'priceIndex', 'atRisk', 'operators', 'activity'];
  if (!days || days.length === 0) return new Set(all);
  const span = daysBetween(w.from, w.to).length;
  const kpisFrom = addDays(w.from, -Math.max(1, span));
  const within = (a: string, b: string) => days.some((d) => d >= a && d <= b);
  const out = new Set<DashboardPart>(['activity', 'atRisk']);
  if (within(kpisFrom, w.to)) out.add('kpis');
  if (within(w.from, w.to)) for (const p of ['history', 'modes', 'priceIndex', 'operators'] as const) out.add(p);
  if (within(w.aheadFrom, w.aheadTo)) for (const p of ['corridors', 'corridorDays'] as const) out.add(p);
  return out;
}
