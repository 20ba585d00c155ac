import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.ts';
import type { Tx } from './db.ts';
import { departureJoins } from './departure-brief.ts';
import type { DepartureLoad } from './departures-repo.ts';
import type { ListingRow } from './listings-repo.ts';
import type { NewBid } from './bids-repo.ts';
import type { Mode } from '../../domain/enums.ts';
import type { Principal } from '../../domain/principal.ts';

/**
 * The queries of the auction paths (bids, the close, the sweep) on listings and departures. The row locks
 * taken here are the guards: Redis and in-process queues only reduce contention.
 */

/** A listing's sale format (it never changes); undefined when there is no such listing. */
export async function listingFormat(db: Kysely<DB>, id: string): Promise<string | undefined> {
  return (await db.selectFrom('listings').select('format').where('id', '=', id).executeTakeFirst())?.format;
}

/** Locks the listings of a batch of bids in id order (so concurrent batches never deadlock) and reads them. */
export function lockListings(tx: Tx, ids: string[]): Promise<ListingRow[]> {
  return tx.selectFrom('listings').selectAll().where('id', 'in', ids).orderBy('id').forUpdate().execute();
}

/**
 * {@link lockListings} and the database clock read once every one of those locks is held, in one round trip (a batch
 * of bids holds the locks while it runs: a round trip less is time another process' batch does not wait). The clock's
 * CTE counts the locked rows first, so clock_timestamp() is evaluated after the last lock was granted.
 */
export async function lockListingsAtClock(tx: Tx, ids: string[]): Promise<{ listings: ListingRow[]; now: Date }> {
  const r = await sql<ListingRow & { db_now: Date; locked: boolean }>`
    with locked as materialized (
      select * from listings where id = any(${ids}::uuid[]) order by id for update
    ), clock as (
      select clock_timestamp() as db_now from (select count(*) from locked) c
    )
    select locked.*, clock.db_now, locked.id is not null as locked from clock left join locked on true order by locked.id`.execute(tx);
  const now = r.rows[0]!.db_now;
  return { listings: r.rows.filter((x) => x.locked).map(({ db_now: _n, locked: _l, ...l }) => l), now };
}

