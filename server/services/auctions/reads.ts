import { listingOperator } from '../../adapters/db/auctions-repo.ts';
import { bidsOfListing, bidsWithBidders } from '../../adapters/db/bids-repo.ts';
import type { Db } from '../../adapters/db/db.ts';
import type { ListingRow } from '../../adapters/db/listings-repo.ts';
import { bidderLabels, effectiveCloseAt, publicLadder } from '../../core/auction.ts';
import { notFound } from '../../domain/errors.ts';
import { policy, type Principal } from '../../domain/principal.ts';
import type { Bid } from '../../domain/schemas/auctions.ts';
import type { Listing } from '../../domain/schemas/network.ts';
import { auctionConfig, bookOf, toAuctionBid, type AuctionOptions } from './book.ts';

/** The auction fields of a `Listing`. */
export type AuctionView = Pick<
  Listing,
  | 'closesAt' | 'maxCloseAt' | 'softCloseWindowSeconds' | 'softCloseExtendSeconds' | 'awardedTeu' | 'clearingPriceCents'
  | 'leadingBids' | 'currentPriceCents' | 'minNextBidCents' | 'unallocatedTeu'
>;

/** What callers may see of an auction: its ladder (never others' sealed prices) and its bids. */
export class AuctionReads {
  constructor(
    private readonly db: Db,
    private readonly opts: AuctionOptions,
  ) {}

  /** Auction fields of `GET /api/listings/:id` as `p` may see them. */
  async view(p: Principal, l: ListingRow): Promise<AuctionView> {
    const config = auctionConfig(l, this.opts);
    const bids = bookOf(await bidsOfListing(this.db, l.id));
    const closed = l.status !== 'open';
    const out: AuctionView = {
      closesAt: effectiveCloseAt(config).toISOString(),
      maxCloseAt: config.maxCloseAt.toISOString(),
      ...(config.format === 'ascending'
        ? { softCloseWindowSeconds: Math.round(config.softCloseWindowMs / 1000), softCloseExtendSeconds: Math.round(config.softCloseExtendMs / 1000) }
        : {}),
    };
    if (closed) Object.assign(out, { awardedTeu: l.awarded_teu ?? 0, clearingPriceCents: l.clearing_price_cents ?? undefined });
    if (config.format === 'ascending') {
      const ladder = publicLadder(config, bids, policy.bidderOrgOf(p));
      if (ladder.format === 'ascending') {
        const seqOf = new Map(bids.map((b) => [b.id, b.seq] as const));
        Object.assign(out, {
          leadingBids: ladder.leadingBids.map((b) => ({
            rank: b.rank, label: b.label, teu: b.bidTeu, allocatedTeu: b.teu, unitPriceCents: b.unitPriceCents, seq: seqOf.get(b.bidId),
          })),
          leadingBidCount: ladder.leadingBidCount,
          currentPriceCents: ladder.currentPriceCents ?? undefined,
          minNextBidCents: closed ? undefined : ladder.minNextBidCents,
          unallocatedTeu: ladder.unallocatedTeu,
        });
      }
    } else if (!closed) {
      Object.assign(out, { minNextBidCents: config.reservePriceCents });
    }
    return out;
  }

  /** GET /api/listings/:id/bids — the owning operator sees all; a forwarder only its own. */
  async listBids(p: Principal, listingId: string): Promise<Bid[]> {
    // Bids are for the trading kinds only: a scheduler is refused with 403 (a kind rule, API.md), not 404 like
    // an operator looking at another operator's listing (access matrix, issue 5).
    policy.requireOrgKind(p, 'forwarder', 'operator', 'platform');
    const l = await listingOperator(this.db, listingId);
    if (!l) throw notFound('listing');
    const rows = await bidsWithBidders(this.db, listingId);
    const seesAll = policy.seesAllBids(p, l.operator_org_id);
    const bidder = policy.bidderOrgOf(p);
    if (!seesAll && !bidder) throw notFound('listing'); // another operator's listing
    const labels = bidderLabels(rows.map(toAuctionBid), seesAll ? null : bidder);
    return rows
      .filter((r) => seesAll || r.org_id === bidder)
      .map((r) => ({
        id: r.id,
        listingId: r.listing_id,
        teu: r.teu,
        unitPriceCents: r.unit_price_cents,
        allOrNothing: r.all_or_nothing,
        ...(r.max_unit_price_cents !== null ? { maxUnitPriceCents: r.max_unit_price_cents } : {}),
        status: r.status,
        seq: Number(r.seq),
        placedAt: r.placed_at.toISOString(),
        label: labels.get(r.org_id) ?? '',
        ...(seesAll ? { orgName: r.org_name } : {}),
        ...(r.awarded_teu !== null ? { awardedTeu: r.awarded_teu } : {}),
        ...(r.bid_group_id !== null ? { groupId: r.bid_group_id } : {}),
      }));
  }
}
