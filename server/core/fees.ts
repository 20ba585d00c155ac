/**
 * Cancellation fee rules, kept on a listing and applied when a forwarder
 * cancels a booking.
 *
 * Pure: no I/O, time is passed in. Money is integer EUR cents; percentages
 * are whole numbers 0..100.
 */

/** One band of a fee rule: from this many minutes before departure on, `percent` of the total is kept. */
export interface FeeTier {
  /** The band starts when `departsAt − now <= fromMinutesBeforeDeparture` (positive integer). */
  fromMinutesBeforeDeparture: number;
  /** Whole percent of the booking total kept as fee, 0..100. */
  percent: number;
}

/**
 * A cancellation fee rule. Before the earliest tier starts, cancelling is free.
 * Each tier applies from its start until the next (closer) tier starts or
 * until cut-off; from cut-off on, `afterCutoffPercent` applies.
 */
export interface FeeRule {
  tiers: FeeTier[];
  /** Whole percent kept when cancelling at or after the cut-off, 0..100. */
  afterCutoffPercent: number;
}

/** Result of {@link cancellationFee}. */
export interface CancellationFee {
  feeCents: number;
  refundCents: number;
  percent: number;
  /** `'free'`, `'from_<minutes>_min'` (a tier) or `'after_cutoff'`. */
  band: string;
}

/** Minutes in seven days. */
const SEVEN_DAYS_MIN = 7 * 24 * 60;

/**
 * Default rule: free until 7 days before departure, 50 % from then until the
 * cut-off, 100 % at and after the cut-off.
 */
export const DEFAULT_FEE_RULE: FeeRule = Object.freeze({
  tiers: Object.freeze([Object.freeze({ fromMinutesBeforeDeparture: SEVEN_DAYS_MIN, percent: 50 })]) as FeeTier[],
  afterCutoffPercent: 100,
});

/**
 * `percent` % of `totalCents`, rounded half-up to whole cents in integer arithmetic:
 * `floor((total × percent + 50) / 100)`. Exact while `total × percent` stays
 * below 2^53 (totals up to ~9 × 10^13 cents); BigInt is used beyond that.
 */
function percentOfHalfUp(totalCents: number, percent: number): number {
  const product = totalCents * percent;
  if (Number.isSafeInteger(product + 50)) return Math.floor((product + 50) / 100);
  return Number((BigInt(totalCents) * BigInt(percent) + 50n) / 100n);
}

/** Why a booking can no longer be cancelled at `now` — its departure has left — or null while it can. */
export function notCancellable(times: { departsAt: Date }, now: Date): string | null {
  return now.getTime() >= times.departsAt.getTime() ? `its departure left at ${times.departsAt.toISOString()}` : null;
}

/**
 * Computes the fee and refund for cancelling a booking of `totalCents` at `now`.
 *
 * - At or after `cutoffAt`: `afterCutoffPercent`, band `'after_cutoff'`.
 * - Before the cut-off: the tier with the smallest `fromMinutesBeforeDeparture`
 *   that is still `>=` the time left to departure (in minutes, fractional);
 *   if none, 0 %, band `'free'`.
 * - `feeCents` is rounded half-up; `refundCents = totalCents − feeCents`, so the
 *   two always add up to `totalCents` and both lie in `0..totalCents`.
 * - For a rule accepted by {@link validateFeeRule}, the fee never decreases as
 *   `now` moves towards departure.
 *
 * `totalCents` must be a non-negative safe integer (a programming error
 * otherwise: `RangeError`). Percentages outside 0..100 or fractional in an
 * unvalidated rule are clamped and rounded, so the bounds hold regardless.
 */
