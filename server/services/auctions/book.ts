import type { BidRow } from '../../adapters/db/bids-repo.ts';
import type { ListingRow } from '../../adapters/db/listings-repo.ts';
import type { AuctionBid, AuctionConfig } from '../../core/auction.ts';
import type { OrderBook } from '../../core/order-book.ts';
import type { OfferCascade } from '../offers/cascade.ts';

/** The soft-close rule of every auction (SOFT_CLOSE_WINDOW_SECONDS, SOFT_CLOSE_EXTEND_SECONDS). */
export interface AuctionOptions {
  softCloseWindowMs: number;
  softCloseExtendMs: number;
  /** Unsold TEU re-listed at a fixed price are first offered to matching watches (issue 14; absent: straight to the board). */
  offers?: OfferCascade;
}

/** The pure core's view of an auction listing. */
export function auctionConfig(l: ListingRow, opts: AuctionOptions): AuctionConfig {
  return {
    format: l.format as 'ascending' | 'sealed',
    teu: l.teu,
    reservePriceCents: l.reserve_price_cents ?? 0,
    minIncrementCents: l.min_increment_cents ?? 1,
    opensAt: l.opens_at ?? l.created_at,
    closesAt: l.closes_at ?? l.created_at,
    softCloseWindowMs: opts.softCloseWindowMs,
    softCloseExtendMs: opts.softCloseExtendMs,
    maxCloseAt: l.max_close_at ?? l.closes_at ?? l.created_at,
  };
}

/** The pure core's view of a stored bid. */
export const toAuctionBid = (b: BidRow): AuctionBid => ({
  id: b.id,
  bidderId: b.org_id,
  teu: b.teu,
  unitPriceCents: b.unit_price_cents,
  allOrNothing: b.all_or_nothing,
  seq: Number(b.seq),
  placedAt: b.placed_at,
  ...(b.max_unit_price_cents !== null ? { maxUnitPriceCents: b.max_unit_price_cents } : {}),
  ...(b.replaces_bid_id ? { replacesBidId: b.replaces_bid_id } : {}),
});

/**
 * The book of a listing as bidding, ladders and clearing see it: its stored bids without those withdrawn by
 * their group (a sibling won elsewhere; server/core/bid-groups.ts).
 */
export const bookOf = (rows: readonly BidRow[]): AuctionBid[] => rows.filter((b) => b.status !== 'withdrawn').map(toAuctionBid);

/**
 * The books of recently bid listings, in process ({@link OrderBook}: kept incrementally, issue 16), each with the
 * listing's `bid_seq` when it was committed. A book is taken out while a batch decides on it (changed in place, not
 * yet committed) and put back only after the commit, so a batch that fails leaves nothing cached. A book is current
 * when that `bid_seq` is still the one read under the listing's row lock; one that another process has bid past
 * catches up with the bids placed since (./bidding.ts), and is read again whole when anything else changed.
 */
export class BookCache {
  private readonly books = new Map<string, { seq: number; book: OrderBook }>();
  constructor(private readonly max = 2000) {}

  /** The cached book and the `bid_seq` it is current at, taken out, when its rules are the listing's. */
  take(listingId: string, rules: { teu: number; reservePriceCents: number }): { seq: number; book: OrderBook } | undefined {
    const hit = this.books.get(listingId);
    this.books.delete(listingId);
    if (!hit || hit.book.rules.teu !== rules.teu || hit.book.rules.reservePriceCents !== rules.reservePriceCents) return undefined;
    return hit;
  }

  /** Only after the commit that made the book's bids durable (or when nothing was added). */
  set(listingId: string, bidSeq: number, book: OrderBook) {
    this.books.set(listingId, { seq: bidSeq, book });
    if (this.books.size > this.max) this.books.delete(this.books.keys().next().value!);
  }
}
