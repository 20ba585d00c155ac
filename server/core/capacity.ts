/**
 * Capacity and hold rules for one departure.
 *
 * Pure: no I/O, time is passed in. A departure has two independent limits —
 * TEU (slots) and tonnes (weight) — and a request must fit both. These rules
 * decide; the database's conditional update is the final guard (DESIGN.md).
 */

/** Capacity of a departure and what is already taken, in whole TEU and integer tonnes. */
export interface Availability {
  capacityTeu: number;
  capacityTonnes: number;
  /** Reserved by unexpired holds. */
  heldTeu: number;
  heldTonnes: number;
  /** Confirmed by bookings. */
  bookedTeu: number;
  bookedTonnes: number;
}

/** Failure codes of {@link checkHold}. */
export type HoldFailureCode = 'invalid_quantity' | 'listing_not_open' | 'past_cutoff' | 'insufficient_capacity';

/**
 * Free capacity = capacity − held − booked, per dimension, never below 0
 * (an over-committed record shows 0 free rather than a negative number).
 */
export function freeOf(a: Availability): { freeTeu: number; freeTonnes: number } {
  return {
    freeTeu: Math.max(0, a.capacityTeu - a.heldTeu - a.bookedTeu),
    freeTonnes: Math.max(0, a.capacityTonnes - a.heldTonnes - a.bookedTonnes),
  };
}

/**
 * Least declared weight per TEU, in tonnes. A TEU slot always carries a box: an empty 20' container alone
 * weighs about 2.2 t (tare), so a request for `n` TEU declaring fewer than `n` tonnes is not a real
 * shipment and would let a buyer take every slot while the departure's weight limit stays free.
 * 1 t/TEU is a deliberately conservative floor (it refuses only declarations below any plausible load).
 */
export const MIN_TONNES_PER_TEU = 1;

/** `null` when `teu`/`tonnes` are a valid request (whole TEU ≥ 1, integer tonnes ≥ teu × MIN_TONNES_PER_TEU), else why not. */
export function quantityError(req: { teu: number; tonnes: number }): string | null {
  if (!Number.isSafeInteger(req.teu) || req.teu < 1) return 'teu must be a whole number of at least 1';
  if (!Number.isSafeInteger(req.tonnes) || req.tonnes < 0) return 'tonnes must be a whole number of at least 0';
  if (req.tonnes < req.teu * MIN_TONNES_PER_TEU) {
    return `tonnes must be at least ${MIN_TONNES_PER_TEU} per TEU (${req.teu * MIN_TONNES_PER_TEU} t for ${req.teu} TEU)`;
  }
  return null;
}

/**
 * Decides whether a hold of `req` may be placed now.
 *
 * Rules, checked in this order:
 * 1. `teu` is an integer ≥ 1 and `tonnes` an integer ≥ teu × {@link MIN_TONNES_PER_TEU} → else `invalid_quantity`;
 * 2. `now` is strictly before `cutoffAt` → else `past_cutoff`;
 * 3. `teu <= freeTeu` and `tonnes <= freeTonnes` → else `insufficient_capacity`.
 */
export function checkHold(
  a: Availability & { cutoffAt: Date; opensAt?: Date | null },
  req: { teu: number; tonnes: number },
  now: Date,
): { ok: true } | { ok: false; code: HoldFailureCode; message: string } {
  const invalid = quantityError(req);
  if (invalid) return { ok: false, code: 'invalid_quantity', message: invalid };
  const notOpen = notOpenYet(a.opensAt, now);
  if (notOpen) return { ok: false, code: 'listing_not_open', message: notOpen };
  if (!(now.getTime() < a.cutoffAt.getTime())) {
    return { ok: false, code: 'past_cutoff', message: `cut-off was at ${a.cutoffAt.toISOString()}` };
  }
  const { freeTeu, freeTonnes } = freeOf(a);
  if (req.teu > freeTeu) {
    return { ok: false, code: 'insufficient_capacity', message: `only ${freeTeu} TEU free, ${req.teu} requested` };
  }
  if (req.tonnes > freeTonnes) {
    return {
      ok: false,
      code: 'insufficient_capacity',
      message: `only ${freeTonnes} t free, ${req.tonnes} t requested`,
    };
  }
  return { ok: true };
}

/** Whether a departure still takes new listings: scheduled, its cut-off ahead. */
export function takesListings(d: { status: string; cutoffAt: Date }, now: Date): boolean {
  return d.status === 'scheduled' && now.getTime() < d.cutoffAt.getTime();
}

/** Why a listing with this `opensAt` sells nothing yet at `now` (a sale opens at its opensAt; none: at once), or null when it is open. */
export function notOpenYet(opensAt: Date | null | undefined, now: Date): string | null {
  return opensAt && now.getTime() < opensAt.getTime() ? `this listing opens at ${opensAt.toISOString()}` : null;
}

