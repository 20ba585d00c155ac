/**
 * What a departure has ON SALE (its `onSale`: open listings' TEU, "from" price, formats, soonest auction close), as the
 * board shows it beside its free capacity. Self-contained (no imports): unit-tested from test/unit.
 */

export interface OnSaleLike {
  teu: number;
  fromUnitPriceCents: number | null;
  formats: string[];
  nextCloseAt: string | null;
}

export const NOTHING_ON_SALE: OnSaleLike = Object.freeze({ teu: 0, fromUnitPriceCents: null, formats: [], nextCloseAt: null });

/** The short names of the sale formats on the board's badges, and what each means. */
export const FORMAT_BADGE: Record<string, { label: string; title: string; auction: boolean }> = {
  fixed: { label: 'Fixed', title: 'Fixed price: hold and book now', auction: false },
  falling: { label: 'Falling', title: 'Falling price: drops on a schedule as the departure nears', auction: false },
  ascending: { label: 'Auction', title: 'Live ascending auction: bid in the auction room', auction: true },
  sealed: { label: 'Sealed bid', title: 'Sealed-bid auction: bids stay hidden until the close', auction: true },
};

/** The badges of a departure's sale formats, in the order fixed, falling, auction, sealed. */
export function saleBadges(o: OnSaleLike): { format: string; label: string; title: string; auction: boolean }[] {
  const order = ['fixed', 'falling', 'ascending', 'sealed'];
  return [...o.formats]
    .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99))
    .map((f) => ({ format: f, ...(FORMAT_BADGE[f] ?? { label: f, title: f, auction: false }) }));
}

/** Milliseconds until the soonest auction close at `now`, null without an open auction. */
export function msToClose(o: OnSaleLike, now: number): number | null {
  if (!o.nextCloseAt) return null;
  const t = new Date(o.nextCloseAt).getTime();
  return Number.isFinite(t) ? t - now : null;
}

/**
 * Keeps the on-sale TEU in step with an availability frame until the next read makes it exact. A hold takes its TEU out
 * of its listing, so a drop in free TEU is a drop on sale; a rise is not always one (TEU that come back to a closed or
 * cancelled listing are not for sale), so it waits for the re-read. On sale never exceeds what is free.
 */
export function followFreeTeu(o: OnSaleLike, deltaFreeTeu: number, freeTeu: number): void {
  const next = deltaFreeTeu < 0 ? o.teu + deltaFreeTeu : o.teu;
  o.teu = Math.max(0, Math.min(next, freeTeu));
}

/**
 * The board's on-sale filters: `maxCents` — a fixed or falling price at or below it (a watch's price cap); `minTeu` — at
 * least that many TEU on sale in all (fixed, falling and auctions: what a forwarder with that much cargo could buy or
 * bid for). A filter left null does not apply; a departure with nothing on sale passes neither.
 */
export function onSaleMatches(o: OnSaleLike | null | undefined, maxCents: number | null, minTeu: number | null): boolean {
  if (maxCents !== null && (o?.fromUnitPriceCents == null || o.fromUnitPriceCents > maxCents)) return false;
  if (minTeu !== null && (o?.teu ?? 0) < minTeu) return false;
  return true;
}
