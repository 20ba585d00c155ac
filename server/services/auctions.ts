import { keepingRefusal } from './kept-refusals.ts';
import type { Db } from '../adapters/db/db.ts';
import type { IdemKey } from '../adapters/db/idempotency.ts';
import type { ListingRow } from '../adapters/db/listings-repo.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import type { EventSink } from '../adapters/realtime/events.ts';
import type { Principal } from '../domain/principal.ts';
import type { OpenAuctionFilter } from '../adapters/db/auctions-repo.ts';
import type { BidAccepted, Bid, NewBidBody, OpenAuction } from '../domain/schemas/auctions.ts';
import { Bidding } from './auctions/bidding.ts';
import type { AuctionOptions } from './auctions/book.ts';
import { AuctionClosing } from './auctions/closing.ts';
import { BidGroups } from './auctions/groups.ts';
import { AuctionReads, type AuctionView } from './auctions/reads.ts';
import type { BidGroup, BidGroupPlaced, NewBidGroupBody } from '../domain/schemas/bid-groups.ts';
import type { SweepLog } from './sweep.ts';

/**
 * Ascending and sealed auctions, one module per concern under `auctions/`: bidding (the group-committed write
 * path of bids), closing (the close job and its sweep), reads (the ladder and the bids as a caller may see
 * them). Bids on a listing are serialised by its row lock in Postgres and are durable before the 201; the
 * close time is decided by the database's clock, one clock for all processes; clearing is the pure core's
 * and winners become bookings in the same transaction as the close.
 */
export class AuctionsService {
  private readonly bidding: Bidding;
  private readonly closing: AuctionClosing;
  private readonly reads: AuctionReads;
  private readonly groups: BidGroups;

  constructor(
    private readonly db: Db,
    cache: AvailabilityCache,
    events: EventSink,
    queues: Queues | null,
    opts: AuctionOptions,
  ) {
    this.bidding = new Bidding(db, events, opts);
    this.closing = new AuctionClosing(db, cache, events, queues, opts);
    this.reads = new AuctionReads(db, opts);
    this.groups = new BidGroups(db, this.bidding);
  }

  /** POST /api/bid-groups — either-or bids on 2–5 auctions, at most one of which wins. */
  placeGroup(p: Principal, body: NewBidGroupBody): Promise<BidGroupPlaced> {
    return this.groups.place(p, body);
  }

  /** GET /api/bid-groups */
  listGroups(p: Principal): Promise<BidGroup[]> {
    return this.groups.list(p);
  }

  /** GET /api/bid-groups/:id */
  getGroup(p: Principal, id: string): Promise<BidGroup> {
    return this.groups.get(p, id);
  }

  /** GET /api/auctions — open auctions still taking bids, soonest close first (sealed: nothing of their bids). */
  openAuctions(f: OpenAuctionFilter = {}): Promise<OpenAuction[]> {
    return this.reads.openAuctions(f);
  }

  /** POST /api/listings/:id/bids — with or without an Idempotency-Key, through the same group commit. */
  placeBid(p: Principal, listingId: string, input: NewBidBody, idem?: IdemKey): Promise<BidAccepted> {
    return keepingRefusal(this.db, idem, () => this.bidding.place(p, listingId, input, idem));
  }

  /** GET /api/listings/:id/bids */
  listBids(p: Principal, listingId: string): Promise<Bid[]> {
    return this.reads.listBids(p, listingId);
  }

  /** Auction fields of `GET /api/listings/:id` as `p` may see them. */
  view(p: Principal, l: ListingRow): Promise<AuctionView> {
    return this.reads.view(p, l);
  }

  /** The same for several listings at once (a departure's), their bids read in one statement. */
  views(p: Principal, ls: readonly ListingRow[]): Promise<AuctionView[]> {
    return this.reads.views(p, ls);
  }

  /** The `auction.close` job (idempotent; a no-op before the close). */
  close(listingId: string) {
    return this.closing.close(listingId);
  }

  /** The `auctions.sweep` job: closes every overdue auction, each on its own. */
  sweepDue(log?: SweepLog): Promise<{ closed: number; failed: number }> {
    return this.closing.sweepDue(log);
  }
}
