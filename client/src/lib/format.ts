const dtf = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  weekday: 'short',
  day: '2-digit',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const dayFmt = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: '2-digit', month: 'short' });
const timeFmt = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const num = new Intl.NumberFormat('en-GB');
const eur = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR' });

/** "Mon 03 Mar 14:30" (UTC) */
export function fmtDateTime(iso: string | undefined | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return dtf.format(d).replace(',', '');
}

export function fmtDay(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : dayFmt.format(d).replace(',', '');
}

export function fmtTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : timeFmt.format(d);
}

/** "1d 04h" / "18h 20m" */
export function fmtDuration(fromIso: string, toIso: string): string {
  const ms = new Date(toIso).getTime() - new Date(fromIso).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '';
  const m = Math.round(ms / 60000);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  const mm = m % 60;
  if (d > 0) return `${d}d ${String(h).padStart(2, '0')}h`;
  return `${h}h ${String(mm).padStart(2, '0')}m`;
}

export function fmtNum(n: number | undefined | null): string {
  return n === undefined || n === null || Number.isNaN(n) ? '—' : num.format(n);
}

export function fmtMoney(cents: number | undefined | null): string {
  return cents === undefined || cents === null ? '—' : eur.format(cents / 100);
}

export function fmtKg(kg: number | undefined | null): string {
  if (kg === undefined || kg === null) return '—';
  if (Math.abs(kg) >= 10000) return `${num.format(Math.round(kg / 100) / 10)} t`;
  return `${num.format(Math.round(kg))} kg`;
}

/** countdown "04:59" or "1:02:03" */
export function fmtCountdown(ms: number): string {
  if (ms <= 0) return '0:00';
  const s = Math.floor(ms / 1000);
  // a day or more is said in days and hours, as the auctions list does ("94:59:44" read as a clock time)
  if (s >= 86_400) return daysHours(Math.floor(s / 3600));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(ss).padStart(2, '0')}` : `${m}:${String(ss).padStart(2, '0')}`;
}

/** yyyy-mm-dd (UTC) → { after, before } ISO bounds of that UTC day */
export function utcDayBounds(day: string): { after: string; before: string } | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const start = new Date(day + 'T00:00:00.000Z');
  if (Number.isNaN(start.getTime())) return null;
  const end = new Date(start.getTime() + 86400000);
  return { after: start.toISOString(), before: end.toISOString() };
}

export function shortId(id: string | undefined | null) {
  return id ? id.slice(0, 8) : '—';
}

/** used share 0..1 */
export function loadShare(free: number, total: number) {
  if (!total || total <= 0) return 0;
  return Math.min(1, Math.max(0, (total - free) / total));
}

export function loadLevel(share: number): 'low' | 'mid' | 'high' {
  return share >= 0.85 ? 'high' : share >= 0.6 ? 'mid' : 'low';
}

/** a span of seconds in words: "2 minutes", "90 seconds", "1 hour" */
export function fmtSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const unit = (n: number, word: string) => `${num.format(n)} ${word}${n === 1 ? '' : 's'}`;
  if (s >= 3600 && s % 3600 === 0) return unit(s / 3600, 'hour');
  if (s >= 60 && s % 60 === 0) return unit(s / 60, 'minute');
  return unit(s, 'second');
}

/** time left until an instant, in words: "45 s", "35 min", "2 h 05 min", "3 d 4 h" ("0 s" once it has passed) */
export function fmtTimeLeft(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${String(m % 60).padStart(2, '0')} min` : `${h} h`;
  return daysHours(h);
}

/** Whole hours as "3 d 4 h" (or "3 d"). */
function daysHours(h: number): string {
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** "DEDUI-CHBSL-barge" → "DEDUI → CHBSL · barge" (a corridor's code as the rest of the app shows a corridor). */
export function fmtCorridorCode(code: string): string {
  const m = /^([A-Z0-9]+)-([A-Z0-9]+)-([a-z]+)$/.exec(code);
  return m ? `${m[1]} → ${m[2]} · ${m[3]}` : code;
}

/** "1 departure", "4 departures" (regular English plurals only). */
export function plural(n: number, noun: string): string {
  return `${num.format(n)} ${noun}${n === 1 ? '' : 's'}`;
}
