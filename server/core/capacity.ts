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
export type HoldFailureCode = 'invalid_quantity' | 'past_cutoff' | 'insufficient_capacity';

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
 * Decides whether a hold of `req` may be placed now.
 *
 * Rules, checked in this order:
 * 1. `teu` is an integer ≥ 1 and `tonnes` an integer ≥ 0 → else `invalid_quantity`;
 * 2. `now` is strictly before `cutoffAt` → else `past_cutoff`;
 * 3. `teu <= freeTeu` and `tonnes <= freeTonnes` → else `insufficient_capacity`.
 */
export function checkHold(
  a: Availability & { cutoffAt: Date },
  req: { teu: number; tonnes: number },
  now: Date,
): { ok: true } | { ok: false; code: HoldFailureCode; message: string } {
  if (!Number.isSafeInteger(req.teu) || req.teu < 1) {
    return { ok: false, code: 'invalid_quantity', message: 'teu must be a whole number of at least 1' };
  }
  if (!Number.isSafeInteger(req.tonnes) || req.tonnes < 0) {
    return { ok: false, code: 'invalid_quantity', message: 'tonnes must be a whole number of at least 0' };
  }
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

/** Expiry instant of a hold placed at `now` with a time-to-live of `ttlMs` milliseconds. */
export function holdExpiresAt(now: Date, ttlMs: number): Date {
  return new Date(now.getTime() + ttlMs);
}

/** A hold is expired from its expiry instant on (`now >= expiresAt`). */
export function isHoldExpired(expiresAt: Date, now: Date): boolean {
  return now.getTime() >= expiresAt.getTime();
}
