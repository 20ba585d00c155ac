import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, Tx } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { claimKey, storeAnswer, type IdemKey } from '../adapters/db/idempotency.ts';
import { enqueueInTx, kickOutbox } from '../adapters/db/outbox.ts';
import type { ListingRow } from '../adapters/db/listings-repo.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import type { Redis } from '../adapters/redis/redis.ts';
import { rooms, type EventSink, type LiveEvent } from '../adapters/realtime/events.ts';
import {
  acceptBid, activeBids, allocate, bidderLabels, clearAuction, compareBids, effectiveCloseAt, publicLadder,
  type AuctionBid, type AuctionConfig,
} from '../core/auction.ts';
import { totalCents } from '../core/pricing.ts';
import { allotAwardTonnes, awardableTeu, unpromisedTeu } from '../core/capacity.ts';
import { eachIsolated, RecentFailures, type SweepLog } from './sweep.ts';
import { AppError, conflict, notFound } from '../domain/errors.ts';
import { availabilityEvent, emissionsFor, toBooking } from './holds.ts';
import { policy, type Principal } from '../domain/principal.ts';
import { KeyedBatcher } from './batcher.ts';

export interface BidAnswer {
  id: string;
  status: 'leading' | 'outbid' | 'sealed';
  closesAt: string;
  unitPriceCents: number;
  minNextBidCents?: number;
  allocatedTeu?: number;
}

export interface BidInput {
  teu: number;
  unitPriceCents: number;
  allOrNothing?: boolean;
  maxUnitPriceCents?: number;
}

export interface AuctionOptions {
  softCloseWindowMs: number;
  softCloseExtendMs: number;
}

type BidRow = {
  id: string;
  listing_id: string;
  org_id: string;
  seq: number;
  teu: number;
  unit_price_cents: number;
  all_or_nothing: boolean;
  max_unit_price_cents: number | null;
  replaces_bid_id: string | null;
  status: string;
  awarded_teu: number | null;
  placed_at: Date;
};

/** Inserts `b` into `book` (kept in {@link compareBids} order) at its place: O(n), no re-sort. */
function insertRanked(book: AuctionBid[], b: AuctionBid) {
  let lo = 0;
  let hi = book.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBids(book[mid]!, b) <= 0) lo = mid + 1;
    else hi = mid;
  }
  book.splice(lo, 0, b);
}

