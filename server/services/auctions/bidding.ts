import { randomUUID } from 'node:crypto';
import { listingFormat, lockListingsAtClock, writeBidBatch } from '../../adapters/db/auctions-repo.ts';
import { bidsOfListing, bidsOfListingAfter, type NewBid } from '../../adapters/db/bids-repo.ts';
import { inTransaction, type Db, type Tx } from '../../adapters/db/db.ts';
import type { IdemKey } from '../../adapters/db/idempotency.ts';
import { databaseNow, type ListingRow } from '../../adapters/db/listings-repo.ts';
import { auctionLadderEvent } from '../../adapters/realtime/auction-events.ts';
import type { EventSink } from '../../adapters/realtime/events.ts';
import { minFromAllocation, type AuctionBid, type AuctionConfig, type AuctionFailure } from '../../core/auction.ts';
import { acceptBidInBook, OrderBook } from '../../core/order-book.ts';
import { AppError, conflict, notFound } from '../../domain/errors.ts';
import { policy, type Principal } from '../../domain/principal.ts';
import type { BidAccepted, NewBidBody } from '../../domain/schemas/auctions.ts';
import { KeyedBatcher, type TakeLate } from '../batcher.ts';
import { BatchKeys } from '../batch-keys.ts';
import { auctionConfig, bookOf, BookCache, type AuctionOptions } from './book.ts';

/** One bid on its way to the database; `idem`: its Idempotency-Key, if it came with one. */
interface BidRequest {
  listingId: string;
  p: Principal;
  input: NewBidBody;
  idem?: IdemKey | undefined;
  /** The bid group it is placed in (either-or bids; see ./groups.ts). */
  groupId?: string;
}

type Answer = BidAccepted | Error;

/** What a batch changed on one listing: for its writes, the book cache and the live ladder. */
interface ListingChange {
  l: ListingRow;
  config: AuctionConfig;
  book: OrderBook;
  seq: number;
  closesAt: Date;
}

/** The rows a batch writes, each kind with one statement. */
interface BatchWrites {
  bids: NewBid[];
  replaced: string[];
  audits: { actor: Principal; id: string; data: Record<string, unknown> }[];
}

/** A refusal of the pure core as the API error. */
function refusal(res: AuctionFailure): AppError {
  if (res.code === 'invalid_bid') return new AppError(400, 'invalid_bid', res.message);
  if (res.code === 'bid_too_high') return new AppError(422, 'bid_too_high', res.message, { maxUnitPriceCents: res.maxUnitPriceCents });
  return conflict(res.code, res.message, res.minUnitPriceCents !== undefined ? { minUnitPriceCents: res.minUnitPriceCents } : undefined);
}

const bidRow = (listingId: string, b: AuctionBid, userId: string | null, groupId: string | null = null): NewBid => ({
  id: b.id, listing_id: listingId, org_id: b.bidderId, user_id: userId, seq: b.seq, teu: b.teu, unit_price_cents: b.unitPriceCents,
  all_or_nothing: b.allOrNothing, max_unit_price_cents: b.maxUnitPriceCents ?? null, replaces_bid_id: b.replacesBidId ?? null, placed_at: b.placedAt,
  bid_group_id: groupId,
});

/**
 * The one write path of bids: group commit. Bids that arrive while a batch is in flight wait for the next one
 * and go together (no timer: a lone bid goes at once), in a few lanes per process (a listing always in the
 * same lane, so one process never races itself on a listing). One transaction claims the batch's
 * Idempotency-Keys (see {@link BatchKeys}), locks its listings in id order (the guard across processes; no
 * deadlock between batches), reads the database clock once every lock is held — one clock decides the close
 * — then the pure core decides each listing's bids in arrival order against its book as the earlier bids of
 * the batch left it; each kind of row is written with one statement; one commit. Every bid is durable before
 * its 201 and gets the answer it would have had alone; a refused one gets its own error and never fails the
 * others.
 */
