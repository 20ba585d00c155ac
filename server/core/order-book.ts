/**
 * A listing's book kept incrementally (issue 16, part 2). Pure: no I/O, plain data in and out.
 *
 * The bids that take part in allocation (active — not replaced by an auto-bid raise — and eligible: whole TEU,
 * price ≥ reserve) sit in a B+ tree in ranking order ({@link compareBids}); every bid ever given is indexed by id;
 * the highest `seq`, the number of active auto-bids and each bidder's label number are kept as bids arrive. So:
 *
 * - placing a bid: O(log n) (tree insert; a replaced bid's removal too);
 * - ranking: the tree's order, never sorted again;
 * - the allocation, the minimum next bid and what a new bid would get: a walk from the top of the tree that stops
 *   once the listing's TEU are given out — O(log n + w), w the winning bids (at most the listing's TEU) and the
 *   all-or-nothing bids skipped among them — never a walk of the whole book;
 * - the seq and id checks of a new bid: O(1).
 *
 * `acceptBidInBook` is {@link acceptBid} on this book: the same answer (property-tested against the plain
 * definitions, test/unit/order-book.test.ts). A bid with an auto-bid maximum, or one placed while an auto-bid is in
 * force, takes the plain path over the whole book (auto-bid responses simulate raise after raise over every bid):
 * the same answer, at the old cost.
 */
import BTreeModule from 'sorted-btree';
import {
  acceptBid, ascendingLadder, capacityOf, checkIncoming, closeAfterBid, compareBids, effectiveCloseAt, eligible, fail, minFromAllocation, type AcceptBidOptions,
  type AcceptedBid, type Allocation, type AuctionBid, type AuctionConfig, type AuctionFailure, type AuctionWinner, type IncomingBid, type PublicLadder,
} from './auction.ts';

// a CommonJS package whose class is `exports.default`: Node's ESM loader gives the module object, bundlers the class
const BTree = ((BTreeModule as unknown as { default?: unknown }).default ?? BTreeModule) as typeof BTreeModule.default;

export class OrderBook {
  readonly #ranked = new BTree<AuctionBid, true>(undefined, compareBids);
  readonly #byId = new Map<string, AuctionBid>();
  readonly #replaced = new Set<string>();
  /** bidder → its label number (1, 2, … by its first bid's seq) */
  readonly #bidderNo = new Map<string, number>();
  #maxSeq = Number.NEGATIVE_INFINITY;
  #activeAuto = 0;

  /** `rules`: the listing's TEU and reserve (what decides who takes part; they never change during an auction). */
  constructor(
    readonly rules: Pick<AuctionConfig, 'teu' | 'reservePriceCents'>,
    bids: readonly AuctionBid[] = [],
  ) {
    // labels are numbered by first bid: read the given bids in seq order once
    for (const b of [...bids].sort((a, b) => a.seq - b.seq)) this.add(b);
  }

  get size(): number {
    return this.#byId.size;
  }

  get maxSeq(): number {
    return this.#maxSeq;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  get(id: string): AuctionBid | undefined {
    return this.#byId.get(id);
  }

  /** Is any auto-bid (a bid with a maximum) in force? */
  get hasActiveAutoBid(): boolean {
    return this.#activeAuto > 0;
  }

