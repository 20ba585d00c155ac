/**
 * The settled past of the dashboards (issue 11), pure parts: which departure days an answer may take from
 * memory, a bounded LRU of those days' parts, and the merge of a remembered part with the part read live.
 *
 * Days before (today − 2 days) carry no live held TEU (a hold ends at the latest at its departure's
 * cut-off) and change only through a stats_corridor_day delta of such a day, which gives
 * stats_settled_version a new token (migration 20261203T1600), or a change to such a departure's own row,
 * which does too (migration 20261203T1650): a part remembered under a token is exact for every snapshot that
 * reads the same token. Only groupings whose rows each belong to one day (or one week) are split: corridor ×
 * day, cluster × day, day, per departure, and the price index per day or week. A remembered row's JSON text
 * is kept beside it (RowText), so a large answer serialises only its live rows.
 */

const DAY_MS = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
const dayMs = (d: string) => Date.parse(`${d}T00:00:00Z`);
export const addDays = (d: string, n: number): string => isoDay(dayMs(d) + n * DAY_MS);

/**
 * The first day NOT settled: two days before both the caller's day (`now`: its held TEU is read live from
 * `now` − 2 days on) and the database's UTC day (`dbToday`: the trigger's clock, which keeps one more day of
 * margin); with `week`, moved back to its Monday (a week bucket is never split).
 */
export function settledBefore(now: Date, dbToday: string, bucket?: 'day' | 'week'): string {
  const a = addDays(isoDay(now.getTime()), -2);
  const b = addDays(dbToday, -2);
  const first = a < b ? a : b;
  if (bucket !== 'week') return first;
  const dow = (new Date(dayMs(first)).getUTCDay() + 6) % 7; // Monday 0 (date_trunc('week'))
  return addDays(first, -dow);
}

/** A bounded map (entries, and their summed weight: rows), least recently used out first. */
export class Lru<V> {
  private readonly map = new Map<string, { v: V; w: number }>();
  private weight = 0;
  hits = 0;
  misses = 0;
  constructor(private readonly maxEntries: number, private readonly maxWeight = Infinity) {}
  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, e);
    return e.v;
  }
  /** Keeps `v` (weighing `w`; heavier than the whole cache: not kept). */
  set(key: string, v: V, w = 1): void {
    this.drop(key);
    if (w > this.maxWeight) return;
    this.map.set(key, { v, w });
    this.weight += w;
    while (this.map.size > this.maxEntries || this.weight > this.maxWeight) this.drop(this.map.keys().next().value as string);
  }
  private drop(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.weight -= e.w;
  }
  get size(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
    this.weight = 0;
  }
}

/**
 * Two parts of one answer in its order (`rank` of a row's name — its position in the database's order of
 * the names —, then its day): `settled`, days before `live`'s days. Equal ranks: the settled row first.
 */
export function mergeParts<R>(settled: R[], live: R[], rank: (r: R) => number): R[] {
  if (!settled.length) return live;
  if (!live.length) return settled;
  const out = new Array<R>(settled.length + live.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < settled.length && j < live.length) out[k++] = rank(settled[i]!) <= rank(live[j]!) ? settled[i++]! : live[j++]!;
  while (i < settled.length) out[k++] = settled[i++]!;
  while (j < live.length) out[k++] = live[j++]!;
  return out;
}

/**
 * The JSON text of rows kept in memory, made once per row (a row kept is never changed: the answers
 * share it), and answers written with it.
 */
export class RowText {
  private readonly text = new WeakMap<object, string>();

  /** Makes the text of `rows` now (when they are put in memory). */
  keep(rows: readonly object[]): void {
    for (const r of rows) this.text.set(r, JSON.stringify(r));
  }

  /** `answer` exactly as JSON.stringify writes it, its `rows` from their kept text where there is one. */
  answerJson(answer: { rows: readonly object[] }): string {
    let out = '';
    for (const [k, v] of Object.entries(answer)) {
      if (v === undefined || typeof v === 'function') continue;
      const text = k === 'rows' && Array.isArray(v) ? `[${v.map((r: object) => this.text.get(r) ?? JSON.stringify(r)).join(',')}]` : JSON.stringify(v);
      out += `${out ? ',' : '{'}${JSON.stringify(k)}:${text}`;
    }
    return out ? `${out}}` : '{}';
  }
}
