import type { Insertable, Kysely, Selectable } from 'kysely';
import type { BidsTable, DB } from './schema.ts';
import { anyOf, type Tx } from './db.ts';

export type BidRow = Selectable<BidsTable>;
export type NewBid = Insertable<BidsTable>;

/** A listing's bids in the order they were placed (`seq`). */
export function bidsOfListing(db: Kysely<DB>, listingId: string): Promise<BidRow[]> {
  return db.selectFrom('bids').selectAll().where('listing_id', '=', listingId).orderBy('seq').execute();
}

/**
 * The bids of listings (one, or a departure's auctions) and each listing's `bid_seq`, read in one statement (one
 * snapshot: the book version those bids are exactly): per listing its bids in the order placed; a listing without
 * bids is absent (its row's `bid_seq` stands).
 */
export async function bidsOfListingsAtSeq(db: Kysely<DB>, listingIds: readonly string[]): Promise<Map<string, { bids: BidRow[]; bidSeq: number | undefined }>> {
  const out = new Map<string, { bids: BidRow[]; bidSeq: number | undefined }>();
  if (listingIds.length === 0) return out;
  const rows = await db
    .selectFrom('bids')
    .selectAll('bids')
    .select((eb) => eb.selectFrom('listings').select('listings.bid_seq').whereRef('listings.id', '=', 'bids.listing_id').as('listing_bid_seq'))
    .where('bids.listing_id', '=', anyOf(listingIds))
    .orderBy('bids.listing_id')
    .orderBy('bids.seq')
    .execute();
  for (const { listing_bid_seq: seq, ...bid } of rows) {
    let e = out.get(bid.listing_id);
    if (!e) out.set(bid.listing_id, (e = { bids: [], bidSeq: seq === undefined || seq === null ? undefined : Number(seq) }));
    e.bids.push(bid);
  }
  return out;
}

/**
 * The bids in force (status `active`: not replaced by an auto-bid raise, withdrawn, won or lost) of several listings,
 * by listing and in the order they were placed — one query for a whole list of auctions.
 */
export function activeBidsOfListings(db: Kysely<DB>, listingIds: readonly string[]): Promise<BidRow[]> {
  if (listingIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('bids')
    .selectAll()
    .where('listing_id', '=', anyOf(listingIds))
    .where('status', '=', 'active')
    .orderBy('listing_id')
    .orderBy('seq')
    .execute();
}

/** A listing's bids placed after `afterSeq`, in the order they were placed (a cached book catching up). */
export function bidsOfListingAfter(db: Kysely<DB>, listingId: string, afterSeq: number): Promise<BidRow[]> {
  return db.selectFrom('bids').selectAll().where('listing_id', '=', listingId).where('seq', '>', afterSeq).orderBy('seq').execute();
}

/** A listing's bids with their bidders' organisation names, in the order they were placed. */
export function bidsWithBidders(db: Kysely<DB>, listingId: string): Promise<(BidRow & { org_name: string })[]> {
  return db
    .selectFrom('bids as b')
    .innerJoin('organisations as o', 'o.id', 'b.org_id')
    .selectAll('b')
    .select('o.name as org_name')
    .where('b.listing_id', '=', listingId)
    .orderBy('b.seq')
    .execute();
}

/** At the close: a winning bid and the TEU it was awarded. */
export async function markBidWon(tx: Tx, bidId: string, awardedTeu: number): Promise<void> {
  await tx.updateTable('bids').set({ status: 'won', awarded_teu: awardedTeu }).where('id', '=', bidId).execute();
}

/** At the close: every bid of the listing still active, other than the winners, lost. */
export async function markOtherBidsLost(tx: Tx, listingId: string, winnerIds: string[]): Promise<void> {
  let q = tx.updateTable('bids').set({ status: 'lost', awarded_teu: 0 }).where('listing_id', '=', listingId).where('status', '=', 'active');
  if (winnerIds.length) q = q.where('id', 'not in', winnerIds);
  await q.execute();
}
