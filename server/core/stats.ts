/**
 * Statistics, pure: the dashboard figures (API.md "Statistics", `Metrics`) from the sums the rollups keep,
 * the change against the previous period, the price index per corridor, CSV flattening, and the checks of
 * a requested date range. No I/O; `now` is passed in.
 */

export const SALE_FORMATS = ['fixed', 'falling', 'ascending', 'sealed'] as const;
export type SaleFormat = (typeof SALE_FORMATS)[number];

/** Longest range of departure days one request may ask for (inclusive). */
export const MAX_RANGE_DAYS = 366;
/** Most rows one answer may carry; beyond that the request is refused with a hint which filter to add. */
export const MAX_ROWS = 10_000;
/** Default range: the last 30 departure days up to today. */
export const DEFAULT_RANGE_DAYS = 30;
/** Years a day may fall in (keeps every bound a plain ISO timestamp). */
const MIN_YEAR = 2000;
const MAX_YEAR = 2100;
const DAY_MS = 86_400_000;

/**
 * Sums over a set of departures (or of one buyer's bookings), as the rollups keep them. Capacity, held TEU
 * and the departure count are null in a forwarder's scope (its bookings, not departures).
 */
export interface StatsSums {
  departures: number | null;
  capacityTeu: number | null;
  heldTeu: number | null;
  bookings: number;
  bookedTeu: number;
  revenueCents: number;
  co2eKg: number;
  roadCo2eKg: number;
  cancellations: number;
  cancelledTeu: number;
  cancellationFeesCents: number;
  formatTeu: Record<SaleFormat, number>;
  formatRevenueCents: Record<SaleFormat, number>;
  auctionAwardedTeu: number;
  auctionClearingCents: number;
  auctionReserveCents: number;
}

/** The sums a utilisation row without detail needs (`detail=slim`): no formats, auctions or cancellations. */
export type SlimSums = Pick<StatsSums, 'departures' | 'capacityTeu' | 'heldTeu' | 'bookedTeu' | 'revenueCents' | 'co2eKg' | 'roadCo2eKg'>;

export interface FormatMetrics {
  teu: number;
  revenueCents: number;
  avgUnitPriceCents: number | null;
}

/** The `Metrics` object of API.md. */
export interface Metrics {
  departures: number | null;
  capacityTeu: number | null;
  bookedTeu: number;
  heldTeu: number | null;
  freeTeu: number | null;
  /** bookedTeu / capacityTeu, 0..1 (4 decimals); null without capacity. */
  loadFactor: number | null;
  revenueCents: number;
  avgUnitPriceCents: number | null;
  bookings: number;
  cancellations: number;
  cancelledTeu: number;
  cancellationFeesCents: number;
  co2eKg: number;
  roadCo2eKg: number;
  co2eSavedKg: number;
  trucksAvoided: number;
  byFormat: Record<SaleFormat, FormatMetrics>;
  auction: { awardedTeu: number; clearingCents: number; reserveCents: number; clearingVsReservePct: number | null };
}

const zeroFormats = (): Record<SaleFormat, number> => ({ fixed: 0, falling: 0, ascending: 0, sealed: 0 });

/** Sums of nothing: zero departures in the network scopes, null departure figures in a forwarder's. */
export function emptySums(forwarder = false): StatsSums {
  return {
    departures: forwarder ? null : 0,
    capacityTeu: forwarder ? null : 0,
    heldTeu: forwarder ? null : 0,
    bookings: 0,
    bookedTeu: 0,
    revenueCents: 0,
    co2eKg: 0,
    roadCo2eKg: 0,
    cancellations: 0,
    cancelledTeu: 0,
    cancellationFeesCents: 0,
    formatTeu: zeroFormats(),
    formatRevenueCents: zeroFormats(),
    auctionAwardedTeu: 0,
    auctionClearingCents: 0,
    auctionReserveCents: 0,
  };
}

