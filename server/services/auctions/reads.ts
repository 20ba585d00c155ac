import { listingOperator, openAuctions, type OpenAuctionFilter, type OpenAuctionRow } from '../../adapters/db/auctions-repo.ts';
import { activeBidsOfListings, bidsOfListingsAtSeq, bidsWithBidders, type BidRow } from '../../adapters/db/bids-repo.ts';
import type { Db } from '../../adapters/db/db.ts';
import type { ListingRow } from '../../adapters/db/listings-repo.ts';
import { activeBids, allocate, bidderLabels, effectiveCloseAt, minFromAllocation, publicLadder } from '../../core/auction.ts';
import { notFound } from '../../domain/errors.ts';
import { policy, type Principal } from '../../domain/principal.ts';
import type { Bid, OpenAuction } from '../../domain/schemas/auctions.ts';
import type { Listing } from '../../domain/schemas/network.ts';
import { auctionConfig, bookOf, toAuctionBid, type AuctionOptions } from './book.ts';

/** The auction fields of a `Listing`. */
export type AuctionView = Pick<
  Listing,
  | 'closesAt' | 'maxCloseAt' | 'softCloseWindowSeconds' | 'softCloseExtendSeconds' | 'awardedTeu' | 'clearingPriceCents'
  | 'leadingBids' | 'currentPriceCents' | 'minNextBidCents' | 'unallocatedTeu' | 'bidSeq'
>;

/** What callers may see of an auction: its ladder (never others' sealed prices) and its bids. */
export class AuctionReads {
  /** The prices `GET /api/auctions` showed, per listing, until its book moves on (its `bid_seq`). */
  private readonly prices = new AuctionPrices();

  constructor(
    private readonly db: Db,
    private readonly opts: AuctionOptions,
  ) {}

  /** Auction fields of `GET /api/listings/:id` as `p` may see them. */
  async view(p: Principal, l: ListingRow): Promise<AuctionView> {
    return (await this.views(p, [l]))[0]!;
  }

  /**
   * The same for several listings (a departure's), their bids read in one statement: an outside test put 150 sealed
   * listings on one departure, and its page read them one query each (93 ms a view, 1.3 s for 20 at once).
   */
  async views(p: Principal, ls: readonly ListingRow[]): Promise<AuctionView[]> {
    const reads = await bidsOfListingsAtSeq(this.db, ls.map((l) => l.id));
    return ls.map((l) => this.viewOf(p, l, reads.get(l.id) ?? { bids: [], bidSeq: undefined }));
  }

  private viewOf(p: Principal, l: ListingRow, read: { bids: BidRow[]; bidSeq: number | undefined }): AuctionView {
    const config = auctionConfig(l, this.opts);
    const bids = bookOf(read.bids);
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
          // the bids' own snapshot names their version (no bid: the row's, read before — nothing was bid since)
          bidSeq: read.bidSeq ?? Number(l.bid_seq),
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

  /**
   * GET /api/auctions — open auctions still taking bids, soonest close first (at most 200), optionally of one origin,
   * destination or mode. Ascending: the live price as every watcher sees it (lowest winning price, minimum next bid,
   * bids in force), priced by the pure core from the books of the listed auctions, read in one query for those whose
   * book moved since the last call (`AuctionPrices`). Sealed:
   * the reserve as the minimum bid, and nothing of the bids — no price, no count — as for any viewer of the listing.
   */
  async openAuctions(f: OpenAuctionFilter = {}): Promise<OpenAuction[]> {
    const rows = await openAuctions(this.db, f);
    // the cache is read once, before the await: what another call stores meanwhile is not this call's to use
    const cached = new Map(rows.map((r) => [r.id, r.format === 'ascending' ? this.prices.get(r) : undefined]));
    const unpriced = rows.filter((r) => r.format === 'ascending' && !cached.get(r.id));
    const books = new Map<string, BidRow[]>();
    for (const b of await activeBidsOfListings(this.db, unpriced.map((r) => r.id))) {
      const list = books.get(b.listing_id);
      if (list) list.push(b);
      else books.set(b.listing_id, [b]);
    }
    return rows.map((r) => {
      const config = auctionConfig(r, this.opts);
      const base = {
        listingId: r.id, format: config.format, teu: r.teu, remainingTeu: r.remaining_teu,
        ...(r.reserve_price_cents !== null ? { reservePriceCents: r.reserve_price_cents } : {}),
        closesAt: effectiveCloseAt(config).toISOString(), departureId: r.departure_id, departsAt: r.departs_at.toISOString(),
        corridorId: r.corridor_id, mode: r.mode, origin: r.origin, destination: r.destination,
        assetName: r.asset_name, operatorOrgId: r.operator_org_id, operatorName: r.operator_name,
      };
      if (config.format !== 'ascending') return { ...base, minNextBidCents: config.reservePriceCents };
      let price = cached.get(r.id);
      if (!price) {
        // its bids were read above (every row without a cached price was)
        const book = activeBids(bookOf(books.get(r.id) ?? []));
        const a = allocate(config, book);
        price = this.prices.set(r, { currentPriceCents: a.lowestWinningPriceCents, minNextBidCents: minFromAllocation(config, a), bidCount: book.length });
      }
      return {
        ...base,
        ...(price.currentPriceCents !== null ? { currentPriceCents: price.currentPriceCents } : {}),
        minNextBidCents: price.minNextBidCents,
        bidCount: price.bidCount,
      };
    });
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

interface AuctionPrice {
  currentPriceCents: number | null;
  minNextBidCents: number;
  bidCount: number;
}

/**
 * An ascending auction's price as of its listing's `bid_seq`, which every change of its book moves on (a bid, a
 * group sibling withdrawn): a listing whose `bid_seq` and terms are those of the entry needs no read of its bids. The
 * bids are read after the row, so an entry is never older than its `bid_seq` says. At most `max` listings, oldest out.
 */
class AuctionPrices {
  private readonly byListing = new Map<string, AuctionPrice & { key: string }>();
  constructor(private readonly max = 5000) {}

  private static key(r: OpenAuctionRow) {
    return `${r.bid_seq}:${r.teu}:${r.reserve_price_cents}:${r.min_increment_cents}`;
  }

  get(r: OpenAuctionRow): AuctionPrice | undefined {
    const hit = this.byListing.get(r.id);
    return hit && hit.key === AuctionPrices.key(r) ? hit : undefined;
  }

  set(r: OpenAuctionRow, price: AuctionPrice): AuctionPrice {
    this.byListing.delete(r.id);
    this.byListing.set(r.id, { ...price, key: AuctionPrices.key(r) });
    if (this.byListing.size > this.max) this.byListing.delete(this.byListing.keys().next().value!);
    return price;
  }
}