export function cancellationFee(
  rule: FeeRule,
  totalCents: number,
  times: { departsAt: Date; cutoffAt: Date },
  now: Date,
): CancellationFee {
  if (!Number.isSafeInteger(totalCents) || totalCents < 0) {
    throw new RangeError(`totalCents must be a non-negative integer, got ${totalCents}`);
  }
  let percent = 0;
  let band = 'free';
  if (now.getTime() >= times.cutoffAt.getTime()) {
    percent = rule.afterCutoffPercent;
    band = 'after_cutoff';
  } else {
    const minutesLeft = (times.departsAt.getTime() - now.getTime()) / 60_000;
    let best: FeeTier | undefined;
    for (const t of rule.tiers) {
      if (minutesLeft <= t.fromMinutesBeforeDeparture) {
        if (!best || t.fromMinutesBeforeDeparture < best.fromMinutesBeforeDeparture) best = t;
      }
    }
    if (best) {
      percent = best.percent;
      band = `from_${best.fromMinutesBeforeDeparture}_min`;
    }
  }
  percent = Math.min(100, Math.max(0, Math.round(Number.isFinite(percent) ? percent : 0)));
  const feeCents = percentOfHalfUp(totalCents, percent);
  return { feeCents, refundCents: totalCents - feeCents, percent, band };
}

/** Whole percent in 0..100. */
function isPercent(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 100;
}

/**
 * Validates an untrusted fee rule (e.g. from a listing request body).
 *
 * Accepts an object `{ tiers: [{ fromMinutesBeforeDeparture, percent }], afterCutoffPercent }`
 * where each `fromMinutesBeforeDeparture` is a distinct positive integer, every
 * percent is a whole number 0..100, percentages do not decrease as departure
 * approaches, and `afterCutoffPercent` is at least every tier's percent (so fees
 * are monotone in time). Returns a fresh rule with tiers sorted from the
 * earliest band (largest minutes) to the latest; unknown fields are dropped.
 */
export function validateFeeRule(
  rule: unknown,
): { ok: true; rule: FeeRule } | { ok: false; code: 'invalid_fee_rule'; message: string } {
  const fail = (message: string) => ({ ok: false as const, code: 'invalid_fee_rule' as const, message });
  if (typeof rule !== 'object' || rule === null) return fail('fee rule must be an object');
  const r = rule as Record<string, unknown>;
  if (!Array.isArray(r.tiers)) return fail('tiers must be an array');
  if (!isPercent(r.afterCutoffPercent)) return fail('afterCutoffPercent must be a whole number 0..100');
  const tiers: FeeTier[] = [];
  for (const [i, t] of r.tiers.entries()) {
    if (typeof t !== 'object' || t === null) return fail(`tiers[${i}] must be an object`);
    const { fromMinutesBeforeDeparture: from, percent } = t as Record<string, unknown>;
    if (typeof from !== 'number' || !Number.isSafeInteger(from) || from <= 0) {
      return fail(`tiers[${i}].fromMinutesBeforeDeparture must be a positive integer`);
    }
    if (!isPercent(percent)) return fail(`tiers[${i}].percent must be a whole number 0..100`);
    tiers.push({ fromMinutesBeforeDeparture: from, percent });
  }
  tiers.sort((a, b) => b.fromMinutesBeforeDeparture - a.fromMinutesBeforeDeparture);
  for (let i = 1; i < tiers.length; i++) {
    const prev = tiers[i - 1]!;
    const cur = tiers[i]!;
    if (cur.fromMinutesBeforeDeparture === prev.fromMinutesBeforeDeparture) {
      return fail(`two tiers start at ${cur.fromMinutesBeforeDeparture} minutes before departure`);
    }
    if (cur.percent < prev.percent) {
      return fail('tier percentages must not decrease as departure approaches');
    }
  }
  const maxTier = tiers.reduce((m, t) => Math.max(m, t.percent), 0);
  if (r.afterCutoffPercent < maxTier) {
    return fail('afterCutoffPercent must be at least every tier percentage');
  }
  return { ok: true, rule: { tiers, afterCutoffPercent: r.afterCutoffPercent } };
}

/** A listing's stored fee rule, or the default when it has none (or an invalid one). */
export function feeRuleOrDefault(stored: unknown): FeeRule {
  const v = stored ? validateFeeRule(stored) : null;
  return v && v.ok ? v.rule : DEFAULT_FEE_RULE;
}
