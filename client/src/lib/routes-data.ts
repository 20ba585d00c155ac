/**
 * The pure part of "Find a route" (no state, no requests): the search form and its query, sorting the
 * answer, keeping an itinerary in step with live events (free capacity, price steps), the Pareto chart's
 * data and the texts the page shows. Tested in test/unit/client-routes.test.ts.
 *
 * Shapes: ../shared/API.md "Routes and itineraries" (`GET /api/routes`, `/api/itineraries`).
 */
import type { Mode } from './types.ts';
import type { RouteItinerary, RouteLeg, RoutesAnswer } from '../../../server/domain/schemas/routes.ts';
import type { Itinerary, ItineraryLeg } from '../../../server/domain/schemas/itineraries.ts';

/** `GET /api/routes`: `{ itineraries, road, asOf }`; an itinerary's legs, transfers, totals (the server's schema types). */
export type { Itinerary, ItineraryLeg, RouteItinerary, RouteLeg, RoutesAnswer };
export type RouteMode = Mode;
export type LegFormat = RouteLeg['format'];
export type RouteTransfer = RouteItinerary['transfers'][number];
export type RoadAlternative = RoutesAnswer['road'];

export const DAY_MS = 86_400_000;
export const MAX_LEGS = 5;
export const DEFAULT_MAX_LEGS = 3;
/** the longest window between ready-at and deliver-by a search takes (server/domain/schemas/routes.ts) */
export const MAX_WINDOW_DAYS = 21;

// ---- the search form ----

/** What the form holds (datetimes as `<input type=datetime-local>` values, read as UTC; budget in whole euros). */
export interface RouteFormValues {
  from: string;
  to: string;
  teu: number | null;
  tonnes: number | null;
  readyAt: string;
  deliverBy: string;
  rail: boolean;
  barge: boolean;
  maxLegs: number;
  budgetEur: number | null;
}

/** A checked search: what `GET /api/routes` is asked. */
export interface RouteRequest {
  from: string;
  to: string;
  teu: number;
  tonnes: number;
  /** ISO */
  readyAt: string;
  deliverBy: string;
  modes: RouteMode[];
  maxLegs: number;
  maxTotalCents?: number;
}

export type RouteField = 'from' | 'to' | 'teu' | 'tonnes' | 'readyAt' | 'deliverBy' | 'modes' | 'maxLegs' | 'budgetEur';

/** ISO (or epoch ms) → value of a UTC `<input type=datetime-local>`, to the minute. */
export function toUtcInput(t: string | number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 16);
}

/** Value of a UTC `<input type=datetime-local>` → ISO, or null. */
export function fromUtcInput(v: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) return null;
  const d = new Date(v.length === 16 ? v + ':00Z' : v + 'Z');
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Ready now (to the minute), delivered within 7 days (on the hour), both modes, 3 legs at most. */
export function defaultForm(now: number, from = '', to = ''): RouteFormValues {
  const ready = Math.floor(now / 60_000) * 60_000;
  const deliver = Math.ceil((ready + 7 * DAY_MS) / 3_600_000) * 3_600_000;
  return { from, to, teu: 2, tonnes: 24, readyAt: toUtcInput(ready), deliverBy: toUtcInput(deliver), rail: true, barge: true, maxLegs: DEFAULT_MAX_LEGS, budgetEur: null };
}

const CODE_RE = /^[A-Z0-9]{2,8}$/;
const isWhole = (n: number | null): n is number => typeof n === 'number' && Number.isInteger(n);