  /** Every bid given, replaced ones included (what the plain functions take): O(n). */
  all(): AuctionBid[] {
    return [...this.#byId.values()];
  }

  /** Adds a bid (arriving after every bid already in, by seq); a raise replaces the bid it names. O(log n). */
  add(b: AuctionBid): void {
    if (this.#byId.has(b.id)) return;
    this.#byId.set(b.id, b);
    if (b.seq > this.#maxSeq) this.#maxSeq = b.seq;
    if (!this.#bidderNo.has(b.bidderId)) this.#bidderNo.set(b.bidderId, this.#bidderNo.size + 1);
    if (b.replacesBidId !== undefined) this.#deactivate(b.replacesBidId);
    if (this.#replaced.has(b.id)) return; // replaced before it arrived (bids given out of order)
    if (b.maxUnitPriceCents !== undefined) this.#activeAuto++;
    if (eligible(this.rules, b)) this.#ranked.set(b, true);
  }

  #deactivate(id: string): void {
    if (this.#replaced.has(id)) return;
    this.#replaced.add(id);
    const old = this.#byId.get(id);
    if (!old) return;
    if (old.maxUnitPriceCents !== undefined) this.#activeAuto--;
    this.#ranked.delete(old);
  }

  /**
   * The fill from the top of the ranking (the rules of {@link allocate}), stopping once the TEU are given out;
   * with `extra`, as if that bid were in the book too. O(log n + w).
   */
  #fill(extra?: AuctionBid, winners?: AuctionWinner[]): { remaining: number; lowest: number | null; teuOfExtra: number } {
    let remaining = capacityOf(this.rules);
    let lowest: number | null = null;
    let teuOfExtra = 0;
    const take = (b: AuctionBid) => {
      let t: number;
      if (b.allOrNothing) {
        if (b.teu > remaining) return;
        t = b.teu;
      } else t = Math.min(b.teu, remaining);
      remaining -= t;
      lowest = b.unitPriceCents;
      if (b === extra) teuOfExtra = t;
      winners?.push({ bidId: b.id, bidderId: b.bidderId, teu: t, unitPriceCents: b.unitPriceCents });
    };
    let pending = extra;
    for (const b of this.#ranked.keys()) {
      if (remaining === 0) break;
      if (pending && compareBids(pending, b) < 0) {
        take(pending);
        pending = undefined;
        if (remaining === 0) break;
      }
      take(b);
    }
    if (pending && remaining > 0) take(pending);
    return { remaining, lowest, teuOfExtra };
  }

  /** {@link allocate} of this book. O(log n + w). */
  allocation(): Allocation {
    const winners: AuctionWinner[] = [];
    const f = this.#fill(undefined, winners);
    return { winners, awardedTeu: capacityOf(this.rules) - f.remaining, unallocatedTeu: f.remaining, lowestWinningPriceCents: f.lowest };
  }

  /** {@link publicLadder} of this book. O(log n + w). */
  ladder(config: AuctionConfig, viewerBidderId: string | null): PublicLadder {
    if (config.format === 'sealed') return { format: 'sealed', closesAt: effectiveCloseAt(config) };
    const label = (bidder: string) => (viewerBidderId !== null && bidder === viewerBidderId ? 'You' : `Bidder ${this.#bidderNo.get(bidder)!}`);
    return ascendingLadder(config, this.allocation(), (id) => this.#byId.get(id)!, label, viewerBidderId);
  }

  /** The summary the minimum of a new bid needs, and what `bid` would be given were it added. O(log n + w). */
  summaryWith(bid?: AuctionBid): { unallocatedTeu: number; lowestWinningPriceCents: number | null; teuOfBid: number } {
    const f = this.#fill(bid);
    return { unallocatedTeu: f.remaining, lowestWinningPriceCents: f.lowest, teuOfBid: f.teuOfExtra };
  }
}

/**
 * {@link acceptBid} on an {@link OrderBook} (the book is not changed: add the accepted bid and its auto-bids after).
 * Plain bids while no auto-bid is in force, and sealed bids, cost O(log n + w); an auto-bid, or a bid placed while one
 * is in force, takes {@link acceptBid} over the whole book — the same answer either way.
 */
export function acceptBidInBook(
  config: AuctionConfig,
  book: OrderBook,
  incoming: IncomingBid,
  now: Date,
  seq: number,
  options: AcceptBidOptions = {},
): AcceptedBid | AuctionFailure {
  if (config.format === 'ascending' && (incoming.maxUnitPriceCents !== undefined || book.hasActiveAutoBid)) {
    return acceptBid(config, book.all(), incoming, now, seq, options);
  }
  const early = checkIncoming(config, incoming, now);
  if (early) return early;
  if (!Number.isSafeInteger(seq) || seq <= book.maxSeq) return fail('invalid_bid', 'seq must be greater than every earlier bid');
  if (book.has(incoming.id)) return fail('invalid_bid', `bid ${incoming.id} already exists`);

  const min = config.format === 'sealed' ? config.reservePriceCents : minFromAllocation(config, book.summaryWith(), incoming);
  if (incoming.unitPriceCents < min) return fail('bid_too_low', `the lowest acceptable unit price is ${min} cents`, min);

  const { maxUnitPriceCents: _drop, replacesBidId: _r, ...base } = incoming;
  const bid: AuctionBid = { ...base, seq, placedAt: now };
  const { closesAt, extended } = closeAfterBid(config, now);
  if (config.format === 'sealed') return { ok: true, bid, closesAt, extended, status: 'sealed', allocatedTeu: 0, autoBids: [] };
  const allocatedTeu = eligible(config, bid) ? book.summaryWith(bid).teuOfBid : 0;
  return { ok: true, bid, closesAt, extended, status: allocatedTeu > 0 ? 'leading' : 'outbid', allocatedTeu, autoBids: [] };
}