/** a + b, field by field (a null departure figure stays null only when both are). */
export function addSums(a: StatsSums, b: StatsSums): StatsSums {
  return accumulate(accumulate(emptySums(a.departures === null && b.departures === null), a), b);
}

/**
 * Adds `s` into `into` in place and returns `into` (totals over many rows without an object per row). A null
 * departure figure of `s` adds nothing; `into`'s stays null until a number is added.
 */
export function accumulate(into: StatsSums, s: StatsSums): StatsSums {
  if (s.departures !== null) into.departures = (into.departures ?? 0) + s.departures;
  if (s.capacityTeu !== null) into.capacityTeu = (into.capacityTeu ?? 0) + s.capacityTeu;
  if (s.heldTeu !== null) into.heldTeu = (into.heldTeu ?? 0) + s.heldTeu;
  into.bookings += s.bookings;
  into.bookedTeu += s.bookedTeu;
  into.revenueCents += s.revenueCents;
  into.co2eKg += s.co2eKg;
  into.roadCo2eKg += s.roadCo2eKg;
  into.cancellations += s.cancellations;
  into.cancelledTeu += s.cancelledTeu;
  into.cancellationFeesCents += s.cancellationFeesCents;
  for (const f of SALE_FORMATS) {
    into.formatTeu[f] += s.formatTeu[f];
    into.formatRevenueCents[f] += s.formatRevenueCents[f];
  }
  into.auctionAwardedTeu += s.auctionAwardedTeu;
  into.auctionClearingCents += s.auctionClearingCents;
  into.auctionReserveCents += s.auctionReserveCents;
  return into;
}

/** Rounds half away from zero to `decimals` places (figures for people, not money). */
export function roundTo(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
}

/** Integer cents per TEU, rounded; null when no TEU. */
export function avgUnitPrice(revenueCents: number, teu: number): number | null {
  return teu > 0 ? Math.round(revenueCents / teu) : null;
}

/** Booked TEU / capacity TEU (0..1, 4 decimals); null without capacity. */
export function loadFactor(bookedTeu: number, capacityTeu: number | null): number | null {
  return capacityTeu !== null && capacityTeu > 0 ? roundTo(bookedTeu / capacityTeu, 4) : null;
}

/** Trucks a booked volume keeps off the road: round(TEU / TEU per truck). */
export function trucksAvoided(bookedTeu: number, teuPerTruck: number): number {
  return teuPerTruck > 0 ? Math.round(bookedTeu / teuPerTruck) : 0;
}

/** (clearing − reserve) / reserve in %, 1 decimal; null without a reserve. */
export function clearingVsReservePct(clearingCents: number, reserveCents: number): number | null {
  return reserveCents > 0 ? roundTo(((clearingCents - reserveCents) / reserveCents) * 100, 1) : null;
}

/** The figures of API.md from sums. */
export function metricsOf(s: StatsSums, o: { teuPerTruck: number }): Metrics {
  const fmt = (f: SaleFormat): FormatMetrics => ({
    teu: s.formatTeu[f],
    revenueCents: s.formatRevenueCents[f],
    avgUnitPriceCents: avgUnitPrice(s.formatRevenueCents[f], s.formatTeu[f]),
  });
  return {
    departures: s.departures,
    capacityTeu: s.capacityTeu,
    bookedTeu: s.bookedTeu,
    heldTeu: s.heldTeu,
    freeTeu: s.capacityTeu === null ? null : Math.max(0, s.capacityTeu - s.bookedTeu - (s.heldTeu ?? 0)),
    loadFactor: loadFactor(s.bookedTeu, s.capacityTeu),
    revenueCents: s.revenueCents,
    avgUnitPriceCents: avgUnitPrice(s.revenueCents, s.bookedTeu),
    bookings: s.bookings,
    cancellations: s.cancellations,
    cancelledTeu: s.cancelledTeu,
    cancellationFeesCents: s.cancellationFeesCents,
    co2eKg: s.co2eKg,
    roadCo2eKg: s.roadCo2eKg,
    co2eSavedKg: s.roadCo2eKg - s.co2eKg,
    trucksAvoided: trucksAvoided(s.bookedTeu, o.teuPerTruck),
    byFormat: { fixed: fmt('fixed'), falling: fmt('falling'), ascending: fmt('ascending'), sealed: fmt('sealed') },
    auction: {
      awardedTeu: s.auctionAwardedTeu,
      clearingCents: s.auctionClearingCents,
      reserveCents: s.auctionReserveCents,
      clearingVsReservePct: clearingVsReservePct(s.auctionClearingCents, s.auctionReserveCents),
    },
  };
}

