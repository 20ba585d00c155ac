import type { PublicLadder } from '../../core/auction.ts';
import { rooms, type LiveEvent } from './events.ts';

/**
 * `listing:update` of an auction after bids: its ladder as every watcher may see it (a state: coalesced,
 * newest wins). Sealed auctions carry no prices, no bids and no counts. `seqOf` gives each bid's `seq`. An ascending
 * ladder carries `bidSeq`, the listing's `bid_seq` it is current at: a client drops a read or an event older than
 * the ladder it shows (a read answered before a bid can arrive after that bid's event).
 */
export function auctionLadderEvent(
  l: { id: string; status: string; remaining_teu: number },
  ladder: PublicLadder,
  /** a leading bid's seq (a map of the book, or the book's own lookup) */
  seqOf: Pick<ReadonlyMap<string, number>, 'get'> | ((bidId: string) => number | undefined),
  /** the listing's `bid_seq` as committed with this ladder */
  bidSeq: number,
): LiveEvent {
  const seq = typeof seqOf === 'function' ? seqOf : (id: string) => seqOf.get(id);
  const base = { listingId: l.id, status: l.status, remainingTeu: l.remaining_teu, closesAt: ladder.closesAt.toISOString() };
  const payload =
    ladder.format === 'ascending'
      ? {
          ...base,
          bidSeq,
          currentPriceCents: ladder.currentPriceCents ?? undefined,
          minNextBidCents: ladder.minNextBidCents,
          leadingBidCount: ladder.leadingBidCount,
          unallocatedTeu: ladder.unallocatedTeu,
          leadingBids: ladder.leadingBids.map((b) => ({ rank: b.rank, label: b.label, teu: b.bidTeu, allocatedTeu: b.teu, unitPriceCents: b.unitPriceCents, seq: seq(b.bidId) })),
        }
      : base;
  // an ascending ladder is versioned by its bid_seq: the emitter, the relay and the fan-out keep the newest of
  // several processes' ladders, whatever order they arrive in (sealed: unversioned, the version would count bids)
  return {
    rooms: [rooms.listing(l.id)], event: 'listing:update', payload, coalesceKey: `listing:${l.id}`,
    ...(ladder.format === 'ascending' ? { version: bidSeq } : {}),
  };
}

/** `listing:closed` to the auction's watchers: its result (`shortfallTeu` when the departure could not take it all). */
export function listingClosedEvent(listingId: string, r: { clearingPriceCents: number | null; awardedTeu: number; shortfallTeu: number }): LiveEvent {
  return {
    rooms: [rooms.listing(listingId)],
    event: 'listing:closed',
    payload: {
      listingId, clearingPriceCents: r.clearingPriceCents ?? undefined, awardedTeu: r.awardedTeu,
      ...(r.shortfallTeu > 0 ? { shortfallTeu: r.shortfallTeu } : {}),
    },
  };
}

/** `auction:result` to one bidder's organisation: whether it won, what, and the bookings made of it. */
export function auctionResultEvent(orgId: string, listingId: string, won: { id: string; teu: number }[], shortfallTeu: number): LiveEvent {
  return {
    rooms: [rooms.org(orgId)],
    event: 'auction:result',
    payload: {
      listingId, won: won.length > 0, awardedTeu: won.reduce((s, b) => s + b.teu, 0), bookingIds: won.map((b) => b.id),
      ...(shortfallTeu > 0 ? { shortfallTeu } : {}),
    },
  };
}

/**
 * `bid-group:update` to the group's forwarder: its group was decided at a close — `won` (by `wonBidId` on
 * `listingId`; `withdrawnBidIds` were withdrawn in the same transaction) or `lost`.
 */
export function bidGroupEvent(
  orgId: string,
  g: { groupId: string; status: 'won' | 'lost'; listingId: string; wonBidId?: string; withdrawnBidIds: string[] },
): LiveEvent {
  return { rooms: [rooms.org(orgId)], event: 'bid-group:update', payload: g };
}
