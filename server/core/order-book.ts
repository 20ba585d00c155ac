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
 *   all-or-nothing bids skipped among them — never a walk of the whole book (and while all the bids' TEU fit in
 *   the listing, no walk at all: O(log n));
 * - the seq and id checks of a new bid: O(1).
 *
 * `acceptBidInBook` is {@link acceptBid} on this book: the same answer (property-tested against the plain
 * definitions, test/unit/order-book.test.ts). Auto-bid responses are simulated on a copy-on-write clone of the tree
 * (./order-book-auto-bids.ts): each raise a walk of the winners per auto-bid in force, not a sort of the book.
 */
import BTreeModule from 'sorted-btree';
import { autoBidsInTree, type RankingTree } from './order-book-auto-bids.ts';
import {
  ascendingLadder, bidAtMinimum, LADDER_ROWS, capacityOf, checkIncoming, closeAfterBid, compareBids, effectiveCloseAt, eligible, fail, minFromAllocation, type AcceptBidOptions,
  type AcceptedBid, type Allocation, type AuctionBid, type AuctionConfig, type AuctionFailure, type AuctionWinner, type IncomingBid, type PublicLadder,
} from './auction.ts';

// a CommonJS package whose class is `exports.default`: Node's ESM loader gives the module object, bundlers the class
const BTree = ((BTreeModule as unknown as { default?: unknown }).default ?? BTreeModule) as typeof BTreeModule.default;

export class OrderBook {
  readonly #ranked = new BTree<AuctionBid, true>(undefined, compareBids);
  readonly #byId = new Map<string, AuctionBid>();
  readonly #replaced = new Set<string>();
  /** ids of the bids in force (added and not replaced): what the counts below were kept for */
  readonly #inForce = new Set<string>();
  /** the auto-bids in force that take part in allocation (in the tree) */
  readonly #autos = new Set<AuctionBid>();
  /** bidder → its label number (1, 2, … by its first bid's seq) */
  readonly #bidderNo = new Map<string, number>();
  #maxSeq = Number.NEGATIVE_INFINITY;
  #activeAuto = 0;
  /** TEU of the bids in the tree: while they all fit in the listing, nobody is cut and the fill needs no walk */
  #rankedTeu = 0;

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