/** Checks the form; the errors are values, one message per field. */
export function checkRouteForm(v: RouteFormValues): { ok: true; request: RouteRequest } | { ok: false; errors: Partial<Record<RouteField, string>> } {
  const errors: Partial<Record<RouteField, string>> = {};
  if (!CODE_RE.test(v.from)) errors.from = 'Choose where the cargo starts.';
  if (!CODE_RE.test(v.to)) errors.to = 'Choose where the cargo goes.';
  else if (v.to === v.from) errors.to = 'Origin and destination must differ.';
  if (!isWhole(v.teu) || v.teu < 1 || v.teu > 10_000) errors.teu = 'TEU must be a whole number from 1 to 10,000.';
  if (!isWhole(v.tonnes) || v.tonnes < 1 || v.tonnes > 1_000_000) errors.tonnes = 'Tonnes must be a whole number of at least 1.';
  else if (isWhole(v.teu) && v.teu >= 1 && v.tonnes < v.teu) errors.tonnes = 'Give at least 1 tonne per TEU.';
  const readyAt = fromUtcInput(v.readyAt);
  const deliverBy = fromUtcInput(v.deliverBy);
  if (!readyAt) errors.readyAt = 'Enter when the cargo is ready (UTC).';
  if (!deliverBy) errors.deliverBy = 'Enter when it must be delivered (UTC).';
  else if (readyAt && Date.parse(deliverBy) <= Date.parse(readyAt)) errors.deliverBy = 'Deliver-by must be after ready-at.';
  else if (readyAt && Date.parse(deliverBy) - Date.parse(readyAt) > MAX_WINDOW_DAYS * DAY_MS) errors.deliverBy = `Deliver-by can be at most ${MAX_WINDOW_DAYS} days after ready-at.`;
  if (!v.rail && !v.barge) errors.modes = 'Allow rail, barge or both.';
  if (!isWhole(v.maxLegs) || v.maxLegs < 1 || v.maxLegs > MAX_LEGS) errors.maxLegs = `Legs: 1 to ${MAX_LEGS}.`;
  // an empty number field binds null (or undefined): no budget
  const budget = typeof v.budgetEur === 'number' ? v.budgetEur : null;
  if (budget !== null && (!Number.isFinite(budget) || budget <= 0))
    errors.budgetEur = 'The budget must be a positive amount in euros, or empty.';
  if (Object.keys(errors).length) return { ok: false, errors };
  const modes: RouteMode[] = [];
  if (v.rail) modes.push('rail');
  if (v.barge) modes.push('barge');
  const request: RouteRequest = { from: v.from, to: v.to, teu: v.teu!, tonnes: v.tonnes!, readyAt: readyAt!, deliverBy: deliverBy!, modes, maxLegs: v.maxLegs };
  if (typeof budget === 'number') request.maxTotalCents = Math.round(budget * 100);
  return { ok: true, request };
}

/** The query of `GET /api/routes` (and of the page's URL). */
export function requestToQuery(r: RouteRequest): Record<string, string> {
  const q: Record<string, string> = {
    from: r.from, to: r.to, teu: String(r.teu), tonnes: String(r.tonnes), readyAt: r.readyAt, deliverBy: r.deliverBy,
    modes: r.modes.join(','), maxLegs: String(r.maxLegs),
  };
  if (r.maxTotalCents !== undefined) q.maxTotalCents = String(r.maxTotalCents);
  return q;
}

/** A request from the page's URL query (a bookmarked search), or null when it names none or is not valid. */
export function requestFromQuery(q: Record<string, string | undefined>, now?: number): RouteRequest | null {
  const int = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);
  const modes = (q.modes ?? 'rail,barge').split(',');
  const budget = int(q.maxTotalCents);
  // a link that names the cargo but no times (e.g. "find a new route" for a booking that moved): ready now, a week to deliver
  const undated = q.readyAt === undefined && q.deliverBy === undefined && now !== undefined ? defaultForm(now) : null;
  const form: RouteFormValues = {
    from: (q.from ?? '').toUpperCase(),
    to: (q.to ?? '').toUpperCase(),
    teu: int(q.teu),
    tonnes: int(q.tonnes),
    readyAt: undated ? undated.readyAt : q.readyAt ? toUtcInput(q.readyAt) : '',
    deliverBy: undated ? undated.deliverBy : q.deliverBy ? toUtcInput(q.deliverBy) : '',
    rail: modes.includes('rail'),
    barge: modes.includes('barge'),
    maxLegs: int(q.maxLegs) ?? DEFAULT_MAX_LEGS,
    budgetEur: budget === null ? null : budget / 100,
  };
  const r = checkRouteForm(form);
  if (!r.ok) return null;
  if (undated) return r.request;
  // keep the seconds of a bookmarked time
  return { ...r.request, readyAt: new Date(q.readyAt!).toISOString(), deliverBy: new Date(q.deliverBy!).toISOString() };
}

/** The form showing a request. */
export function formFromRequest(r: RouteRequest): RouteFormValues {
  return {
    from: r.from, to: r.to, teu: r.teu, tonnes: r.tonnes, readyAt: toUtcInput(r.readyAt), deliverBy: toUtcInput(r.deliverBy),
    rail: r.modes.includes('rail'), barge: r.modes.includes('barge'), maxLegs: r.maxLegs,
    budgetEur: r.maxTotalCents === undefined ? null : r.maxTotalCents / 100,
  };
}

// ---- live: the legs' departures and listings ----

/** What live events said about one departure since the search. */
export interface DepartureLive {
  freeTeu: number;
  freeTonnes?: number;
  seq?: number;
}
/** What live events said about one listing since the search. */
export interface ListingLive {
  remainingTeu?: number;
  /** the current price per TEU of a falling listing; the lowest winning bid of an ascending one */
  priceCents?: number;
  open: boolean;
}
export interface LiveLegs {
  departures: Record<string, DepartureLive>;
  listings: Record<string, ListingLive>;
}

