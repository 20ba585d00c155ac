/**
 * The plan of the demo network's history (server/seed/history.ts carries it out through the services): which
 * past departures ran, how full they were sold — with a weekly and a seasonal pattern — who booked what when,
 * which bookings were cancelled, and the prices. Pure: plain data in, plain data out, time passed in, one
 * seeded PRNG, so the same seed on the same network plans the same history.
 */
import { expandTimetable, type PlannedDeparture, type WeeklyService } from '../core/timetable.ts';
import type { Rng } from '../core/rng.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Gaussian bump of width `sigma` days around day-of-year `centre`, on the circle of a year. */
function bump(dayOfYear: number, centre: number, sigma: number): number {
  const d = Math.min(Math.abs(dayOfYear - centre), 365 - Math.abs(dayOfYear - centre));
  return Math.exp(-(d * d) / (2 * sigma * sigma));
}

/** Day of the year, 0-based (UTC). */
function dayOfYear(t: number): number {
  const d = new Date(t);
  return Math.floor((t - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY);
}

/**
 * Demand by weekday of departure (UTC; ISO 1 = Monday … 7 = Sunday): peaks on Monday and Friday (cargo
 * leaving for and after the week's production), troughs at the weekend.
 */
export const WEEKDAY_FACTOR: Record<number, number> = { 1: 1.1, 2: 1.0, 3: 0.98, 4: 1.04, 5: 1.14, 6: 0.78, 7: 0.64 };

/** Demand factor of a departure's weekday. */
export function weekdayFactor(t: number): number {
  const wd = new Date(t).getUTCDay();
  return WEEKDAY_FACTOR[wd === 0 ? 7 : wd]!;
}

/**
 * Demand by season: a summer dip (−24 % around 8 August: plant holidays), a pre-Christmas peak (+15 % around
 * 1 December: retail stock), the Christmas / New Year trough (−40 % around 29 December) and a spring bump
 * (+6 % around 25 March: end of the quarter).
 */
export function seasonFactor(t: number): number {
  const doy = dayOfYear(t);
  return 1 - 0.24 * bump(doy, 219, 16) + 0.15 * bump(doy, 334, 14) - 0.4 * bump(doy, 362, 5) + 0.06 * bump(doy, 83, 18);
}

/** Sizes of one booking in TEU, by mode: a few boxes by rail, larger lots on a barge (≈ 9 bookings a departure). */
const SIZE: Record<'rail' | 'barge', [number, number]> = { rail: [2, 10], barge: [8, 30] };
/** Mean lead time (cut-off − booking), days, by mode. */
const LEAD_DAYS: Record<'rail' | 'barge', number> = { rail: 4, barge: 6 };
/** Share of bookings cancelled later. */
export const CANCEL_SHARE = 0.06;
/** Share of departures that sell badly whatever the season (below their minimum load: at risk). */
export const LIGHT_SHARE = 0.07;
/** Share of departures that also get a falling-price listing three days before the cut-off. */
export const FALLING_SHARE = 0.1;
/** Most of a departure one forwarder books over its life, in % (keeps every batch within the held share). */
export const FORWARDER_SHARE_PCT = 45;
/** How often each forwarder books (forwarder1 is the busiest). */
const FORWARDER_WEIGHTS = [0.34, 0.28, 0.22, 0.16];

/** A service as history plans it: the timetable plus the corridor's mode. */
export interface HistoryService extends WeeklyService {
  mode: 'rail' | 'barge';
}

/** One run of a service in the past; `run` > 0 for the extra runs of `scale`. */
export interface HistoryRun extends PlannedDeparture {
  run: number;
}

/**
 * Every run of the services departing in [from, to): the timetable (expandTimetable), times `scale` — each
 * service day gets floor(scale) runs, and one more with probability frac(scale) (so 0.25 keeps a quarter of
 * them); run k departs k × 24 h / ceil(scale) after the timetabled time (so runs of one service never share a
 * departure time). Sorted by departure time.
 */
export function expandHistory(services: HistoryService[], from: Date, to: Date, scale: number, rng: Rng): HistoryRun[] {
  const days = (to.getTime() - from.getTime()) / DAY;
  const base = expandTimetable(services, from, days);
  const n = Math.max(1, Math.ceil(scale));
  const step = DAY / n;
  const out: HistoryRun[] = [];
  for (const p of base) {
    const runs = Math.floor(scale) + (rng.next() < scale - Math.floor(scale) ? 1 : 0);
    for (let k = 0; k < runs; k++) {
      const off = k * step;
      if (p.departsAt.getTime() + off >= to.getTime()) break;
      out.push({
        ...p,
        run: k,
        assetName: k === 0 ? p.assetName : `${p.assetName} (${k + 1})`,
        departsAt: new Date(p.departsAt.getTime() + off),
        arrivesAt: new Date(p.arrivesAt.getTime() + off),
        cutoffAt: new Date(p.cutoffAt.getTime() + off),
      });
    }
  }
  return out.sort((a, b) => a.departsAt.getTime() - b.departsAt.getTime() || (a.serviceCode < b.serviceCode ? -1 : 1) || a.run - b.run);
}

/** One booking of the plan: who, how much, on which listing, when; and when it is cancelled, if it is. */
export interface PlannedBooking {
  forwarder: number;
  teu: number;
  tonnes: number;
  listing: 'fixed' | 'falling';
  at: number;
  cancelAt: number | null;
}

/** What happens to one past departure. */
export interface DeparturePlan {
  /** Load the market wanted (0..1). */
  target: number;
  /** TEU of the fixed listing and its price per TEU. */
  fixedTeu: number;
  fixedPriceCents: number;
  /** The fixed listing opens (is created) then. */
  listedAt: number;
  falling: { teu: number; startCents: number; floorCents: number; opensAt: number } | null;
  bookings: PlannedBooking[];
}

const round100 = (c: number) => Math.max(100, Math.round(c / 100) * 100);

/**
 * The price per TEU of a service's departure at `t`: the service's price moved by the season (± a few %) and
 * a slow upward trend (+4 % a year up to `end`), to whole euros.
 */
export function historicPrice(unitPriceCents: number, t: number, end: number): number {
  const season = seasonFactor(t);
  const trend = 1 - 0.04 * Math.max(0, (end - t) / (365 * DAY));
  return round100(unitPriceCents * (0.85 + 0.15 * season) * trend);
}

/**
 * Plans one departure: its target load (base 64 % × weekday × season × noise; a few light ones), the listings
 * that sell it (a fixed one for the demand and a little spare; sometimes a falling one in the last three days)
 * and the bookings that reach the target — forwarders by weight, each within FORWARDER_SHARE_PCT of the
 * departure, booked some days before the cut-off (falling: while it falls), a few cancelled before departure.
 */
export function planDeparture(
  dep: { departsAt: number; cutoffAt: number; capacityTeu: number; capacityTonnes: number; mode: 'rail' | 'barge'; unitPriceCents: number; listedTeu: number },
  rng: Rng,
  o: { forwarders: number; end: number; /** multiplies booking sizes (default 1) */ lotSize?: number },
): DeparturePlan {
  const cap = dep.capacityTeu;
  const light = rng.next() < LIGHT_SHARE;
  const target = light
    ? 0.08 + rng.next() * 0.22
    : Math.min(0.96, Math.max(0.05, 0.64 * weekdayFactor(dep.departsAt) * seasonFactor(dep.departsAt) * (0.85 + 0.3 * rng.next())));
  const price = historicPrice(dep.unitPriceCents, dep.departsAt, o.end);
  const fallingTeu = !light && rng.next() < FALLING_SHARE ? Math.max(2, Math.round(cap * (0.06 + rng.next() * 0.08))) : 0;
  const fallingOpens = dep.cutoffAt - 72 * HOUR;
  const tonnesPerTeu = Math.max(1, Math.floor((0.8 * dep.capacityTonnes) / cap));
  const lot = o.lotSize ?? 1;
  const [lo, hi] = SIZE[dep.mode].map((x) => Math.max(1, Math.round(x * lot))) as [number, number];
  const shareCap = Math.floor((cap * FORWARDER_SHARE_PCT) / 100);
  const byForwarder = new Array<number>(o.forwarders).fill(0);

  const bookings: PlannedBooking[] = [];
  const want = Math.round(target * cap);
  let fixedBooked = 0;
  let fallingBooked = 0;
  for (let sum = 0; sum < want; ) {
    const teu = Math.min(want - sum, rng.int(lo, Math.min(hi, Math.max(lo, Math.floor(cap / 6)))));
    let f = pickWeighted(rng, o.forwarders);
    for (let k = 0; k < o.forwarders && byForwarder[f]! + teu > shareCap; k++) f = (f + 1) % o.forwarders;
    if (byForwarder[f]! + teu > shareCap) break;
    const onFalling = fallingTeu - fallingBooked >= teu && rng.next() < 0.3;
    if (!onFalling && fixedBooked + teu > cap - fallingTeu) break;
    const at = onFalling
      ? fallingOpens + rng.next() * (dep.cutoffAt - 30 * 60_000 - fallingOpens)
      : dep.cutoffAt - 30 * 60_000 - Math.min(21 * DAY, -Math.log(1 - rng.next() * 0.999) * LEAD_DAYS[dep.mode] * DAY);
    const cancelAt = rng.next() < CANCEL_SHARE ? at + 60_000 + rng.next() * Math.max(0, dep.departsAt - 30 * 60_000 - at - 60_000) : null;
    bookings.push({ forwarder: f, teu, tonnes: teu * rng.int(Math.ceil(tonnesPerTeu / 2), tonnesPerTeu), listing: onFalling ? 'falling' : 'fixed', at: Math.round(at), cancelAt: cancelAt === null ? null : Math.round(cancelAt) });
    byForwarder[f]! += teu;
    if (onFalling) fallingBooked += teu;
    else fixedBooked += teu;
    sum += teu;
  }
  const fixedTeu = Math.min(cap - fallingTeu, Math.max(dep.listedTeu, fixedBooked + rng.int(2, 6)));
  const earliest = bookings.reduce((m, b) => Math.min(m, b.at), dep.cutoffAt - 7 * DAY);
  return {
    target,
    fixedTeu,
    fixedPriceCents: price,
    listedAt: earliest - DAY,
    falling: fallingTeu > 0 ? { teu: fallingTeu, startCents: round100(price * 1.1), floorCents: round100(price * 0.7), opensAt: fallingOpens } : null,
    bookings,
  };
}

function pickWeighted(rng: Rng, n: number): number {
  const w = FORWARDER_WEIGHTS.slice(0, n);
  const total = w.reduce((a, b) => a + b, 0) || 1;
  let x = rng.next() * total;
  for (let i = 0; i < w.length; i++) if ((x -= w[i]!) < 0) return i;
  return rng.int(0, n - 1);
}