/** The figures of a utilisation row without detail (API.md's row: `detail=slim`), in metricsOf's order. */
export type SlimMetrics = Pick<
  Metrics,
  'departures' | 'capacityTeu' | 'bookedTeu' | 'heldTeu' | 'loadFactor' | 'revenueCents' | 'avgUnitPriceCents' | 'co2eKg' | 'roadCo2eKg' | 'co2eSavedKg' | 'trucksAvoided'
>;

/** The figures of a row without detail from its sums: the same values metricsOf gives those fields. */
export function slimMetricsOf(s: SlimSums, o: { teuPerTruck: number }): SlimMetrics {
  return {
    departures: s.departures,
    capacityTeu: s.capacityTeu,
    bookedTeu: s.bookedTeu,
    heldTeu: s.heldTeu,
    loadFactor: loadFactor(s.bookedTeu, s.capacityTeu),
    revenueCents: s.revenueCents,
    avgUnitPriceCents: avgUnitPrice(s.revenueCents, s.bookedTeu),
    co2eKg: s.co2eKg,
    roadCo2eKg: s.roadCo2eKg,
    co2eSavedKg: s.roadCo2eKg - s.co2eKg,
    trucksAvoided: trucksAvoided(s.bookedTeu, o.teuPerTruck),
  };
}

/** (cur − prev) / prev in %, 1 decimal; null when prev is 0. */
export function pctChange(cur: number, prev: number): number | null {
  return prev !== 0 ? roundTo(((cur - prev) / Math.abs(prev)) * 100, 1) : null;
}

export interface KpiChange {
  /** Load factor difference in percentage points (1 decimal); null when either has no capacity. */
  loadFactorPts: number | null;
  bookedTeuPct: number | null;
  co2eSavedKgPct: number | null;
  trucksAvoidedPct: number | null;
  revenueCentsPct: number | null;
}

/** The KPI tiles' change against the previous period. */
export function changeOf(cur: Metrics, prev: Metrics): KpiChange {
  return {
    loadFactorPts: cur.loadFactor !== null && prev.loadFactor !== null ? roundTo((cur.loadFactor - prev.loadFactor) * 100, 1) : null,
    bookedTeuPct: pctChange(cur.bookedTeu, prev.bookedTeu),
    co2eSavedKgPct: pctChange(cur.co2eSavedKg, prev.co2eSavedKg),
    trucksAvoidedPct: pctChange(cur.trucksAvoided, prev.trucksAvoided),
    revenueCentsPct: pctChange(cur.revenueCents, prev.revenueCents),
  };
}

// ---- price index -----------------------------------------------------------------------------------------

export interface PricePoint {
  corridorId: string;
  corridorCode: string;
  /** YYYY-MM-DD, start of the bucket. */
  period: string;
  bookedTeu: number;
  revenueCents: number;
}
export interface PriceIndexRow {
  corridorId: string;
  corridorCode: string;
  period: string;
  bookedTeu: number;
  avgUnitPriceCents: number | null;
  /** 100 = the corridor's first period with bookings in the range (1 decimal); null without bookings. */
  index: number | null;
}

