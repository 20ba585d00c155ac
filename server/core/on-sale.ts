/**
 * What a departure has on sale: the summary of its open listings the departures board shows a forwarder (on-sale
 * TEU, "from" price, sale formats, the soonest auction close) — as opposed to its free capacity, which includes
 * what the operator has not listed.
 *
 * Pure: no I/O, time is passed in. Money is integer EUR cents.
 */
import { fallingPrice, type FallingSchedule } from './pricing.ts';

/** A listing's sale format (the same words as the domain's `ListingFormat`). */
export type SaleFormat = 'fixed' | 'ascending' | 'sealed' | 'falling';

/** The departure's open listings (open now, with TEU left) as the repository aggregates them. */
export interface OnSaleTerms {
  /** Sum of their remaining TEU. */
  teu: number;
  /** Lowest unit price of the open fixed listings, null when there is none. */
  fixedMinCents: number | null;
  /** The price schedules of the open falling listings (their price depends on the time). */
  falling: readonly FallingSchedule[];
  /** Their sale formats (any order, repeats allowed). */
  formats: readonly SaleFormat[];
  /** The soonest close of the open auctions (ascending, sealed), null when there is none. */
  nextCloseAt: Date | null;
}

/** The public `onSale` of a `Departure`. */
export interface OnSale {
  teu: number;
  /** Lowest current unit price of its open fixed and falling listings, null when it has none. */
  fromUnitPriceCents: number | null;
  /** Distinct formats of its open listings, sorted. */
  formats: SaleFormat[];
  /** Soonest close of its open auctions (ISO 8601 UTC), null when it has none. */
  nextCloseAt: string | null;
}

/** The lowest price a buyer could pay per TEU at `now`: the cheapest fixed price or falling price then; null if neither. */
export function lowestUnitPriceAt(fixedMinCents: number | null, falling: readonly FallingSchedule[], now: Date): number | null {
  let best = fixedMinCents;
  for (const s of falling) {
    const p = fallingPrice(s, now);
    if (best === null || p < best) best = p;
  }
  return best;
}

/** The `onSale` summary at `now` of a departure's open listings. */
export function onSaleAt(t: OnSaleTerms, now: Date): OnSale {
  return {
    teu: Math.max(0, t.teu),
    fromUnitPriceCents: lowestUnitPriceAt(t.fixedMinCents, t.falling, now),
    formats: [...new Set(t.formats)].sort(),
    nextCloseAt: t.nextCloseAt ? t.nextCloseAt.toISOString() : null,
  };
}