const toCore = (b: BidRow): AuctionBid => ({
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

const LOCK_RELEASE = `
-- KEYS[1] lock key; ARGV[1] token. Deletes the lock only if this caller still holds it.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Ascending and sealed auctions. A bid is serialised per listing — first by a short token-checked Redis
 * lock (to keep contention off Postgres), then by the listing's row lock in Postgres, which is the guard —
 * and is durable before the 201. The close time is decided by the database's clock, one clock for all
 * processes. Clearing is the pure core's; winners become bookings in the same transaction as the close.
 */
export class AuctionsService {
  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly queues: Queues | null,
    private readonly opts: AuctionOptions,
  ) {}

  configOf(l: ListingRow): AuctionConfig {
    return {
      format: l.format as 'ascending' | 'sealed',
      teu: l.teu,
      reservePriceCents: l.reserve_price_cents ?? 0,
      minIncrementCents: l.min_increment_cents ?? 1,
      opensAt: l.opens_at ?? l.created_at,
      closesAt: l.closes_at ?? l.created_at,
      softCloseWindowMs: this.opts.softCloseWindowMs,
      softCloseExtendMs: this.opts.softCloseExtendMs,
      maxCloseAt: l.max_close_at ?? l.closes_at ?? l.created_at,
    };
  }

  private async dbNow(tx: Tx | Db): Promise<Date> {
    const r = await sql<{ now: Date }>`select clock_timestamp() as now`.execute(tx);
    return r.rows[0]!.now;
  }

  /** In-process queue per listing: one request per listing at a time leaves this process. */
  private readonly local = new Map<string, Promise<void>>();

  /**
   * Serialises bids on one listing: an in-process queue (so waiters do not poll), then a short
   * token-checked Redis lock across processes (so waiters do not hold Postgres connections). Both only
   * reduce contention; the listing's row lock in Postgres is the guard.
   */
  private async lock(listingId: string): Promise<() => Promise<void>> {
    const prev = this.local.get(listingId) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    const chained = prev.then(() => mine);
    this.local.set(listingId, chained);
    await prev;
    const key = `${this.prefix}lock:{l:${listingId}}`;
    const token = randomBytes(8).toString('hex');
    let held = false;
    try {
      for (let i = 0; i < 400 && !held; i++) {
        held = (await this.redis.set(key, token, 'PX', 3000, 'NX')) === 'OK';
        if (!held) await new Promise((r) => setTimeout(r, 1 + Math.min(i, 10)));
      }
    } catch {
      /* Redis unavailable: Postgres' row lock alone serialises */
    }
    return async () => {
      if (held) await this.redis.eval(LOCK_RELEASE, 1, key, token).catch(() => {});
      done();
      if (this.local.get(listingId) === chained) this.local.delete(listingId);
    };
  }

  /** A listing's format never changes: remembered per process (a bid no longer reads it from Postgres). */
  private readonly formats = new Map<string, string>();
  private async formatOf(listingId: string): Promise<string | undefined> {
    const known = this.formats.get(listingId);
    if (known) return known;
    const row = await this.db.selectFrom('listings').select(['format']).where('id', '=', listingId).executeTakeFirst();
    if (!row) return undefined;
    if (this.formats.size > 50_000) this.formats.clear();
    this.formats.set(listingId, row.format);
    return row.format;
  }

  private async bidsOf(tx: Tx | Db, listingId: string): Promise<BidRow[]> {
    return tx.selectFrom('bids').selectAll().where('listing_id', '=', listingId).orderBy('seq').execute() as Promise<BidRow[]>;
  }

  /** POST /api/listings/:id/bids */
  async placeBid(
    p: Principal,
    listingId: string,
    input: { teu: number; unitPriceCents: number; allOrNothing?: boolean; maxUnitPriceCents?: number },
    idem?: IdemKey,
  ) {
    policy.requireOrgKind(p, 'forwarder');
    const format = await this.formatOf(listingId);
    if (!format) throw notFound('listing');
    if (format !== 'ascending' && format !== 'sealed') throw conflict('wrong_format', `a ${format} listing is held, not bid on`);
    if (!idem) return this.bidBatcher.submit(this.laneOf(listingId), { listingId, p, input });
    const release = await this.lock(listingId);
    let outcome;
    try {
      outcome = await inTransaction(this.db, async (tx) => {
        if (idem) {
          const claim = await claimKey<BidAnswer>(tx, idem);
          if (claim.kind === 'replay') return { answer: claim.body, replay: true as const };
        }
        const l = (await tx.selectFrom('listings').selectAll().where('id', '=', listingId).forUpdate().executeTakeFirstOrThrow()) as ListingRow;
        const now = await this.dbNow(tx);
        if (l.status !== 'open') throw conflict('auction_closed', `this auction is ${l.status}`);
        const config = this.configOf(l);
        const rows = await this.bidsOf(tx, listingId);
        const bids = rows.map(toCore);
        const seq = Number(l.bid_seq) + 1;
        const res = acceptBid(
          config,
          bids,
          {
            id: randomUUID(),
            bidderId: p.orgId,
            teu: input.teu,
            unitPriceCents: input.unitPriceCents,
            allOrNothing: input.allOrNothing ?? false,
            ...(input.maxUnitPriceCents !== undefined ? { maxUnitPriceCents: input.maxUnitPriceCents } : {}),
          },
          now,
          seq,
          { newBidId: () => randomUUID() },
        );
        if (!res.ok) {
          if (res.code === 'invalid_bid') throw new AppError(400, 'invalid_bid', res.message);
          throw conflict(res.code, res.message, res.minUnitPriceCents !== undefined ? { minUnitPriceCents: res.minUnitPriceCents } : undefined);
        }
        const stored = [res.bid, ...res.autoBids];
        await tx
          .insertInto('bids')
          .values(
            stored.map((b) => ({
              id: b.id,
              listing_id: listingId,
              org_id: b.bidderId,
              user_id: b.bidderId === p.orgId && b.id === res.bid.id ? p.userId : null,
              seq: b.seq,
              teu: b.teu,
              unit_price_cents: b.unitPriceCents,
              all_or_nothing: b.allOrNothing,
              max_unit_price_cents: b.maxUnitPriceCents ?? null,
              replaces_bid_id: b.replacesBidId ?? null,
              placed_at: b.placedAt,
            })),
          )
          .execute();
        const replaced = res.autoBids.map((b) => b.replacesBidId).filter((x): x is string => !!x);
        if (replaced.length) await tx.updateTable('bids').set({ status: 'replaced' }).where('id', 'in', replaced).execute();
        await tx
          .updateTable('listings')
          .set({ bid_seq: seq + res.autoBids.length, closes_at: res.closesAt, updated_at: now })
          .where('id', '=', listingId)
          .execute();
        await audit(tx, p, 'bid.place', { type: 'bid', id: res.bid.id }, { listingId, teu: input.teu, unitPriceCents: res.bid.unitPriceCents, extended: res.extended, autoBids: res.autoBids.length });
        if (res.extended) {
          await enqueueInTx(tx, 'auction.close', { listingId }, `auction.close-${listingId}-${res.closesAt.getTime()}`, res.closesAt);
        }
        const all = [...bids, ...stored]; // the core treats bids named by a raise's replacesBidId as inactive
        const ladder = publicLadder({ ...config, closesAt: res.closesAt }, all, null);
        const answer: BidAnswer = {
          id: res.bid.id,
          status: res.status,
          closesAt: res.closesAt.toISOString(),
          unitPriceCents: res.bid.unitPriceCents,
          ...(ladder.format === 'ascending' ? { minNextBidCents: ladder.minNextBidCents, allocatedTeu: res.allocatedTeu } : {}),
        };
        if (idem) await storeAnswer(tx, idem, 201, answer);
        const seqOf = new Map(all.map((b) => [b.id, b.seq] as const));
        return { answer, replay: false as const, ladder, listing: l, extended: res.extended, seqOf };
      });
    } finally {
      await release();
    }
    if (!outcome.replay) {
      if (outcome.extended) kickOutbox(this.db, this.queues);
      await this.events.emit([this.updateEvent(outcome.listing, outcome.ladder, outcome.seqOf)]).catch(() => {});
    }
    return outcome.answer;
  }

  /**
   * One batch of bids, on any number of listings (group commit): one transaction locks the batch's listings
   * in id order (so concurrent batches never deadlock), reads the database clock once all locks are held,
   * then the core decides each listing's bids in arrival order against its book as the earlier bids of the
   * batch left it; the rows of every listing are written with one statement each; one commit. Every bid
   * gets the answer it would have had alone; refused ones get their own error.
   */
  private async placeBidBatch(items: { listingId: string; p: Principal; input: BidInput }[]): Promise<(BidAnswer | Error)[]> {
    const ids = [...new Set(items.map((i) => i.listingId))].sort();
    const out = await inTransaction(this.db, async (tx) => {
      const locked = (await tx.selectFrom('listings').selectAll().where('id', 'in', ids).orderBy('id').forUpdate().execute()) as ListingRow[];
      const now = await this.dbNow(tx); // after every lock of the batch is held
      const answers: (BidAnswer | Error)[] = new Array(items.length);
      const changed: { l: ListingRow; ladder: ReturnType<typeof publicLadder>; bids: AuctionBid[]; seq: number; extended: boolean; closesAt: Date }[] = [];
      const stored: { listingId: string; bid: AuctionBid; userId: string | null }[] = [];
      const replaced: string[] = [];
      const audits: { p: Principal; listingId: string; bid: AuctionBid; autoBids: number; extended: boolean }[] = [];
      for (const l of locked) {
        const mine = items.map((it, i) => ({ ...it, i })).filter((it) => it.listingId === l.id);
        if (l.status !== 'open') {
          for (const it of mine) answers[it.i] = conflict('auction_closed', `this auction is ${l.status}`);
          continue;
        }
        let config = this.configOf(l);
        // The book of this listing: from this process' cache when no other process has bid since (bid_seq
        // is read under the row lock), else from Postgres.
        const cached = this.books.get(l.id);
        // Kept in ranking order: the core's result does not depend on the order of the book (property-tested),
        // and ranking an already ranked book is linear.
        const bids = cached && cached.seq === Number(l.bid_seq) ? [...cached.bids] : (await this.bidsOf(tx, l.id)).map(toCore).sort(compareBids);
        let seq = Number(l.bid_seq);
        let extended = false;
        const accepted: BidAnswer[] = [];
        for (const { p, input, i } of mine) {
          const res = acceptBid(
            config,
            bids,
            {
              id: randomUUID(), bidderId: p.orgId, teu: input.teu, unitPriceCents: input.unitPriceCents, allOrNothing: input.allOrNothing ?? false,
              ...(input.maxUnitPriceCents !== undefined ? { maxUnitPriceCents: input.maxUnitPriceCents } : {}),
            },
            now,
            seq + 1,
            { newBidId: () => randomUUID() },
          );
          if (!res.ok) {
            answers[i] =
              res.code === 'invalid_bid'
                ? new AppError(400, 'invalid_bid', res.message)
                : conflict(res.code, res.message, res.minUnitPriceCents !== undefined ? { minUnitPriceCents: res.minUnitPriceCents } : undefined);
            continue;
          }
          seq += 1 + res.autoBids.length;
          stored.push({ listingId: l.id, bid: res.bid, userId: p.userId }, ...res.autoBids.map((bid) => ({ listingId: l.id, bid, userId: null })));
          for (const b of [res.bid, ...res.autoBids]) insertRanked(bids, b);
          replaced.push(...res.autoBids.map((b) => b.replacesBidId).filter((x): x is string => !!x));
          if (res.extended) extended = true;
          config = { ...config, closesAt: res.closesAt };
          audits.push({ p, listingId: l.id, bid: res.bid, autoBids: res.autoBids.length, extended: res.extended });
          const a: BidAnswer = {
            id: res.bid.id,
            status: res.status,
            closesAt: res.closesAt.toISOString(),
            unitPriceCents: res.bid.unitPriceCents,
            ...(config.format === 'ascending' ? { allocatedTeu: res.allocatedTeu } : {}),
          };
          answers[i] = a;
          accepted.push(a);
        }
        if (accepted.length === 0) continue;
        // One ladder per listing for the whole batch: every accepted bid is told the minimum as the batch left it.
        const ladder = publicLadder(config, bids, null);
        for (const a of accepted) {
          a.closesAt = config.closesAt.toISOString();
          if (ladder.format === 'ascending') a.minNextBidCents = ladder.minNextBidCents;
        }
        changed.push({ l, ladder, bids, seq, extended, closesAt: config.closesAt });
      }
      if (stored.length > 0) {
        await tx
          .insertInto('bids')
          .values(
            stored.map(({ listingId, bid: b, userId }) => ({
              id: b.id, listing_id: listingId, org_id: b.bidderId, user_id: userId, seq: b.seq, teu: b.teu, unit_price_cents: b.unitPriceCents,
              all_or_nothing: b.allOrNothing, max_unit_price_cents: b.maxUnitPriceCents ?? null, replaces_bid_id: b.replacesBidId ?? null, placed_at: b.placedAt,
            })),
          )
          .execute();
        if (replaced.length) await tx.updateTable('bids').set({ status: 'replaced' }).where('id', 'in', replaced).execute();
        for (const c of changed) {
          await tx.updateTable('listings').set({ bid_seq: c.seq, closes_at: c.closesAt, updated_at: now }).where('id', '=', c.l.id).execute();
          if (c.extended) await enqueueInTx(tx, 'auction.close', { listingId: c.l.id }, `auction.close-${c.l.id}-${c.closesAt.getTime()}`, c.closesAt);
        }
        await tx
          .insertInto('audit_log')
          .values(
            audits.map((a) => ({
              at: now, actor_user_id: a.p.userId, actor_org_id: a.p.orgId, api_key_id: a.p.apiKeyId ?? null, action: 'bid.place', entity_type: 'bid', entity_id: a.bid.id,
              data: JSON.stringify({ listingId: a.listingId, teu: a.bid.teu, unitPriceCents: a.bid.unitPriceCents, extended: a.extended, autoBids: a.autoBids }),
            })),
          )
          .execute();
      }
      // a listing that vanished between the format check and the lock
      items.forEach((it, i) => (answers[i] ??= notFound('listing')));
      return { answers, changed };
    });
    if (out.changed.length > 0) {
      const events: LiveEvent[] = [];
      for (const c of out.changed) {
        this.books.set(c.l.id, { seq: c.seq, bids: c.bids }); // committed: the cache may follow
        if (this.books.size > 2000) this.books.delete(this.books.keys().next().value!);
        events.push(this.updateEvent(c.l, c.ladder, new Map(c.bids.map((b) => [b.id, b.seq] as const))));
      }
      if (out.changed.some((c) => c.extended)) kickOutbox(this.db, this.queues);
      await this.events.emit(events).catch(() => {});
    }
    return out.answers;
  }

  /** Per-listing book cache (validated against bid_seq under the row lock before use). */
  private readonly books = new Map<string, { seq: number; bids: AuctionBid[] }>();

  /** Bids are group-committed in a few lanes per process; a listing always goes through the same lane. */
  private readonly bidBatcher = new KeyedBatcher<{ listingId: string; p: Principal; input: BidInput }, BidAnswer>((_lane, items) => this.placeBidBatch(items), 400);
  private laneOf(listingId: string) {
    return `lane:${parseInt(listingId.slice(-2), 16) % 4}`;
  }

  private updateEvent(l: ListingRow, ladder: ReturnType<typeof publicLadder>, seqOf: Map<string, number>): LiveEvent {
    const base = { listingId: l.id, status: l.status, remainingTeu: l.remaining_teu, closesAt: ladder.closesAt.toISOString() };
    const payload =
      ladder.format === 'ascending'
        ? {
            ...base,
            currentPriceCents: ladder.currentPriceCents ?? undefined,
            minNextBidCents: ladder.minNextBidCents,
            leadingBids: ladder.leadingBids.map((b) => ({ label: b.label, teu: b.bidTeu, allocatedTeu: b.teu, unitPriceCents: b.unitPriceCents, seq: seqOf.get(b.bidId) })),
          }
        : base; // sealed: no prices, no bids, no counts
    return { rooms: [rooms.listing(l.id)], event: 'listing:update', payload, coalesceKey: `listing:${l.id}` };
  }

  /** Auction fields of `GET /api/listings/:id` as `p` may see them. */
  async view(p: Principal, l: ListingRow) {
    const config = this.configOf(l);
    const bids = (await this.bidsOf(this.db, l.id)).map(toCore);
    const closed = l.status !== 'open';
    const extra: Record<string, unknown> = {
      closesAt: effectiveCloseAt(config).toISOString(),
      maxCloseAt: config.maxCloseAt.toISOString(),
      ...(config.format === 'ascending'
        ? { softCloseWindowSeconds: Math.round(config.softCloseWindowMs / 1000), softCloseExtendSeconds: Math.round(config.softCloseExtendMs / 1000) }
        : {}),
    };
    if (closed) Object.assign(extra, { awardedTeu: l.awarded_teu ?? 0, clearingPriceCents: l.clearing_price_cents ?? undefined });
    if (config.format === 'ascending') {
      const ladder = publicLadder(config, bids, p.orgKind === 'forwarder' ? p.orgId : null);
      if (ladder.format === 'ascending') {
        Object.assign(extra, {
          leadingBids: ladder.leadingBids.map((b) => ({
            label: b.label, teu: b.bidTeu, allocatedTeu: b.teu, unitPriceCents: b.unitPriceCents, seq: bids.find((x) => x.id === b.bidId)?.seq,
          })),
          currentPriceCents: ladder.currentPriceCents ?? undefined,
          minNextBidCents: closed ? undefined : ladder.minNextBidCents,
          unallocatedTeu: ladder.unallocatedTeu,
        });
      }
    } else if (!closed) {
      Object.assign(extra, { minNextBidCents: config.reservePriceCents });
    }
    return extra;
  }

  /** GET /api/listings/:id/bids — the owning operator sees all; a forwarder only its own. */
  async listBids(p: Principal, listingId: string) {
    // Bids are for the trading kinds only: a scheduler is refused with 403 (a kind rule, API.md), not 404 like
    // an operator looking at another operator's listing (access matrix, issue 5).
    policy.requireOrgKind(p, 'forwarder', 'operator', 'platform');
    const l = await this.db
      .selectFrom('listings as l')
      .innerJoin('departures as d', 'd.id', 'l.departure_id')
      .select(['l.id', 'd.operator_org_id'])
      .where('l.id', '=', listingId)
      .executeTakeFirst();
    if (!l) throw notFound('listing');
    const rows = await this.db
      .selectFrom('bids as b')
      .innerJoin('organisations as o', 'o.id', 'b.org_id')
      .selectAll('b')
      .select('o.name as org_name')
      .where('b.listing_id', '=', listingId)
      .orderBy('b.seq')
      .execute();
    const seesAll = p.orgKind === 'platform' || (p.orgKind === 'operator' && p.orgId === l.operator_org_id);
    if (!seesAll && p.orgKind !== 'forwarder') throw notFound('listing');
    const labels = bidderLabels(rows.map((r) => toCore(r as BidRow)), seesAll ? null : p.orgId);
    return rows
      .filter((r) => seesAll || r.org_id === p.orgId)
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
      }));
  }

  /**
   * The close job: safe to run any number of times, early (no-op until the database clock passes the
   * close) or late. Clears with the pure core, turns winners into bookings (settlement goes to the outbox
   * in the same transaction), marks losers, and returns or re-lists unsold TEU.
   */
  async close(listingId: string) {
    const out = await inTransaction(this.db, async (tx) => {
      const l = (await tx.selectFrom('listings').selectAll().where('id', '=', listingId).forUpdate().executeTakeFirst()) as ListingRow | undefined;
      if (!l || (l.format !== 'ascending' && l.format !== 'sealed')) return { done: false as const, reason: 'not_an_auction' };
      if (l.status !== 'open') return { done: false as const, reason: 'already_closed' };
      const now = await this.dbNow(tx);
      const config = this.configOf(l);
      if (now < effectiveCloseAt(config)) return { done: false as const, reason: 'not_yet' };
      const bidRows = await this.bidsOf(tx, listingId);
      const bids = bidRows.map(toCore);
      const dep = await tx
        .selectFrom('departures')
        .select(['id', 'corridor_id', 'operator_org_id', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes'])
        .where('id', '=', l.departure_id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      // An award the departure cannot honour in full (capacity promised twice before listings_promise_guard,
      // or taken since) is never retried forever: the published clearing rule runs on the TEU that fit — in
      // rank order, all-or-nothing bids that do not fit skipped — and every other bid loses (and is told).
      const avail = {
        capacityTeu: dep.capacity_teu, capacityTonnes: dep.capacity_tonnes, heldTeu: dep.held_teu, heldTonnes: dep.held_tonnes,
        bookedTeu: dep.booked_teu, bookedTonnes: dep.booked_tonnes,
      };
      const fitTeu = awardableTeu(l.teu, avail);
      const shortfallTeu = l.teu - fitTeu;
      const result =
        fitTeu > 0 ? clearAuction({ ...config, teu: fitTeu }, bids) : { winners: [], clearingPriceCents: null, awardedTeu: 0, unallocatedTeu: 0 };
      // Bids carry TEU only; each booking gets the departure's weight allowance per TEU, at least 1 t per TEU.
      const allotted = allotAwardTonnes(
        result.winners.map((w) => w.teu),
        dep.capacity_tonnes - dep.held_tonnes - dep.booked_tonnes,
        dep.capacity_tonnes / dep.capacity_teu,
      );
      const bookings = [];
      let bookedTeu = 0;
      let bookedTonnes = 0;
      for (const [i, w] of result.winners.entries()) {
        const tonnes = allotted[i]!;
        const em = await emissionsFor(tx, dep.corridor_id, tonnes);
        const b = await tx
          .insertInto('bookings')
          .values({
            departure_id: dep.id,
            listing_id: l.id,
            bid_id: w.bidId,
            forwarder_org_id: w.bidderId,
            teu: w.teu,
            tonnes,
            unit_price_cents: w.unitPriceCents,
            total_cents: totalCents(w.unitPriceCents, w.teu),
            co2e_kg: em.co2eKg,
            road_co2e_kg: em.roadCo2eKg,
            reference: `Auction ${l.id.slice(0, 8)}`,
            created_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        bookings.push(b);
        bookedTeu += w.teu;
        bookedTonnes += tonnes;
        await tx.updateTable('bids').set({ status: 'won', awarded_teu: w.teu }).where('id', '=', w.bidId).execute();
        await enqueueInTx(tx, 'booking.settle', { bookingId: b.id }, `booking.settle-${b.id}`);
      }
      const winnerIds = result.winners.map((w) => w.bidId);
      let lostQ = tx.updateTable('bids').set({ status: 'lost', awarded_teu: 0 }).where('listing_id', '=', l.id).where('status', '=', 'active');
      if (winnerIds.length) lostQ = lostQ.where('id', 'not in', winnerIds);
      await lostQ.execute();
      // The conditional update is the overbooking guard here too (CHECK constraints back it).
      const depAfter = await tx
        .updateTable('departures')
        .set({
          booked_teu: sql`booked_teu + ${bookedTeu}`,
          booked_tonnes: sql`booked_tonnes + ${bookedTonnes}`,
          seq: sql`seq + 1`,
          updated_at: now,
        })
        .where('id', '=', dep.id)
        .where(sql<boolean>`held_teu + booked_teu + ${bookedTeu} <= capacity_teu`)
        .returning(['id', 'corridor_id', 'operator_org_id', 'seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes'])
        .executeTakeFirst();
      if (!depAfter) throw conflict('insufficient_capacity', 'the departure cannot take the awarded TEU');
      let relisted: string | null = null;
      // Re-list no more than the departure can still promise once this auction stops offering its TEU.
      const otherListed = await tx
        .selectFrom('listings')
        .select(sql<number>`coalesce(sum(remaining_teu), 0)::int`.as('n'))
        .where('departure_id', '=', dep.id)
        .where('status', '=', 'open')
        .where('id', '<>', l.id)
        .executeTakeFirstOrThrow();
      const relistTeu = Math.min(
        result.unallocatedTeu,
        unpromisedTeu({ capacityTeu: depAfter.capacity_teu, bookedTeu: depAfter.booked_teu, heldTeu: depAfter.held_teu, listedTeu: otherListed.n }),
      );
      if (relistTeu > 0 && l.unsold_action === 'relist') {
        const price = Math.max(1, result.clearingPriceCents ?? l.reserve_price_cents ?? 1);
        const r = await tx
          .insertInto('listings')
          .values({
            departure_id: dep.id, format: 'fixed', teu: relistTeu, remaining_teu: relistTeu, unit_price_cents: price,
            fee_rule: l.fee_rule === null ? null : JSON.stringify(l.fee_rule), created_by: l.created_by, created_at: now, updated_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        relisted = r.id;
      }
      await tx
        .updateTable('listings')
        .set({
          status: 'closed',
          closed_at: now,
          updated_at: now,
          awarded_teu: result.awardedTeu,
          clearing_price_cents: result.clearingPriceCents,
          remaining_teu: relisted ? 0 : result.unallocatedTeu,
        })
        .where('id', '=', l.id)
        .execute();
      await audit(tx, null, 'auction.close', { type: 'listing', id: l.id }, {
        awardedTeu: result.awardedTeu, clearingPriceCents: result.clearingPriceCents, winners: result.winners.length, relisted, shortfallTeu,
      });
      const bidders = [...new Set(bids.map((b) => b.bidderId))];
      return { done: true as const, l, result, bookings, depAfter, bidders, relisted, shortfallTeu };
    });
    if (!out.done) return out;
    kickOutbox(this.db, this.queues);
    await this.cache.invalidate(out.depAfter.corridor_id, out.depAfter.id);
    const events: LiveEvent[] = [
      {
        rooms: [rooms.listing(out.l.id)],
        event: 'listing:closed',
        payload: {
          listingId: out.l.id, clearingPriceCents: out.result.clearingPriceCents ?? undefined, awardedTeu: out.result.awardedTeu,
          ...(out.shortfallTeu > 0 ? { shortfallTeu: out.shortfallTeu } : {}),
        },
      },
      availabilityEvent(out.depAfter),
    ];
    for (const org of out.bidders) {
      const mine = out.bookings.filter((b) => b.forwarder_org_id === org);
      events.push({
        rooms: [rooms.org(org)],
        event: 'auction:result',
        payload: {
          listingId: out.l.id, won: mine.length > 0, awardedTeu: mine.reduce((s, b) => s + b.teu, 0), bookingIds: mine.map((b) => b.id),
          ...(out.shortfallTeu > 0 ? { shortfallTeu: out.shortfallTeu } : {}),
        },
      });
    }
    for (const b of out.bookings) {
      events.push({ rooms: [rooms.org(b.forwarder_org_id), rooms.org(out.depAfter.operator_org_id)], event: 'booking:confirmed', payload: toBooking(b) });
    }
    await this.events.emit(events).catch(() => {});
    return {
      done: true,
      awardedTeu: out.result.awardedTeu,
      clearingPriceCents: out.result.clearingPriceCents,
      bookings: out.bookings.map((b) => b.id),
      relisted: out.relisted,
      shortfallTeu: out.shortfallTeu,
    };
  }

  /**
   * Closes every auction past its close time (worker start-up and periodic sweep: catches missed jobs),
   * oldest first, each on its own: one that fails is logged, counted and left out of the next sweeps for a
   * while (back-off), so it can neither stop nor crowd out the other overdue auctions.
   */
  async sweepDue(log?: SweepLog): Promise<{ closed: number; failed: number }> {
    const skip = this.sweepFailures.excluded();
    let q = this.db
      .selectFrom('listings')
      .select('id')
      .where('status', '=', 'open')
      .where('format', 'in', ['ascending', 'sealed'])
      .where(sql<boolean>`least(closes_at, coalesce(max_close_at, closes_at)) <= now()`);
    if (skip.length) q = q.where('id', 'not in', skip);
    const due = await q.orderBy(sql`least(closes_at, coalesce(max_close_at, closes_at))`).orderBy('id').limit(200).execute();
    const r = await eachIsolated('auction.close', due, (l) => l.id, async ({ id }) => (await this.close(id)).done, {
      failures: this.sweepFailures,
      ...(log ? { log } : {}),
    });
    return { closed: r.done, failed: r.failed };
  }

  private readonly sweepFailures = new RecentFailures();

  /** The live allocation of an ascending auction as the pure core computes it (tests, operator console). */
  async allocation(listingId: string) {
    const l = (await this.db.selectFrom('listings').selectAll().where('id', '=', listingId).executeTakeFirstOrThrow()) as ListingRow;
    const bids = (await this.bidsOf(this.db, listingId)).map(toCore);
    return allocate(this.configOf(l), activeBids(bids));
  }
}