/** Average price per TEU per corridor and period, indexed to each corridor's first period with bookings. */
export function priceIndex(points: PricePoint[]): PriceIndexRow[] {
  const sorted = [...points].sort((a, b) => (a.corridorCode < b.corridorCode ? -1 : a.corridorCode > b.corridorCode ? 1 : a.period < b.period ? -1 : a.period > b.period ? 1 : 0));
  const base = new Map<string, number>();
  return sorted.map((p) => {
    const avg = avgUnitPrice(p.revenueCents, p.bookedTeu);
    if (avg !== null && avg > 0 && !base.has(p.corridorId)) base.set(p.corridorId, avg);
    const b = base.get(p.corridorId);
    return {
      corridorId: p.corridorId,
      corridorCode: p.corridorCode,
      period: p.period,
      bookedTeu: p.bookedTeu,
      avgUnitPriceCents: avg,
      index: avg !== null && b !== undefined ? roundTo((avg / b) * 100, 1) : null,
    };
  });
}

// ---- date ranges -----------------------------------------------------------------------------------------

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Milliseconds of a real calendar day `YYYY-MM-DD` (UTC midnight) within the supported years, else null. */
export function parseDay(s: string): number | null {
  const m = DAY_RE.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < MIN_YEAR || y > MAX_YEAR || mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  const t = Date.UTC(y, mo - 1, d);
  return new Date(t).getUTCDate() === d ? t : null;
}

export const dayOf = (t: number | Date): string => new Date(t).toISOString().slice(0, 10);
export const addDays = (day: string, n: number): string => dayOf(parseDay(day)! + n * DAY_MS);

export interface DayRange {
  from: string;
  to: string;
  /** Days in the range, both ends included. */
  days: number;
}
export type RangeCheck = { ok: true; range: DayRange } | { ok: false; code: 'invalid_date' | 'invalid_range' | 'range_too_large'; message: string };

/**
 * The range of departure days a request asks for: `from` and `to` inclusive; defaults: `to` = today (UTC)
 * and `from` = `to` − 29 days (`from` alone: up to 29 days later, at most today… or `from` itself when it
 * is later). Refuses impossible dates, `to` before `from` and more than MAX_RANGE_DAYS days.
 */
export function resolveRange(q: { from?: string | undefined; to?: string | undefined }, now: Date): RangeCheck {
  for (const [name, v] of [['from', q.from], ['to', q.to]] as const) {
    if (v !== undefined && parseDay(v) === null) {
      return { ok: false, code: 'invalid_date', message: `${name} must be a calendar day YYYY-MM-DD between ${MIN_YEAR} and ${MAX_YEAR}` };
    }
  }
  const today = dayOf(now);
  let to = q.to;
  let from = q.from;
  if (to === undefined && from === undefined) to = today;
  if (to === undefined) {
    const cap = addDays(from!, DEFAULT_RANGE_DAYS - 1);
    to = cap < today ? cap : today < from! ? from! : today;
  }
  from ??= addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  const f = parseDay(from);
  const t = parseDay(to);
  if (f === null || t === null) return { ok: false, code: 'invalid_date', message: `the default range falls outside ${MIN_YEAR}–${MAX_YEAR}` };
  if (t < f) return { ok: false, code: 'invalid_range', message: `to (${to}) is before from (${from})` };
  const days = Math.round((t - f) / DAY_MS) + 1;
  if (days > MAX_RANGE_DAYS) return { ok: false, code: 'range_too_large', message: `the range spans ${days} days; at most ${MAX_RANGE_DAYS} are allowed` };
  return { ok: true, range: { from, to, days } };
}

/** The same number of days just before `r` (the KPI tiles' comparison period). */
export function previousRange(r: DayRange): DayRange {
  return { from: addDays(r.from, -r.days), to: addDays(r.from, -1), days: r.days };
}