export class Bidding {
  /** Lanes per process: a listing always goes through the same one. */
  private static readonly LANES = 4;
  private readonly batcher = new KeyedBatcher<BidRequest, BidAccepted>((_lane, items, takeLate) => this.run(items, takeLate), 400);
  private readonly books = new BookCache();
  /** A listing's format never changes: remembered per process (a bid does not read it from Postgres again). */
  private readonly formats = new Map<string, string>();

  constructor(
    private readonly db: Db,
    private readonly events: EventSink,
    private readonly opts: AuctionOptions,
  ) {}

  /** POST /api/listings/:id/bids */
  async place(p: Principal, rawListingId: string, input: NewBidBody, idem?: IdemKey): Promise<BidAccepted> {
    policy.requireOrgKind(p, 'forwarder');
    const listingId = rawListingId.toLowerCase(); // a UUID in any case is one listing (the batch groups by it)
    const format = await this.formatOf(listingId);
    if (!format) throw notFound('listing');
    if (format !== 'ascending' && format !== 'sealed') throw conflict('wrong_format', `a ${format} listing is held, not bid on`);
    return this.batcher.submit(`lane:${parseInt(listingId.slice(-2), 16) % Bidding.LANES}`, { listingId, p, input, idem });
  }

  private async formatOf(listingId: string): Promise<string | undefined> {
    const known = this.formats.get(listingId);
    if (known) return known;
    const format = await listingFormat(this.db, listingId);
    if (!format) return undefined;
    if (this.formats.size > 50_000) this.formats.clear();
    this.formats.set(listingId, format);
    return format;
  }

  /** One batch: keys, decisions and writes in one transaction; the cache and live events after its commit. */
  private async run(items: BidRequest[], takeLate: TakeLate<BidRequest>): Promise<Answer[]> {
    const keys = items.map((it) => it.idem);
    const out = await inTransaction(this.db, async (tx) => {
      const claimed = await BatchKeys.claim<BidAccepted>(tx, keys);
      const answers: (Answer | undefined)[] = [...claimed.known];
      const todo = items.flatMap((_, i) => (claimed.toDecide(i) ? [i] : []));
      const changed = todo.length > 0 ? await this.decide(tx, items, todo, answers, takeLate) : [];
      for (const i of todo) answers[i] ??= notFound('listing'); // a listing that vanished between the format check and the lock
      await claimed.finish(tx, keys, answers, 201);
      return { answers: answers as Answer[], changed };
    });
    await this.published(out.changed);
    return out.answers;
  }

  /**
   * After the commit of `changed`: watchers get the ladders — rendered from the books as committed, before they go
   * back to the cache (the top LADDER_ROWS: O(log n + 50) for a book whose bids all fit; coalesced per listing by
   * the event sink) — then the book cache may follow.
   */
  private async published(changed: ListingChange[]) {
    if (changed.length === 0) return;
    const events = changed.map((c) => {
      const e = auctionLadderEvent(c.l, c.book.ladder(c.config, null), (id) => c.book.get(id)?.seq, c.seq);
      this.books.set(c.l.id, c.seq, c.book); // committed: the cache may follow
      return e;
    });
    await this.events.emit(events).catch(() => {});
  }

