/**
 * Watches and cascade re-offers (issue 14, parts 1 and 2), the pure parts: does a watch cover a departure, can it
 * take a lot of capacity, who is offered freed capacity in which order, when did a falling price cross a watch's
 * maximum, and how long an offer lasts. No I/O; time is passed in. README "Watches and cascade re-offers".
 */

export type WatchMode = 'rail' | 'barge';

/**
 * A forwarder's saved search, or a pooled shipment seen as one ({@link shipmentCriteria}). Unset criteria match
 * anything.
 */
export interface WatchCriteria {
  /** What may be offered: a watch (the default), or a shipment waiting in the pool. */
  kind?: 'watch' | 'shipment';
  id: string;
  orgId: string;
  from: string | null;
  to: string | null;
  corridorId: string | null;
  modes: readonly WatchMode[] | null;
  departsAfter: Date | null;
  departsBefore: Date | null;
  minTeu: number;
  minTonnes: number | null;
  maxUnitPriceCents: number | null;
  createdAt: Date;
  /** Cargo ready then: the departure's cut-off must be at or after it (a shipment's `readyAt`). */
  readyAt?: Date | null;
  /** Delivered by then: the departure must arrive at or before it (a shipment's `deliverBy`). */
  deliverBy?: Date | null;
}

/** What a watch looks at of a departure. */
export interface DepartureFacts {
  corridorId: string;
  origin: string;
  destination: string;
  mode: WatchMode;
  departsAt: Date;
  cutoffAt?: Date;
  arrivesAt?: Date;
}

/** A pooled shipment as the core reads it (times as dates, money in cents). */
export interface PooledShipment {
  id: string;
  orgId: string;
  from: string;
  to: string;
  modes: readonly WatchMode[];
  teu: number;
  tonnes: number;
  readyAt: Date;
  deliverBy: Date;
  maxTotalCents: number;
  createdAt: Date;
}

/**
 * A shipment waiting in the pool, offered freed capacity like a watch: a direct departure between its ends, by one
 * of its modes, cut-off after it is ready, arriving by its deadline, room for all its TEU and tonnes, at a unit price
 * whose total for its TEU stays within its maximum (unit ≤ ⌊max total / TEU⌋, integer cents).
 */
export function shipmentCriteria(s: PooledShipment): WatchCriteria {
  return {
    kind: 'shipment', id: s.id, orgId: s.orgId, from: s.from, to: s.to, corridorId: null, modes: s.modes, departsAfter: null, departsBefore: null,
    minTeu: s.teu, minTonnes: s.tonnes, maxUnitPriceCents: Math.floor(s.maxTotalCents / s.teu), createdAt: s.createdAt, readyAt: s.readyAt,
    deliverBy: s.deliverBy,
  };
}

/** A lot of capacity a forwarder could take: free TEU and tonnes at a unit price. */
export interface Lot {
  teu: number;
  tonnes: number;
  unitPriceCents: number;
}

/** Route, mode and departure window: does the watch look at this departure at all? */
export function watchCovers(w: WatchCriteria, d: DepartureFacts): boolean {
  if (w.corridorId !== null && w.corridorId !== d.corridorId) return false;
  if (w.from !== null && w.from !== d.origin) return false;
  if (w.to !== null && w.to !== d.destination) return false;
  if (w.modes !== null && w.modes.length > 0 && !w.modes.includes(d.mode)) return false;
  if (w.departsAfter !== null && d.departsAt.getTime() < w.departsAfter.getTime()) return false;
  if (w.departsBefore !== null && d.departsAt.getTime() > w.departsBefore.getTime()) return false;
  if (w.readyAt && (!d.cutoffAt || d.cutoffAt.getTime() < w.readyAt.getTime())) return false;
  if (w.deliverBy && (!d.arrivesAt || d.arrivesAt.getTime() > w.deliverBy.getTime())) return false;
  return true;
}

/** Never told of capacity it cannot take: at least its minimum TEU (and tonnes), at no more than its maximum price. */
export function canTake(w: WatchCriteria, lot: Lot): boolean {
  if (lot.teu < w.minTeu) return false;
  if (w.minTonnes !== null && lot.tonnes < w.minTonnes) return false;
  if (w.maxUnitPriceCents !== null && lot.unitPriceCents > w.maxUnitPriceCents) return false;
  return true;
}