/** The half-open instant bounds [start, end) of a range of UTC days. */
export function rangeBounds(r: { from: string; to: string }): { start: Date; end: Date } {
  return { start: new Date(parseDay(r.from)!), end: new Date(parseDay(r.to)! + DAY_MS) };
}

/** The message of a refused answer that would carry more than MAX_ROWS rows: which filter would help. */
export function tooManyRowsMessage(groupBy: string, has: { corridorId: boolean; cluster: boolean; operatorOrgId: boolean; mode: boolean }): string {
  const hints: string[] = [];
  if (!has.corridorId && groupBy !== 'cluster-day') hints.push('corridorId');
  if (!has.cluster) hints.push('cluster');
  if (!has.mode && !has.corridorId) hints.push('mode');
  if (!has.operatorOrgId && !has.corridorId) hints.push('operatorOrgId');
  const add = hints.length ? `add a filter (${hints.join(', ')}) or shorten the range (from/to)` : 'shorten the range (from/to)';
  return `the answer would exceed ${MAX_ROWS} rows: ${add}${groupBy.endsWith('day') || groupBy === 'departure' ? ', or group by a coarser key' : ''}`;
}

// ---- CSV ---------------------------------------------------------------------------------------------------

type Cell = string | number | boolean | null | undefined;
const capitalise = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

/**
 * One flat record from a nested one: `byFormat.fixed.teu` → `fixedTeu`, `auction.awardedTeu` →
 * `auctionAwardedTeu` (the `byFormat` level is dropped, every other level prefixes its keys).
 */
export function flattenRow(row: Record<string, unknown>, prefix = ''): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const [k, v] of Object.entries(row)) {
    const key = k === 'byFormat' ? '' : prefix ? prefix + capitalise(k) : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      Object.assign(out, flattenRow(v as Record<string, unknown>, key));
    } else {
      out[key] = Array.isArray(v) ? v.join(' ') : (v as Cell);
    }
  }
  return out;
}

/** RFC 4180 quoting; text starting with = + - @ (or a tab / CR) gets a ' so spreadsheets do not run it as a formula. */
export function csvCell(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Where each flattened key of `row` (flattenRow's names) is: `fixedTeu` → ['byFormat', 'fixed', 'teu']. */
function flatPaths(row: Record<string, unknown>, out: Map<string, string[]>, prefix = '', path: string[] = []): Map<string, string[]> {
  for (const [k, v] of Object.entries(row)) {
    const key = k === 'byFormat' ? '' : prefix ? prefix + capitalise(k) : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) flatPaths(v as Record<string, unknown>, out, key, [...path, k]);
    else if (!out.has(key)) out.set(key, [...path, k]);
  }
  return out;
}

/**
 * Rows (nested objects) as CSV: a header of every flattened key in first-seen order (or `columns`), CRLF line
 * ends. With `columns`, each column's place in the rows is found once (rows of one answer share their shape)
 * and read by path, so a large export does not flatten every row.
 */
export function toCsv(rows: Record<string, unknown>[], columns?: string[]): string {
  if (!columns) {
    const flat = rows.map((r) => flattenRow(r));
    const cols: string[] = [];
    const seen = new Set<string>();
    for (const r of flat) {
      for (const k of Object.keys(r)) {
        if (!seen.has(k)) {
          seen.add(k);
          cols.push(k);
        }
      }
    }
    return [cols.join(','), ...flat.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\r\n') + '\r\n';
  }
  const paths = new Map<string, string[]>();
  for (const r of rows) {
    if (columns.every((c) => paths.has(c))) break;
    flatPaths(r, paths);
  }
  const at = columns.map((c) => paths.get(c) ?? [c]);
  const lines = [columns.join(',')];
  for (const r of rows) {
    const cells: string[] = [];
    for (const path of at) {
      let v: unknown = r;
      for (const p of path) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[p];
      cells.push(csvCell((Array.isArray(v) ? v.join(' ') : v) as Cell));
    }
    lines.push(cells.join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
