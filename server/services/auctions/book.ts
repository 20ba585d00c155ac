import type { BidRow } from '../../adapters/db/bids-repo.ts';
import type { ListingRow } from '../../adapters/db/listings-repo.ts';
import { compareBids, type AuctionBid, type AuctionConfig } from '../../core/auction.ts';
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

/** Inserts `b` into `book` (kept in {@link compareBids} order) at its place: O(n), no re-sort. */
export function insertRanked(book: AuctionBid[], b: AuctionBid) {
  let lo = 0;
  let hi = book.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBids(book[mid]!, b) <= 0) lo = mid + 1;
    else hi = mid;
  }
  book.splice(lo, 0, b);
}

/**
 * The books (bids in ranking order) of recently bid listings, in process, each with the listing's `bid_seq`
 * when it was committed. A book is used only while that `bid_seq` is still the one read under the listing's
 * row lock (no other process has bid since); otherwise it is read again from Postgres.
 */
export class BookCache {
  private readonly books = new Map<string, { seq: number; bids: AuctionBid[] }>();
  constructor(private readonly max = 2000) {}

  /** A copy of the cached book, if it is current at `bidSeq`. */
  get(listingId: string, bidSeq: number): AuctionBid[] | undefined {
    const hit = this.books.get(listingId);
    return hit && hit.seq === bidSeq ? [...hit.bids] : undefined;
  }

  /** Only after the commit that made `bids` durable. */
  set(listingId: string, bidSeq: number, bids: AuctionBid[]) {
    this.books.set(listingId, { seq: bidSeq, bids });
    if (this.books.size > this.max) this.books.delete(this.books.keys().next().value!);
  }
}
