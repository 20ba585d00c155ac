import { audit } from '../../adapters/db/audit.ts';
import { lockListings } from '../../adapters/db/auctions-repo.ts';
import {
  bidStatusesOfGroups, bumpBidSeq, groupIdsOnListing, listingsOfGroups, lockBidGroups, markGroupsLost, markGroupWon, withdrawSiblingBids,
} from '../../adapters/db/bid-groups-repo.ts';
import { bidsOfListing, type BidRow } from '../../adapters/db/bids-repo.ts';
import type { Tx } from '../../adapters/db/db.ts';
import type { ListingRow } from '../../adapters/db/listings-repo.ts';
import type { BidGroupStatus } from '../../adapters/db/schema.ts';
import { auctionLadderEvent, bidGroupEvent } from '../../adapters/realtime/auction-events.ts';
import type { LiveEvent } from '../../adapters/realtime/events.ts';
import { publicLadder } from '../../core/auction.ts';
import { excludedBidIds, groupAfterClose, type GroupState } from '../../core/bid-groups.ts';
import { auctionConfig, bookOf, type AuctionOptions } from './book.ts';

/**
 * The bid-group part of an auction's close (either-or bids; rule in server/core/bid-groups.ts).
 *
 * Lock order, the same for every writer of a group or of its listings: the groups (FOR UPDATE, id order),
 * then the listings (id order), then the departure. A close first reads (unlocked) which groups have bids in
 * force on its listing, locks them, then locks its listing together with those groups' other listings. Two
 * closes of auctions of one group — on any processes — thus serialise on the group's row: the second sees the
 * group `won` and its bid there `withdrawn`, and clears without it. A group bid placed on the listing between
 * the unlocked read and the listing's lock (possible only just before the close) makes the close start again
 * (`covers` is false): a lock is never taken out of order.
 */
export interface GroupLocks {
  /** Groups with bids in force on the listing, locked, with their status and forwarder as read under the lock. */
  groups: Map<string, { status: BidGroupStatus; orgId: string }>;
  /** The listings locked with them (the closing one and the groups' other listings). */
  listings: Map<string, ListingRow>;
}

/** The first locks of a close: the listing's groups, then the listing with the groups' other listings. */
export async function lockGroupsForClose(tx: Tx, listingId: string): Promise<GroupLocks> {
  const ids = await groupIdsOnListing(tx, listingId);
  if (ids.length === 0) return { groups: new Map(), listings: new Map() };
  const groups = await lockBidGroups(tx, ids);
  const listingIds = new Set([listingId, ...(await listingsOfGroups(tx, ids))]);
  const listings = await lockListings(tx, [...listingIds].sort());
  return { groups, listings: new Map(listings.map((l) => [l.id, l] as const)) };
}

/** Whether every group with a bid in force among `rows` (read under the listing's lock) was locked first. */
export function covers(locks: GroupLocks, rows: readonly BidRow[]): boolean {
  return rows.every((r) => r.status !== 'active' || r.bid_group_id === null || locks.groups.has(r.bid_group_id));
}

/** The bids that take no part in the close, and each grouped bid's group (data for the pure core). */
export function groupInputs(locks: GroupLocks, rows: readonly BidRow[]) {
  const states = new Map<string, GroupState>([...locks.groups].map(([id, g]) => [id, g.status] as const));
  const excluded = excludedBidIds(rows.map((r) => ({ id: r.id, groupId: r.bid_group_id, status: r.status })), states);
  const groupOf = new Map(rows.flatMap((r) => (r.bid_group_id !== null ? [[r.id, r.bid_group_id] as const] : [])));
  return { excluded, groupOf };
}

/**
 * In the close's transaction, after its bids were marked won / lost: every group that won here becomes
 * `won` and its other bids in force are withdrawn (their listings' `bid_seq` moves on: every cached book is
 * read again); every other locked group none of whose bids is in force any more becomes `lost`. Returns the
 * live events to publish after the commit: the re-ranked ladders of the listings that lost a bid (the same
 * `listing:update` bids publish), and each decided group to its forwarder (`bid-group:update`).
 */
export async function settleGroups(
  tx: Tx,
  opts: AuctionOptions,
  locks: GroupLocks,
  listingId: string,
  won: { groupId: string; bidId: string }[],
  now: Date,
): Promise<LiveEvent[]> {
  if (locks.groups.size === 0) return [];
  const events: LiveEvent[] = [];
  const touched = new Set<string>();
  for (const w of won) {
    const g = locks.groups.get(w.groupId);
    if (g?.status !== 'open') continue; // never: a decided group's bids are excluded from the clearing
    await markGroupWon(tx, w.groupId, w.bidId, now);
    const withdrawn = await withdrawSiblingBids(tx, w.groupId, w.bidId);
    for (const b of withdrawn) touched.add(b.listing_id);
    const withdrawnBidIds = withdrawn.map((b) => b.id);
    await audit(tx, null, 'bid_group.won', { type: 'bid_group', id: w.groupId }, { listingId, bidId: w.bidId, withdrawn: withdrawnBidIds });
    events.push(bidGroupEvent(g.orgId, { groupId: w.groupId, status: 'won', listingId, wonBidId: w.bidId, withdrawnBidIds }));
  }
  const bidSeqs = await bumpBidSeq(tx, [...touched].sort(), now);

  const wonIds = new Set(won.map((w) => w.groupId));
  const others = [...locks.groups].filter(([id, g]) => g.status === 'open' && !wonIds.has(id)).map(([id]) => id);
  const statuses = await bidStatusesOfGroups(tx, others);
  const lost = others.filter((id) => groupAfterClose(statuses.filter((s) => s.bid_group_id === id)) === 'lost');
  await markGroupsLost(tx, lost, now);
  for (const id of lost) events.push(bidGroupEvent(locks.groups.get(id)!.orgId, { groupId: id, status: 'lost', listingId, withdrawnBidIds: [] }));

  for (const id of [...touched].sort()) {
    const l = locks.listings.get(id);
    if (!l) continue; // never: a group's listings are locked with it
    const book = bookOf(await bidsOfListing(tx, id));
    const ladder = publicLadder(auctionConfig(l, opts), book, null);
    events.push(auctionLadderEvent(l, ladder, new Map(book.map((b) => [b.id, b.seq] as const)), bidSeqs.get(id) ?? Number(l.bid_seq)));
  }
  return events;
}