  /**
   * The bids of a new bid group (either-or; see ./groups.ts): one transaction that inserts the group's row
   * first, then takes the same path as a batch of single bids — its listings locked in id order, the database
   * clock read once, each bid decided by the pure core against its listing's book, exactly as a single bid.
   * All or nothing: the first refused bid refuses the group (its error names `bidIndex`) and nothing is kept.
   */
  async placeGroup(p: Principal, bids: (NewBidBody & { listingId: string })[], insertGroup: (tx: Tx) => Promise<string>) {
    bids = bids.map((b) => ({ ...b, listingId: b.listingId.toLowerCase() }));
    for (const [i, b] of bids.entries()) {
      const format = await this.formatOf(b.listingId);
      if (!format) throw withIndex(notFound('listing'), i);
      if (format !== 'ascending' && format !== 'sealed') throw withIndex(conflict('wrong_format', `a ${format} listing is held, not bid on`), i);
    }
    const out = await inTransaction(this.db, async (tx) => {
      const groupId = await insertGroup(tx); // the group's row first: the lock order is group, then listings
      const items: BidRequest[] = bids.map(({ listingId, ...input }) => ({ listingId, p, input, groupId }));
      const answers: (Answer | undefined)[] = [];
      const changed = await this.decide(tx, items, items.map((_, i) => i), answers);
      for (const [i, a] of answers.entries()) if (a instanceof Error) throw withIndex(a, i);
      if (answers.length < items.length || answers.includes(undefined)) throw withIndex(notFound('listing'), answers.findIndex((a) => !a));
      return { groupId, answers: answers as BidAccepted[], changed };
    });
    await this.published(out.changed);
    return out;
  }

  /**
   * Locks the listings of items `todo`, decides their bids listing by listing and writes the result. Bids that came
   * for a locked listing while the batch waited for its lock (another process held it) are taken in (`takeLate`) and
   * decided after the batch's own — in arrival order still — instead of waiting for a lock of their own after this
   * one: under a flurry on one listing the lock changes hands once per batch, not once per arrival. Only bids without
   * an Idempotency-Key (a key is claimed before any lock: claiming one under a lock could wait on a retry that waits for
   * the lock), and none that came after a keyed one for the same listing.
   */
  private async decide(tx: Tx, items: BidRequest[], todo: number[], answers: (Answer | undefined)[], takeLate?: TakeLate<BidRequest>): Promise<ListingChange[]> {
    const byListing = new Map<string, number[]>();
    for (const i of todo) byListing.set(items[i]!.listingId, [...(byListing.get(items[i]!.listingId) ?? []), i]);
    // the database clock is read after every lock of the batch is held
    const { listings: locked, now: lockedAt } = await lockListingsAtClock(tx, [...byListing.keys()].sort());
    const lockedIds = new Set(locked.map((l) => l.id));
    const keyed = new Set<string>(); // listings with a keyed bid waiting: the bids after it wait too (arrival order)
    const lateOnes = takeLate?.((it) => {
      if (!lockedIds.has(it.listingId) || keyed.has(it.listingId)) return false;
      if (it.idem) keyed.add(it.listingId);
      return !it.idem;
    });
    for (const late of lateOnes ?? []) {
      byListing.get(late.listingId)!.push(items.length);
      items.push(late);
    }
    // a late bid may have come after that clock was read (the reply waited for a busy event loop): the batch's one clock
    // is then read again, still under every lock, so that no bid is decided at a time before it arrived
    const now = lateOnes?.length ? await databaseNow(tx) : lockedAt;
    const writes: BatchWrites = { bids: [], replaced: [], audits: [] };
    const changed: ListingChange[] = [];
    for (const l of locked) {
      const c = await this.decideListing(tx, l, byListing.get(l.id)!, items, now, answers, writes);
      if (c) changed.push(c);
    }
    // One statement under the locks. An extended close needs no new job: the close job scheduled for the earlier close
    // finds it early and schedules the next one at the close as it then stands (./closing.ts).
    await writeBidBatch(tx, { ...writes, listings: changed.map((c) => ({ id: c.l.id, bidSeq: c.seq, closesAt: c.closesAt })) }, now);
    return changed;
  }

