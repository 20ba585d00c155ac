/**
 * Prices: the falling (Dutch-style, last-minute) price schedule and totals.
 *
 * Pure: no I/O, time is passed in. Money is integer EUR cents.
 */

/** A price that starts high and drops by a fixed step at a fixed interval down to a floor. */
export interface FallingSchedule {
  /** Price per TEU before and at `startsAt`, integer cents. */
  startPriceCents: number;
  /** Lowest price per TEU, integer cents, `0 <= floor <= start`. */
  floorPriceCents: number;
  /** Drop per step, positive integer cents. */
  stepCents: number;
  /** Minutes between drops, positive integer. */
  stepEveryMinutes: number;
  /** The first drop happens at `startsAt + stepEveryMinutes`. */
  startsAt: Date;
}

/** Length of one step in milliseconds. */
function stepMs(s: FallingSchedule): number {
  return s.stepEveryMinutes * 60_000;
}

/** Number of whole steps elapsed at `now` (0 before or at `startsAt`). */
function stepsElapsed(s: FallingSchedule, now: Date): number {
  const dt = now.getTime() - s.startsAt.getTime();
  if (dt <= 0) return 0;
  return Math.floor(dt / stepMs(s));
}

/**
 * Price per TEU at `now` for a valid schedule (see {@link validateFallingSchedule}):
 * `max(floor, start − stepCents × floor((now − startsAt) / stepEvery))`, and
 * `start` before `startsAt`. Integer; never below floor; never increases with time.
 */
export function fallingPrice(s: FallingSchedule, now: Date): number {
  const steps = stepsElapsed(s, now);
  // Once steps exceed the number needed to reach the floor, the floor holds;
  // capping avoids huge products for far-future instants.
  const stepsToFloor = Math.ceil((s.startPriceCents - s.floorPriceCents) / s.stepCents);
  const n = Math.min(steps, stepsToFloor);
  return Math.max(s.floorPriceCents, s.startPriceCents - n * s.stepCents);
}

/**
 * Instant of the next price drop strictly after `now`, or `null` when the price
 * at `now` is already the floor (it will not change again).
 */
export function nextPriceChangeAt(s: FallingSchedule, now: Date): Date | null {
  if (fallingPrice(s, now) <= s.floorPriceCents) return null;
  const steps = stepsElapsed(s, now);
  return new Date(s.startsAt.getTime() + (steps + 1) * stepMs(s));
}

/**
 * Validates an untrusted falling schedule. `startsAt` may be a `Date` or an
 * ISO 8601 string. Requires integer cents with `0 <= floor <= start`,
 * `stepCents >= 1`, integer `stepEveryMinutes >= 1`.
 *
 * @returns the normalised schedule, or `{ ok: false, code: 'invalid_falling_schedule', message }`.
 */
export function validateFallingSchedule(
  input: unknown,
): { ok: true; schedule: FallingSchedule } | { ok: false; code: 'invalid_falling_schedule'; message: string } {
  const fail = (message: string) => ({ ok: false as const, code: 'invalid_falling_schedule' as const, message });
  if (typeof input !== 'object' || input === null) return fail('schedule must be an object');
  const r = input as Record<string, unknown>;
  const int = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
  const { startPriceCents, floorPriceCents, stepCents, stepEveryMinutes } = r;
  if (!int(startPriceCents) || startPriceCents < 0) return fail('startPriceCents must be a non-negative integer');
  if (!int(floorPriceCents) || floorPriceCents < 0) return fail('floorPriceCents must be a non-negative integer');
  if (floorPriceCents > startPriceCents) return fail('floorPriceCents must not exceed startPriceCents');
  if (!int(stepCents) || stepCents < 1) return fail('stepCents must be a positive integer');
  if (!int(stepEveryMinutes) || stepEveryMinutes < 1) return fail('stepEveryMinutes must be a positive integer');
  let startsAt: Date;
  if (r.startsAt instanceof Date) startsAt = new Date(r.startsAt.getTime());
  else if (typeof r.startsAt === 'string') startsAt = new Date(r.startsAt);
  else return fail('startsAt must be a date');
  if (!Number.isFinite(startsAt.getTime())) return fail('startsAt must be a valid date');
  return { ok: true, schedule: { startPriceCents, floorPriceCents, stepCents, stepEveryMinutes, startsAt } };
}

/**
 * Lowest unit price anything may be sold at: 1 cent per TEU. A zero price would make a booking with nothing
 * to charge — no ledger transfer, no invoice — that stays `confirmed` forever and clogs the settlement sweep;
 * giving capacity away is not what a marketplace with a platform fee is for (README, Money).
 */
export const MIN_UNIT_PRICE_CENTS = 1;

/**
 * Checks the prices of a new listing: a fixed price, a falling start price and its floor (the lowest price
 * it will ever sell at) must each be at least {@link MIN_UNIT_PRICE_CENTS}. Auctions: bids are ≥ 1 cent by
 * schema, so a reserve of 0 still sells at ≥ 1 cent.
 */
export function validateListingPrices(
  format: 'fixed' | 'falling' | 'ascending' | 'sealed',
  p: { unitPriceCents?: number | null; floorPriceCents?: number | null },
): { ok: true } | { ok: false; code: 'price_too_low'; message: string } {
  const low = (v: number | null | undefined) => v !== undefined && v !== null && !(v >= MIN_UNIT_PRICE_CENTS);
  if ((format === 'fixed' || format === 'falling') && low(p.unitPriceCents)) {
    return { ok: false, code: 'price_too_low', message: `unitPriceCents must be at least ${MIN_UNIT_PRICE_CENTS} cent per TEU` };
  }
  if (format === 'falling' && low(p.floorPriceCents)) {
    return { ok: false, code: 'price_too_low', message: `the floor price must be at least ${MIN_UNIT_PRICE_CENTS} cent per TEU` };
  }
  return { ok: true };
}

/**
 * Total price of `teu` TEU at `unitPriceCents` each, in integer cents.
 * Both must be non-negative safe integers and the product must stay a safe
 * integer; anything else is a programming error (`RangeError`) — validate
 * request input before calling.
 */
export function totalCents(unitPriceCents: number, teu: number): number {
  if (!Number.isSafeInteger(unitPriceCents) || unitPriceCents < 0) {
    throw new RangeError(`unitPriceCents must be a non-negative integer, got ${unitPriceCents}`);
  }
  if (!Number.isSafeInteger(teu) || teu < 0) throw new RangeError(`teu must be a non-negative integer, got ${teu}`);
  const total = unitPriceCents * teu;
  if (!Number.isSafeInteger(total)) throw new RangeError('total exceeds the safe integer range');
  return total;
}