export function emptyLive(): LiveLegs {
  return { departures: {}, listings: {} };
}

/**
 * `departure:availability` into the live state, if it is one of ours and newer than what we have.
 * 'stale' = older or equal seq; 'applied'; 'ignored' = not a leg of the answer.
 */
export function applyDepartureFrame(live: LiveLegs, known: ReadonlySet<string>, e: { departureId?: string; seq?: number; freeTeu?: number; freeTonnes?: number }): 'stale' | 'applied' | 'ignored' {
  if (!e?.departureId || !known.has(e.departureId) || typeof e.freeTeu !== 'number') return 'ignored';
  const cur = live.departures[e.departureId];
  if (cur && typeof cur.seq === 'number' && typeof e.seq === 'number' && e.seq <= cur.seq) return 'stale';
  live.departures[e.departureId] = { freeTeu: e.freeTeu, freeTonnes: typeof e.freeTonnes === 'number' ? e.freeTonnes : cur?.freeTonnes, seq: typeof e.seq === 'number' ? e.seq : cur?.seq };
  return 'applied';
}

/** `listing:update` into the live state (status, remaining TEU, a falling price's step, an auction's next bid). */
export function applyListingUpdate(
  live: LiveLegs,
  formats: ReadonlyMap<string, LegFormat>,
  e: { listingId?: string; status?: string; remainingTeu?: number; currentPriceCents?: number; minNextBidCents?: number },
): boolean {
  const format = e?.listingId ? formats.get(e.listingId) : undefined;
  if (!e?.listingId || !format) return false;
  const cur: ListingLive = { ...(live.listings[e.listingId] ?? { open: true }) };
  // a listing never reopens: an `open` state after its close or cancellation is a late one (sent before it), dropped
  if (cur.open === false && e.status === 'open') return false;
  if (typeof e.status === 'string') cur.open = e.status === 'open';
  if (typeof e.remainingTeu === 'number') cur.remainingTeu = e.remainingTeu;
  if (format === 'falling' && typeof e.currentPriceCents === 'number') cur.priceCents = e.currentPriceCents;
  if (format === 'ascending' && typeof e.minNextBidCents === 'number') cur.priceCents = e.minNextBidCents;
  live.listings[e.listingId] = cur;
  return true;
}

/** `listing:closed`: that listing can no longer be taken. */
export function applyListingClosed(live: LiveLegs, formats: ReadonlyMap<string, LegFormat>, e: { listingId?: string }): boolean {
  if (!e?.listingId || !formats.has(e.listingId)) return false;
  live.listings[e.listingId] = { ...(live.listings[e.listingId] ?? {}), open: false };
  return true;
}

export type SoldOutReason = 'capacity' | 'weight' | 'closed';

export interface LegView extends RouteLeg {
  /** 1-based */
  n: number;
  /** free TEU now (min of the departure's free TEU and the listing's remaining TEU, as far as known) */
  freeNow: number;
  priceNow: number;
  priceChanged: boolean;
  soldOut: SoldOutReason | null;
}

/** An itinerary as shown: its legs and total with what live events changed. */
export interface ItineraryView {
  it: RouteItinerary;
  key: string;
  legs: LegView[];
  totalCents: number;
  /** totalCents − the total of the search */
  deltaCents: number;
  /** the first leg that cannot carry the request any more (1-based), and why */
  soldOut: { leg: number; reason: SoldOutReason } | null;
  bookable: boolean;
  bidLegs: number[];
}

export function itineraryKey(it: RouteItinerary): string {
  return it.key || it.legs.map((l) => l.listingId).join(',');
}

/**
 * What the viewer holds (or has just booked) from this search, per listing and per departure: capacity it took is
 * still its own to use, so an itinerary over those legs is not "sold out" to the one who took it.
 */
export interface Mine {
  listings: Record<string, number>;
  departures: Record<string, { teu: number; tonnes: number }>;
}

/** What holding (or booking) `teu` / `tonnes` on every leg of `legs` takes, as {@link Mine}. */
export function mineOf(legs: readonly { listingId: string; departureId: string }[], req: { teu: number; tonnes: number }): Mine {
  const m: Mine = { listings: {}, departures: {} };
  for (const l of legs) {
    m.listings[l.listingId] = (m.listings[l.listingId] ?? 0) + req.teu;
    const d = (m.departures[l.departureId] ??= { teu: 0, tonnes: 0 });
    d.teu += req.teu;
    d.tonnes += req.tonnes;
  }
  return m;
}