  /**
   * The listing's book (kept incrementally: server/core/order-book.ts), under its row lock. From this process' cache
   * when no other process has bid since (bid_seq); when others have, the cached book catches up with the bids placed
   * since — only when they account for every seq in between (a group sibling withdrawn moves bid_seq without a bid:
   * then, or with no cached book, the whole book is read from Postgres).
   */
  private async currentBook(tx: Tx, l: ListingRow, config: { teu: number; reservePriceCents: number }): Promise<OrderBook> {
    const bidSeq = Number(l.bid_seq);
    const cached = this.books.take(l.id, config);
    if (cached && cached.seq === bidSeq) return cached.book;
    if (cached && cached.seq < bidSeq) {
      const newer = await bidsOfListingAfter(tx, l.id, cached.seq);
      if (newer.length === bidSeq - cached.seq && newer.every((b) => b.status !== 'withdrawn' && b.seq <= bidSeq)) {
        for (const b of bookOf(newer)) cached.book.add(b);
        return cached.book;
      }
    }
    return new OrderBook(config, bookOf(await bidsOfListing(tx, l.id)));
  }

  /** The bids of one locked listing, in arrival order, against its book; undefined when none was accepted. */
  private async decideListing(
    tx: Tx,
    l: ListingRow,
    mine: number[],
    items: BidRequest[],
    now: Date,
    answers: (Answer | undefined)[],
    writes: BatchWrites,
  ): Promise<ListingChange | undefined> {
    if (l.status !== 'open') {
      for (const i of mine) answers[i] = conflict('auction_closed', `this auction is ${l.status}`);
      return undefined;
    }
    let config = auctionConfig(l, this.opts);
    const book = await this.currentBook(tx, l, config);
    let seq = Number(l.bid_seq);
    const accepted: BidAccepted[] = [];
    for (const i of mine) {
      const { p, input } = items[i]!;
      const incoming = {
        id: randomUUID(), bidderId: p.orgId, teu: input.teu, unitPriceCents: input.unitPriceCents, allOrNothing: input.allOrNothing ?? false,
        ...(input.maxUnitPriceCents !== undefined ? { maxUnitPriceCents: input.maxUnitPriceCents } : {}),
      };
      const res = acceptBidInBook(config, book, incoming, now, seq + 1, { newBidId: () => randomUUID() });
      if (!res.ok) {
        answers[i] = refusal(res);
        continue;
      }
      seq += 1 + res.autoBids.length;
      writes.bids.push(bidRow(l.id, res.bid, p.userId, items[i]!.groupId ?? null), ...res.autoBids.map((b) => bidRow(l.id, b, null)));
      for (const b of [res.bid, ...res.autoBids]) book.add(b);
      writes.replaced.push(...res.autoBids.map((b) => b.replacesBidId).filter((x): x is string => !!x));
      config = { ...config, closesAt: res.closesAt };
      const data = { listingId: l.id, teu: res.bid.teu, unitPriceCents: res.bid.unitPriceCents, extended: res.extended, autoBids: res.autoBids.length };
      writes.audits.push({ actor: p, id: res.bid.id, data });
      const a: BidAccepted = {
        id: res.bid.id, status: res.status, closesAt: res.closesAt.toISOString(), unitPriceCents: res.bid.unitPriceCents,
        ...(config.format === 'ascending' ? { allocatedTeu: res.allocatedTeu } : {}),
      };
      answers[i] = a;
      accepted.push(a);
    }
    if (accepted.length === 0) {
      this.books.set(l.id, Number(l.bid_seq), book); // nothing added: the book is still the committed one
      return undefined;
    }
    // Every accepted bid is told the minimum as the batch left it (the book's summary: no walk when undersubscribed).
    const minNext = config.format === 'ascending' ? minFromAllocation(config, book.summaryWith()) : undefined;
    for (const a of accepted) {
      a.closesAt = config.closesAt.toISOString();
      if (minNext !== undefined) a.minNextBidCents = minNext;
    }
    return { l, config, book, seq, closesAt: config.closesAt };
  }
}

/** A refusal of one bid of a group, naming the bid (`bidIndex`, 0-based, as in the body). */
function withIndex(e: Error, i: number): Error {
  if (!(e instanceof AppError)) return e;
  return new AppError(e.status, e.code, `bids[${i}]: ${e.message}`, { ...(e.details ?? {}), bidIndex: i });
}