  /** Has a bid given to the book named `id` as the bid it replaces (whether or not `id` has arrived)? */
  isReplaced(id: string): boolean {
    return this.#replaced.has(id);
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
    if (this.#replaced.has(b.id)) return; // replaced before it arrived (bids given out of order), or by itself
    this.#inForce.add(b.id);
    if (b.maxUnitPriceCents !== undefined) this.#activeAuto++;
    if (eligible(this.rules, b)) {
      this.#ranked.set(b, true);
      this.#rankedTeu += b.teu;
      if (b.maxUnitPriceCents !== undefined) this.#autos.add(b);
    }
  }

  #deactivate(id: string): void {
    if (this.#replaced.has(id)) return;
    this.#replaced.add(id);
    const old = this.#byId.get(id);
    if (!old || !this.#inForce.delete(id)) return; // not (yet) counted: nothing to take back
    if (old.maxUnitPriceCents !== undefined) this.#activeAuto--;
    if (this.#ranked.delete(old)) this.#rankedTeu -= old.teu;
    this.#autos.delete(old);
  }

  /** The ranking and its auto-bids as a simulation may change them: an O(1) copy-on-write clone of the tree. */
  simulation(): { tree: RankingTree; autos: Set<AuctionBid> } {
    return { tree: this.#ranked.clone(), autos: new Set(this.#autos) };
  }

  /**
   * The fill from the top of the ranking (the rules of {@link allocate}), stopping once the TEU are given out;
   * with `extra`, as if that bid were in the book too. O(log n + w).
   */
  #fill(extra?: AuctionBid, winners?: AuctionWinner[]): { remaining: number; lowest: number | null; teuOfExtra: number } {
    const capacity = capacityOf(this.rules);
    if (!winners && this.#rankedTeu + (extra?.teu ?? 0) <= capacity) {
      // undersubscribed: every bid gets all its TEU (an all-or-nothing one fits too); the lowest price is the
      // ranking's last bid — O(log n) however many bids there are
      const last = this.#ranked.maxKey();
      const prices = [last?.unitPriceCents, extra?.unitPriceCents].filter((x): x is number => x !== undefined);
      return { remaining: capacity - this.#rankedTeu - (extra?.teu ?? 0), lowest: prices.length ? Math.min(...prices) : null, teuOfExtra: extra?.teu ?? 0 };
    }
    let remaining = capacity;
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

  /**
   * {@link publicLadder} of this book. O(log n + w); a broadcast ladder (no viewer) of an undersubscribed book —
   * every bid wins all its TEU — O(log n + maxRows): the top of the ranking, without a walk of the winners.
   */
  ladder(config: AuctionConfig, viewerBidderId: string | null, maxRows = LADDER_ROWS): PublicLadder {
    if (config.format === 'sealed') return { format: 'sealed', closesAt: effectiveCloseAt(config) };
    const label = (bidder: string) => (viewerBidderId !== null && bidder === viewerBidderId ? 'You' : `Bidder ${this.#bidderNo.get(bidder)!}`);
    const capacity = capacityOf(this.rules);
    if (viewerBidderId === null && this.#rankedTeu <= capacity) {
      const winners: AuctionWinner[] = [];
      for (const b of this.#ranked.keys()) {
        if (winners.length >= maxRows) break;
        winners.push({ bidId: b.id, bidderId: b.bidderId, teu: b.teu, unitPriceCents: b.unitPriceCents });
      }
      const f = this.#fill(); // undersubscribed: O(log n), no walk
      const a: Allocation = { winners, awardedTeu: capacity - f.remaining, unallocatedTeu: f.remaining, lowestWinningPriceCents: f.lowest };
      return ascendingLadder(config, a, (id) => this.#byId.get(id)!, label, null, maxRows, this.#ranked.size);
    }
    return ascendingLadder(config, this.allocation(), (id) => this.#byId.get(id)!, label, viewerBidderId, maxRows);
  }

  /** The summary the minimum of a new bid needs, and what `bid` would be given were it added. O(log n + w). */
  summaryWith(bid?: AuctionBid): { unallocatedTeu: number; lowestWinningPriceCents: number | null; teuOfBid: number } {
    const f = this.#fill(bid);
    return { unallocatedTeu: f.remaining, lowestWinningPriceCents: f.lowest, teuOfBid: f.teuOfExtra };
  }
}

/**
 * {@link acceptBid} on an {@link OrderBook} (the book is not changed: add the accepted bid and its auto-bids after).
 * The same answer as the plain function over `book.all()`; the checks and the minimum cost O(log n + w), the auto-bid
 * responses (ascending) O(a·w) per raise on a clone of the ranking (./order-book-auto-bids.ts).
 */
export function acceptBidInBook(
  config: AuctionConfig,
  book: OrderBook,
  incoming: IncomingBid,
  now: Date,
  seq: number,
  options: AcceptBidOptions = {},
): AcceptedBid | AuctionFailure {
  const early = checkIncoming(config, incoming, now);
  if (early) return early;
  if (!Number.isSafeInteger(seq) || seq <= book.maxSeq) return fail('invalid_bid', 'seq must be greater than every earlier bid');
  if (book.has(incoming.id)) return fail('invalid_bid', `bid ${incoming.id} already exists`);

  const min = config.format === 'sealed' ? config.reservePriceCents : minFromAllocation(config, book.summaryWith(), incoming);
  const bid = bidAtMinimum(config, incoming, min, seq, now);
  if ('ok' in bid) return bid;
  const isAuto = bid.maxUnitPriceCents !== undefined;
  const { closesAt, extended } = closeAfterBid(config, now);
  if (config.format === 'sealed') return { ok: true, bid, closesAt, extended, status: 'sealed', allocatedTeu: 0, autoBids: [] };
  if (!isAuto && !book.hasActiveAutoBid) {
    // nothing can be raised: what the bid gets is one walk of the winners
    const allocatedTeu = eligible(config, bid) ? book.summaryWith(bid).teuOfBid : 0;
    return { ok: true, bid, closesAt, extended, status: allocatedTeu > 0 ? 'leading' : 'outbid', allocatedTeu, autoBids: [] };
  }
  const sim = book.simulation();
  // (a bid whose id a stored bid already names as replaced is not in force: the plain function's activeBids drops it)
  if (eligible(config, bid) && !book.isReplaced(bid.id)) {
    sim.tree.set(bid, true);
    if (isAuto) sim.autos.add(bid);
  }
  const res = autoBidsInTree(config, sim.tree, sim.autos, bid, seq, now, options);
  const autoBids = res.autoBids;
  // no raise: what the bid gets is its share of the book with it inserted (as acceptBid's insertRanked), else the final fill
  const allocatedTeu = autoBids.length > 0 ? res.allocatedTeu : eligible(config, bid) ? book.summaryWith(bid).teuOfBid : 0;
  return { ok: true, bid, closesAt, extended, status: allocatedTeu > 0 ? 'leading' : 'outbid', allocatedTeu, autoBids };
}