/** Applies the live state to an itinerary for a request of `teu` / `tonnes` (what `mine` took counted as free to its taker). */
export function itineraryView(it: RouteItinerary, live: LiveLegs, req: { teu: number; tonnes: number }, mine?: Mine | null): ItineraryView {
  let delta = 0;
  let soldOut: ItineraryView['soldOut'] = null;
  const legs = it.legs.map((leg, i): LegView => {
    const d = live.departures[leg.departureId];
    const l = live.listings[leg.listingId];
    // the search's free TEU is min(departure free, listing remaining); each live figure replaces its side
    // (the unknown side is bounded by the search's figure: exact when capacity falls, cautious when it comes back)
    const myDep = d ? mine?.departures[leg.departureId] : undefined;
    const myListing = typeof l?.remainingTeu === 'number' ? (mine?.listings[leg.listingId] ?? 0) : 0;
    const free = Math.min(d ? d.freeTeu + (myDep?.teu ?? 0) : leg.freeTeu, typeof l?.remainingTeu === 'number' ? l.remainingTeu + myListing : leg.freeTeu);
    const priceNow = typeof l?.priceCents === 'number' ? l.priceCents : leg.unitPriceCents;
    delta += (priceNow - leg.unitPriceCents) * req.teu;
    let reason: SoldOutReason | null = null;
    if (l && !l.open) reason = 'closed';
    else if (free < req.teu) reason = 'capacity';
    else if (typeof d?.freeTonnes === 'number' && d.freeTonnes + (myDep?.tonnes ?? 0) < req.tonnes) reason = 'weight';
    if (reason && !soldOut) soldOut = { leg: i + 1, reason };
    return { ...leg, n: i + 1, freeNow: free, priceNow, priceChanged: priceNow !== leg.unitPriceCents, soldOut: reason };
  });
  const bidLegs = legs.filter((l) => !isBookableFormat(l.format)).map((l) => l.n);
  return {
    it, key: itineraryKey(it), legs, totalCents: it.totalCents + delta, deltaCents: delta, soldOut,
    bookable: it.bookable && bidLegs.length === 0 && soldOut === null, bidLegs,
  };
}

export function isBookableFormat(f: LegFormat): boolean {
  return f === 'fixed' || f === 'falling';
}

/** "sold out on leg 2", "leg 2 closed", "not enough weight left on leg 1" */
export function soldOutText(s: NonNullable<ItineraryView['soldOut']>): string {
  if (s.reason === 'closed') return `leg ${s.leg} is no longer on sale`;
  if (s.reason === 'weight') return `not enough weight left on leg ${s.leg}`;
  return `sold out on leg ${s.leg}`;
}

// ---- sorting ----

export type RouteSort = 'price' | 'arrival' | 'co2';
export const SORTS: { value: RouteSort; label: string }[] = [
  { value: 'price', label: 'Price' },
  { value: 'arrival', label: 'Arrival' },
  { value: 'co2', label: 'CO2e' },
];

interface Sortable {
  totalCents: number;
  key: string;
  it: { arrivesAt: string; co2eKg: number };
}