export function matchesWatch(w: WatchCriteria, d: DepartureFacts, lot: Lot): boolean {
  return watchCovers(w, d) && canTake(w, lot);
}

/**
 * The published re-offer order of watches and pooled shipments alike: the highest maximum unit price first (a watch
 * without a maximum takes any price and ranks above every maximum; a shipment's is ⌊max total / TEU⌋), then the
 * earliest (watch saved, shipment pooled), then the lower id (a total order, so the same offerees always cascade the
 * same way).
 */
export function compareForOffer(a: WatchCriteria, b: WatchCriteria): number {
  const pa = a.maxUnitPriceCents ?? Number.POSITIVE_INFINITY;
  const pb = b.maxUnitPriceCents ?? Number.POSITIVE_INFINITY;
  if (pa !== pb) return pb > pa ? 1 : -1;
  const ta = a.createdAt.getTime();
  const tb = b.createdAt.getTime();
  if (ta !== tb) return ta - tb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Who is offered a freed lot, in order: every watch or pooled shipment that covers the departure and can take the
 * lot, leaving out the organisations in `exclude` (the one that freed it, and those already offered this lot), one
 * entry per organisation (its first in the order), sorted by {@link compareForOffer}.
 */
export function offerOrder(watches: readonly WatchCriteria[], d: DepartureFacts, lot: Lot, exclude: ReadonlySet<string>): WatchCriteria[] {
  const eligible = watches.filter((w) => !exclude.has(w.orgId) && matchesWatch(w, d, lot)).sort(compareForOffer);
  const seen = new Set<string>();
  const out: WatchCriteria[] = [];
  for (const w of eligible) {
    if (seen.has(w.orgId)) continue;
    seen.add(w.orgId);
    out.push(w);
  }
  return out;
}

/**
 * A falling price's step crossed the watch's maximum: the price before the step was above it, the price now is at
 * or below it. (A price already below the maximum when the watch or the listing was made is told as a new listing.)
 */
export function crossedMax(w: Pick<WatchCriteria, 'maxUnitPriceCents'>, previousPriceCents: number, priceCents: number): boolean {
  return w.maxUnitPriceCents !== null && previousPriceCents > w.maxUnitPriceCents && priceCents <= w.maxUnitPriceCents;
}

/** When an offer made at `now` runs out: the window, but never after the departure's cut-off (no hold after it). */
export function offerExpiresAt(now: Date, windowMs: number, cutoffAt: Date): Date {
  return new Date(Math.min(now.getTime() + windowMs, cutoffAt.getTime()));
}

/** Is there still time to offer (at least a second before the cut-off)? */
export function canStillOffer(now: Date, cutoffAt: Date): boolean {
  return cutoffAt.getTime() - now.getTime() >= 1000;
}

/**
 * The quantities an offeree takes: by default the whole lot; fewer TEU take their share of the tonnes (rounded up,
 * at least 1 t per TEU). Failure as a value: `invalid_quantity` when outside 1..offered TEU, tonnes below the TEU or
 * above the offered tonnes.
 */
export function acceptedQuantity(
  offer: { teu: number; tonnes: number },
  input: { teu?: number; tonnes?: number },
): { ok: true; teu: number; tonnes: number } | { ok: false; code: 'invalid_quantity'; message: string } {
  const teu = input.teu ?? offer.teu;
  const tonnes = input.tonnes ?? (teu === offer.teu ? offer.tonnes : Math.max(teu, Math.ceil((offer.tonnes * teu) / offer.teu)));
  if (!Number.isInteger(teu) || teu < 1 || teu > offer.teu) {
    return { ok: false, code: 'invalid_quantity', message: `teu must be a whole number from 1 to the offered ${offer.teu}` };
  }
  if (!Number.isInteger(tonnes) || tonnes < teu || tonnes > offer.tonnes) {
    return { ok: false, code: 'invalid_quantity', message: `tonnes must be at least 1 per TEU and at most the offered ${offer.tonnes}` };
  }
  return { ok: true, teu, tonnes };
}
