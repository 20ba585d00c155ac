import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.ts';
import type { Tx } from './db.ts';
import type { DepartureLoad } from './departures-repo.ts';
import type { ListingRow } from './listings-repo.ts';

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

/** Locks one listing (its close) and reads it; undefined when there is no such listing. */
export function lockListing(tx: Tx, id: string): Promise<ListingRow | undefined> {
  return tx.selectFrom('listings').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** After bids were accepted: the listing's last bid sequence number and its (possibly extended) close. */
export async function recordBidding(tx: Tx, listingId: string, bidSeq: number, closesAt: Date, now: Date): Promise<void> {
  await tx.updateTable('listings').set({ bid_seq: bidSeq, closes_at: closesAt, updated_at: now }).where('id', '=', listingId).execute();
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