/** Locks one listing (its close) and reads it; undefined when there is no such listing. */
export function lockListing(tx: Tx, id: string): Promise<ListingRow | undefined> {
  return tx.selectFrom('listings').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** What one batch of bids writes (server/services/auctions/bidding.ts). */
export interface BidBatchWrites {
  bids: NewBid[];
  /** Bids an auto-bid raise replaced: stored ones, or ones of this very batch (written as `replaced` at once). */
  replaced: string[];
  /** Per listing bid on: its last bid sequence number and its (possibly extended) close. */
  listings: { id: string; bidSeq: number; closesAt: Date }[];
  audits: { actor: Pick<Principal, 'userId' | 'orgId' | 'apiKeyId'>; id: string; data: Record<string, unknown> }[];
}

/**
 * A batch's writes in ONE statement (its transaction holds the listings' row locks, so every round trip saved is
 * time another process' batch does not wait): the bids, the raised bids marked replaced, each listing's bid_seq and
 * close, and one audit row per accepted bid (`bid.place`, at `now`). Per-row values travel as arrays (unnest). The
 * CTEs of one statement do not see each other's rows, so a bid replaced by a raise of the same batch is inserted as
 * `replaced` rather than updated.
 */
export async function writeBidBatch(tx: Tx, w: BidBatchWrites, now: Date): Promise<void> {
  if (w.bids.length === 0) return;
  const batchIds = new Set(w.bids.map((b) => b.id));
  const replaced = new Set(w.replaced);
  const storedReplaced = w.replaced.filter((id) => !batchIds.has(id));
  const b = w.bids;
  const iso = (d: Date | string) => (typeof d === 'string' ? d : d.toISOString());
  await sql`
    with ins as (
      insert into bids (id, listing_id, org_id, user_id, seq, teu, unit_price_cents, all_or_nothing, max_unit_price_cents, replaces_bid_id, placed_at,
                        bid_group_id, status)
      select * from unnest(${b.map((x) => x.id)}::uuid[], ${b.map((x) => x.listing_id)}::uuid[], ${b.map((x) => x.org_id)}::uuid[],
        ${b.map((x) => x.user_id ?? null)}::uuid[], ${b.map((x) => x.seq)}::bigint[], ${b.map((x) => x.teu)}::int[], ${b.map((x) => x.unit_price_cents)}::bigint[],
        ${b.map((x) => x.all_or_nothing)}::boolean[], ${b.map((x) => x.max_unit_price_cents ?? null)}::bigint[], ${b.map((x) => x.replaces_bid_id ?? null)}::uuid[],
        ${b.map((x) => iso(x.placed_at))}::timestamptz[], ${b.map((x) => x.bid_group_id ?? null)}::uuid[],
        ${b.map((x) => (replaced.has(x.id!) ? 'replaced' : 'active'))}::text[])
      returning 1
    ), rep as (
      update bids set status = 'replaced' where id = any(${storedReplaced}::uuid[]) returning 1
    ), lst as (
      update listings l set bid_seq = v.bid_seq, closes_at = v.closes_at, updated_at = ${now}
        from unnest(${w.listings.map((l) => l.id)}::uuid[], ${w.listings.map((l) => l.bidSeq)}::bigint[],
                    ${w.listings.map((l) => l.closesAt.toISOString())}::timestamptz[]) as v(id, bid_seq, closes_at)
       where l.id = v.id
      returning 1
    ), aud as (
      insert into audit_log (at, actor_user_id, actor_org_id, api_key_id, action, entity_type, entity_id, data)
      select ${now}, a.user_id, a.org_id, a.key_id, 'bid.place', 'bid', a.id, a.data::jsonb
        from unnest(${w.audits.map((a) => a.actor.userId)}::uuid[], ${w.audits.map((a) => a.actor.orgId)}::uuid[],
                    ${w.audits.map((a) => a.actor.apiKeyId ?? null)}::uuid[], ${w.audits.map((a) => a.id)}::text[],
                    ${w.audits.map((a) => JSON.stringify(a.data))}::text[]) as a(user_id, org_id, key_id, id, data)
      returning 1
    )
    select (select count(*) from ins) as bids, (select count(*) from rep) as replaced, (select count(*) from lst) as listings,
           (select count(*) from aud) as audits`.execute(tx);
}

/** A listing with its departure's operator (who sees every bid); undefined when there is no such listing. */
export function listingOperator(db: Kysely<DB>, listingId: string) {
  return db
    .selectFrom('listings as l')
    .innerJoin('departures as d', 'd.id', 'l.departure_id')
    .select(['l.id', 'd.operator_org_id'])
    .where('l.id', '=', listingId)
    .executeTakeFirst();
}

/** Locks the auction's departure (the close already holds the listing's lock) and reads its load. */
export function lockDepartureForAward(tx: Tx, departureId: string) {
  return tx
    .selectFrom('departures')
    .select(['id', 'corridor_id', 'operator_org_id', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes'])
    .where('id', '=', departureId)
    .forUpdate()
    .executeTakeFirstOrThrow();
}

/**
 * Books the awarded TEU and tonnes onto the departure and bumps its `seq`. The conditional update is the
 * overbooking guard here too (CHECK constraints back it): undefined when the TEU do not fit.
 */
export function bookAward(tx: Tx, departureId: string, teu: number, tonnes: number, now: Date): Promise<DepartureLoad | undefined> {
  return tx
    .updateTable('departures')
    .set({ booked_teu: sql`booked_teu + ${teu}`, booked_tonnes: sql`booked_tonnes + ${tonnes}`, seq: sql`seq + 1`, updated_at: now })
    .where('id', '=', departureId)
    .where(sql<boolean>`held_teu + booked_teu + ${teu} <= capacity_teu`)
    .returning(['id', 'corridor_id', 'operator_org_id', 'seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes'])
    .executeTakeFirst();
}

/** Closes an auction listing with its result. */
export async function markAuctionClosed(
  tx: Tx,
  id: string,
  r: { now: Date; awardedTeu: number; clearingPriceCents: number | null; remainingTeu: number },
): Promise<void> {
  await tx
    .updateTable('listings')
    .set({ status: 'closed', closed_at: r.now, updated_at: r.now, awarded_teu: r.awardedTeu, clearing_price_cents: r.clearingPriceCents, remaining_teu: r.remainingTeu })
    .where('id', '=', id)
    .execute();
}

/** Open auctions past their close (or their latest close), oldest first, leaving out `skip`. */
export async function dueAuctionIds(db: Kysely<DB>, skip: string[], limit = 200): Promise<string[]> {
  let q = db
    .selectFrom('listings')
    .select('id')
    .where('status', '=', 'open')
    .where('format', 'in', ['ascending', 'sealed'])
    .where(sql<boolean>`least(closes_at, coalesce(max_close_at, closes_at)) <= now()`);
  if (skip.length) q = q.where('id', 'not in', skip);
  const rows = await q.orderBy(sql`least(closes_at, coalesce(max_close_at, closes_at))`).orderBy('id').limit(limit).execute();
  return rows.map((r) => r.id);
}

// --- the list of open auctions (GET /api/auctions) ---------------------------------------------------------

export interface OpenAuctionFilter {
  /** Origin cluster (UN/LOCODE). */
  from?: string;
  /** Destination cluster (UN/LOCODE). */
  to?: string;
  mode?: Mode;
}

/**
 * Open auctions still taking bids (ascending and sealed, status open, opened, before their latest close by the
 * database's clock — the one clock that decides a close), soonest close first, with their departure, corridor and
 * operator; at most `limit`.
 */
export function openAuctions(db: Kysely<DB>, f: OpenAuctionFilter = {}, limit = 200) {
  let q = departureJoins(db)
    .innerJoin('listings as l', 'l.departure_id', 'd.id')
    .selectAll('l')
    .select([
      'd.departs_at', 'd.asset_name', 'd.operator_org_id', 'op.name as operator_name', 'c.id as corridor_id', 'c.mode', 'o.code as origin',
      't.code as destination',
    ])
    .where('l.status', '=', 'open')
    .where('l.format', 'in', ['ascending', 'sealed'])
    .where('d.status', '=', 'scheduled')
    .where(sql<boolean>`least(l.closes_at, coalesce(l.max_close_at, l.closes_at)) > now()`)
    .where(sql<boolean>`coalesce(l.opens_at, l.created_at) <= now()`);
  if (f.from) q = q.where('o.code', '=', f.from);
  if (f.to) q = q.where('t.code', '=', f.to);
  if (f.mode) q = q.where('c.mode', '=', f.mode);
  return q
    .orderBy(sql`least(l.closes_at, coalesce(l.max_close_at, l.closes_at))`)
    .orderBy('l.id')
    .limit(limit)
    .execute();
}
export type OpenAuctionRow = Awaited<ReturnType<typeof openAuctions>>[number];