/** Expiry instant of a hold placed at `now` with a time-to-live of `ttlMs` milliseconds. */
export function holdExpiresAt(now: Date, ttlMs: number): Date {
  return new Date(now.getTime() + ttlMs);
}

/** A hold is expired from its expiry instant on (`now >= expiresAt`). */
export function isHoldExpired(expiresAt: Date, now: Date): boolean {
  return now.getTime() >= expiresAt.getTime();
}

/**
 * The most TEU one organisation may hold (active holds) on a departure at once: `maxSharePct` % of its
 * capacity, rounded down, but at least 1 TEU (so a small departure can still be held at all). The same
 * formula is in the database function `cx_place_holds_multi` (migration 20261203T0900), which decides.
 */
export function holdShareCapTeu(capacityTeu: number, maxSharePct: number): number {
  if (maxSharePct >= 100) return capacityTeu;
  return Math.max(1, Math.floor((capacityTeu * maxSharePct) / 100));
}

/** Whether `orgHeldTeu + teu` stays within {@link holdShareCapTeu}. */
export function checkHoldShare(
  capacityTeu: number,
  orgHeldTeu: number,
  teu: number,
  maxSharePct: number,
): { ok: true } | { ok: false; code: 'hold_share_exceeded'; message: string } {
  const cap = holdShareCapTeu(capacityTeu, maxSharePct);
  if (orgHeldTeu + teu <= cap) return { ok: true };
  return {
    ok: false,
    code: 'hold_share_exceeded',
    message: `one organisation may hold at most ${cap} TEU of this departure at once (${maxSharePct} %); you hold ${orgHeldTeu}`,
  };
}

/**
 * TEU of a departure not yet promised: capacity − booked − held − what open listings still offer.
 * A hold on a listing has already been taken out of that listing's remaining TEU, so nothing counts twice.
 * A new listing may offer at most this (invariant 8: listings, holds and bookings never exceed capacity).
 */
export function unpromisedTeu(a: { capacityTeu: number; heldTeu: number; bookedTeu: number; listedTeu: number }): number {
  return Math.max(0, a.capacityTeu - a.bookedTeu - a.heldTeu - a.listedTeu);
}

/**
 * How many TEU an auction closing now can actually award: its own TEU, but no more than the departure
 * has free (TEU, and tonnes at {@link MIN_TONNES_PER_TEU} each). Normally the listing's TEU; less only when
 * capacity was promised twice before that was refused (legacy rows) — then the clearing rule runs on what fits.
 */
export function awardableTeu(listingTeu: number, a: Availability): number {
  const { freeTeu, freeTonnes } = freeOf(a);
  return Math.max(0, Math.min(listingTeu, freeTeu, Math.floor(freeTonnes / MIN_TONNES_PER_TEU)));
}

/**
 * Weight for each award (in award order): the departure's allowance per TEU (`tonnesPerTeu`, rounded down),
 * but never less than {@link MIN_TONNES_PER_TEU} per TEU, and never more than leaves the later awards their
 * minimum out of `freeTonnes`. Requires Σ teu × MIN ≤ freeTonnes (what {@link awardableTeu} guarantees).
 */
export function allotAwardTonnes(teus: readonly number[], freeTonnes: number, tonnesPerTeu: number): number[] {
  let left = Math.max(0, freeTonnes);
  let minAfter = teus.reduce((s, t) => s + t * MIN_TONNES_PER_TEU, 0);
  return teus.map((teu) => {
    const min = teu * MIN_TONNES_PER_TEU;
    minAfter -= min;
    const t = Math.max(min, Math.min(Math.floor(teu * tonnesPerTeu), left - minAfter));
    left -= t;
    return t;
  });
}

/**
 * What comes off a departure's open listings when it would promise more than its capacity (held + booked + Σ listed
 * remaining > capacity): `excess` TEU taken from fixed and falling listings first, the fullest first; from auctions only
 * when `auctionsToo`. Returns the cuts and what is still over (> 0: the listings cannot give that much).
 */
export function listingCuts(
  listings: readonly { id: string; format: string; remaining_teu: number }[],
  excess: number,
  auctionsToo: boolean,
): { cuts: { id: string; by: number }[]; over: number } {
  const auction = (f: string) => Number(f === 'ascending' || f === 'sealed');
  const order = listings.filter((l) => auctionsToo || !auction(l.format)).sort((a, b) => auction(a.format) - auction(b.format) || b.remaining_teu - a.remaining_teu);
  const cuts: { id: string; by: number }[] = [];
  let over = excess;
  for (const l of order) {
    if (over <= 0) break;
    const by = Math.min(over, l.remaining_teu);
    if (by > 0) cuts.push({ id: l.id, by });
    over -= by;
  }
  return { cuts, over: Math.max(0, over) };
}