/** By the chosen criterion, then the other two, then the key (a stable, total order). */
export function sortViews<T extends Sortable>(list: readonly T[], by: RouteSort): T[] {
  const price = (a: T, b: T) => a.totalCents - b.totalCents;
  const arrival = (a: T, b: T) => Date.parse(a.it.arrivesAt) - Date.parse(b.it.arrivesAt);
  const co2 = (a: T, b: T) => a.it.co2eKg - b.it.co2eKg;
  const order = by === 'price' ? [price, arrival, co2] : by === 'arrival' ? [arrival, price, co2] : [co2, price, arrival];
  return [...list].sort((a, b) => {
    for (const f of order) {
      const c = f(a, b);
      if (c !== 0) return c;
    }
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
}

// ---- the chart of the Pareto front ----

export interface ParetoPoint {
  key: string;
  /** 1-based position in the list as shown */
  n: number;
  /** arrival, epoch ms */
  x: number;
  /** total price, euros */
  y: number;
  /** point radius in px, growing with CO2e */
  r: number;
  co2eKg: number;
  bookable: boolean;
  unavailable: boolean;
}

export const MIN_R = 5;
export const MAX_R = 15;

/** A point per itinerary: arrival against total price, CO2e as the point's area. */
export function paretoPoints(views: readonly ItineraryView[]): ParetoPoint[] {
  const co2 = views.map((v) => v.it.co2eKg);
  const lo = Math.min(...co2);
  const hi = Math.max(...co2);
  return views.map((v, i) => ({
    key: v.key,
    n: i + 1,
    x: Date.parse(v.it.arrivesAt),
    y: v.totalCents / 100,
    // area ∝ CO2e within the answer's range, so the eye reads the difference
    r: hi > lo ? Math.round((MIN_R + (MAX_R - MIN_R) * Math.sqrt((v.it.co2eKg - lo) / (hi - lo))) * 10) / 10 : (MIN_R + MAX_R) / 2,
    co2eKg: v.it.co2eKg,
    bookable: v.it.bookable,
    unavailable: v.soldOut !== null,
  }));
}

/** The x axis of the chart: its bounds and the step between its ticks, all in epoch ms. */
export interface TimeAxis {
  min: number;
  max: number;
  stepMs: number;
}

const HOUR_MS = 3_600_000;
/** tick steps: whole hours that divide a day (ticks fall on round UTC times), then days, then weeks */
const TICK_STEPS_H = [1, 2, 3, 6, 12, 24, 48, 72, 168];
/** how far the axis reaches either side when every itinerary arrives at the same time */
export const SAME_ARRIVAL_PAD_MS = 6 * HOUR_MS;

/**
 * The arrival axis of the Pareto chart: the arrivals padded by 5 % of their span either side (by
 * SAME_ARRIVAL_PAD_MS when they all coincide, a zero-width domain Chart.js would widen by 5 % of the epoch
 * value: years), then widened outwards to whole multiples of the smallest round step that keeps at most
 * `maxTicks` ticks. Null without a finite arrival.
 */
export function timeAxis(arrivals: readonly number[], maxTicks = 5): TimeAxis | null {
  const xs = arrivals.filter((x) => Number.isFinite(x));
  if (!xs.length) return null;
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const pad = hi > lo ? (hi - lo) * 0.05 : SAME_ARRIVAL_PAD_MS;
  const intervals = Math.max(2, maxTicks - 1);
  const fits = (step: number) => Math.ceil((hi + pad) / step) - Math.floor((lo - pad) / step) <= intervals;
  let stepMs = TICK_STEPS_H.map((h) => h * HOUR_MS).find(fits);
  // beyond the longest search window: as many whole weeks as it takes
  for (let weeks = 2; stepMs === undefined; weeks++) if (fits(weeks * 7 * DAY_MS)) stepMs = weeks * 7 * DAY_MS;
  return { min: Math.floor((lo - pad) / stepMs) * stepMs, max: Math.ceil((hi + pad) / stepMs) * stepMs, stepMs };
}

// ---- texts ----

/** "GBLHR → FRLIL → DEDUI → ITBLQ" */
export function routeCodes(it: { legs: { origin: string; destination: string }[] }): string[] {
  const first = it.legs[0];
  return first ? [first.origin, ...it.legs.map((l) => l.destination)] : [];
}

/** "6h 30m", "1d 02h", "45m" */
export function fmtWait(minutes: number): string {
  if (!Number.isFinite(minutes) || minutes < 0) return '—';
  const m = Math.round(minutes);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  const mm = m % 60;
  if (d > 0) return `${d}d ${String(h).padStart(2, '0')}h`;
  if (h > 0) return `${h}h ${String(mm).padStart(2, '0')}m`;
  return `${mm}m`;
}

/** CO2e saved against road, in % (negative: more than road); null without a road figure. */
export function savedVsRoad(co2eKg: number, roadCo2eKg: number): number | null {
  if (!roadCo2eKg || roadCo2eKg <= 0) return null;
  return Math.round((1 - co2eKg / roadCo2eKg) * 100);
}

/** Share of each segment (legs and waits) of the door-to-door time, for the timeline bar. */
export function timelineSegments(it: RouteItinerary): { kind: 'leg' | 'wait'; mode?: RouteMode; share: number; label: string }[] {
  const start = Date.parse(it.departsAt);
  const span = Date.parse(it.arrivesAt) - start;
  if (!(span > 0)) return [];
  const out: { kind: 'leg' | 'wait'; mode?: RouteMode; share: number; label: string }[] = [];
  let prev = start;
  for (const leg of it.legs) {
    const dep = Date.parse(leg.departsAt);
    const arr = Date.parse(leg.arrivesAt);
    if (dep > prev) out.push({ kind: 'wait', share: (dep - prev) / span, label: `wait at ${leg.origin}` });
    out.push({ kind: 'leg', mode: leg.mode, share: (arr - dep) / span, label: `${leg.origin} → ${leg.destination}` });
    prev = arr;
  }
  return out;
}
