/**
 * Settlement arithmetic: platform fee, the split of a release and of a refund, VAT, invoice numbers.
 *
 * Pure: no I/O. Money is integer EUR cents, rates are integer basis points (1 bp = 0.01 %).
 *
 * Rounding rules (documented in README "Money"):
 * - platform fee = floor(amount × feeBps / 10 000): the fraction of a cent goes to the operator;
 * - VAT = round half up (amount × vatBps / 10 000) on the invoice net;
 * - everything else is exact integer subtraction, so the parts always add up to the whole.
 */

/** Multiplies then divides by 10 000 in integer arithmetic (BigInt beyond 2^53), rounding down or half up. */
function bps(amountCents: number, rateBps: number, halfUp: boolean): number {
  if (!Number.isSafeInteger(amountCents) || amountCents < 0) throw new RangeError(`amount must be a non-negative integer, got ${amountCents}`);
  if (!Number.isInteger(rateBps) || rateBps < 0 || rateBps > 10_000) throw new RangeError(`rate must be 0..10000 bp, got ${rateBps}`);
  const add = halfUp ? 5_000 : 0;
  const product = amountCents * rateBps + add;
  if (Number.isSafeInteger(product)) return Math.floor(product / 10_000);
  return Number((BigInt(amountCents) * BigInt(rateBps) + BigInt(add)) / 10_000n);
}

/** The platform's fee on `amountCents`: floor(amount × feeBps / 10 000). */
export function platformFee(amountCents: number, feeBps: number): number {
  return bps(amountCents, feeBps, false);
}

/** VAT on a net amount, half up. */
export function vatOf(netCents: number, vatBps: number): number {
  return bps(netCents, vatBps, true);
}

/** How a charged amount leaves escrow: the operator's share and the platform's fee (they add up to `amountCents`). */
export function releaseSplit(amountCents: number, feeBps: number): { operatorCents: number; feeCents: number } {
  const feeCents = platformFee(amountCents, feeBps);
  return { operatorCents: amountCents - feeCents, feeCents };
}

/**
 * The refund of a booking that was charged `chargedCents` and then cancelled with a fee of `keptCents`:
 * `refundCents = charged − kept`, taken back from the operator and the platform so that afterwards each holds
 * exactly what a settlement of `keptCents` alone would have given it (platform: fee(kept); operator: the rest).
 * Hence the order of cancellation and settlement never changes the final balances.
 * Both shares are ≥ 0 because floor(x × r) and x − floor(x × r) are non-decreasing in x for 0 ≤ r ≤ 1.
 */
export function refundSplit(
  chargedCents: number,
  keptCents: number,
  feeBps: number,
): { refundCents: number; fromOperatorCents: number; fromPlatformCents: number } {
  const kept = Math.min(Math.max(0, keptCents), chargedCents);
  const refundCents = chargedCents - kept;
  const fromPlatformCents = platformFee(chargedCents, feeBps) - platformFee(kept, feeBps);
  return { refundCents, fromOperatorCents: refundCents - fromPlatformCents, fromPlatformCents };
}

/** Invoice number: the issuer's slug upper-cased, the year, the gapless sequence number on six digits. */
export function invoiceNumber(issuerSlug: string, year: number, seq: number): string {
  return `${issuerSlug.toUpperCase()}-${year}-${String(seq).padStart(6, '0')}`;
}

/** "€1,234.50" from cents. */
export function euros(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const whole = Math.floor(abs / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}€${whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** "1234.50" from 123450 cents: a plain decimal for spreadsheets and accounting imports (integer arithmetic, no float). */
export function decimalEuros(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export const REVERSE_CHARGE_NOTE = 'Reverse charge — VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)';

/** The VAT note printed on an invoice. */
export function vatNote(vatBps: number): string {
  return vatBps === 0 ? REVERSE_CHARGE_NOTE : `VAT ${(vatBps / 100).toFixed(2).replace(/\.?0+$/, '')} %`;
}

/** What settling one booking means, decided from the locked booking and what the ledger already holds. */
export type SettlementDecision =
  | { kind: 'already'; amountCents: number }
  | { kind: 'free' } // cancelled free of charge before settlement: nothing to post, record the decision once
  | { kind: 'post'; amountCents: number; operatorCents: number; feeCents: number; cancelled: boolean };

export function decideSettlement(
  b: { status: string; totalCents: number; cancellationFeeCents: number | null },
  ledger: { chargedCents: number | null; freeRecorded: boolean },
  feeBps: number,
): SettlementDecision {
  if (ledger.chargedCents !== null) return { kind: 'already', amountCents: ledger.chargedCents };
  const cancelled = b.status === 'cancelled';
  const amountCents = cancelled ? (b.cancellationFeeCents ?? 0) : b.totalCents;
  if (amountCents <= 0) return ledger.freeRecorded ? { kind: 'already', amountCents: 0 } : { kind: 'free' };
  return { kind: 'post', amountCents, ...releaseSplit(amountCents, feeBps), cancelled };
}
