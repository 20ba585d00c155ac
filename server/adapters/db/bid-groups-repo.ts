import { sql, type Kysely, type Selectable } from 'kysely';
import type { BidGroupsTable, BidGroupStatus, DB } from './schema.ts';
import type { Tx } from './db.ts';

/**
 * Bid groups (either-or bids). Lock order of every writer of a group or of its listings: the group rows
 * (FOR UPDATE, in id order), then the listings (in id order), then a departure. Placing a group inserts its
 * row first (nobody else can see it yet) and then locks its listings; a close locks the groups that have bids
 * on its listing, then that listing with the groups' other listings.
 */

export type BidGroupRow = Selectable<BidGroupsTable>;

/** A new group's row (inserted first: the group, then its listings). */
export async function insertBidGroup(tx: Tx, v: { orgId: string; userId: string | null; now: Date }): Promise<BidGroupRow> {
  return tx.insertInto('bid_groups').values({ org_id: v.orgId, created_by: v.userId, created_at: v.now }).returningAll().executeTakeFirstOrThrow();
}

/** The groups of the bids still in force on a listing (unlocked read: the close locks them next). */
export async function groupIdsOnListing(db: Kysely<DB>, listingId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('bids')
    .select('bid_group_id')
    .distinct()
    .where('listing_id', '=', listingId)
    .where('status', '=', 'active')
    .where('bid_group_id', 'is not', null)
    .execute();
  return rows.map((r) => r.bid_group_id!).sort();
}

/** Locks groups FOR UPDATE in id order (the first locks of a close) and reads their status and forwarder. */
export async function lockBidGroups(tx: Tx, ids: string[]): Promise<Map<string, { status: BidGroupStatus; orgId: string }>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.selectFrom('bid_groups').select(['id', 'status', 'org_id']).where('id', 'in', ids).orderBy('id').forUpdate().execute();
  return new Map(rows.map((r) => [r.id, { status: r.status, orgId: r.org_id }] as const));
}

/** The listings where these groups still have a bid in force (read under the groups' locks). */
export async function listingsOfGroups(tx: Tx, groupIds: string[]): Promise<string[]> {
  if (groupIds.length === 0) return [];
  const rows = await tx.selectFrom('bids').select('listing_id').distinct().where('bid_group_id', 'in', groupIds).where('status', '=', 'active').execute();
  return rows.map((r) => r.listing_id);
}

/** A group one of whose bids won: `won`, with that bid. */
export async function markGroupWon(tx: Tx, groupId: string, bidId: string, now: Date): Promise<void> {
  await tx.updateTable('bid_groups').set({ status: 'won', won_bid_id: bidId, decided_at: now }).where('id', '=', groupId).where('status', '=', 'open').execute();
}

/** Withdraws a won group's other bids still in force; returns them with their listing. */
export function withdrawSiblingBids(tx: Tx, groupId: string, winningBidId: string) {
  return tx
    .updateTable('bids')
    .set({ status: 'withdrawn', awarded_teu: 0 })
    .where('bid_group_id', '=', groupId)
    .where('status', '=', 'active')
    .where('id', '<>', winningBidId)
    .returning(['id', 'listing_id'])
    .execute();
}

/**
 * A listing whose book changed without a new bid (a group bid withdrawn): its `bid_seq` moves on, so every
 * process' cached book of it is read again from Postgres. The caller holds the listing's lock.
 */
export async function bumpBidSeq(tx: Tx, listingIds: string[], now: Date): Promise<Map<string, number>> {
  if (listingIds.length === 0) return new Map();
  const rows = await tx.updateTable('listings').set({ bid_seq: sql`bid_seq + 1`, updated_at: now }).where('id', 'in', listingIds).returning(['id', 'bid_seq']).execute();
  return new Map(rows.map((r) => [r.id, Number(r.bid_seq)]));
}

/** The status of every bid of these groups. */
export function bidStatusesOfGroups(tx: Tx, groupIds: string[]) {
  if (groupIds.length === 0) return Promise.resolve([]);
  return tx.selectFrom('bids').select(['bid_group_id', 'status']).where('bid_group_id', 'in', groupIds).execute();
}

/** Groups none of whose bids is in force any more and none won: `lost`. */
export async function markGroupsLost(tx: Tx, ids: string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await tx.updateTable('bid_groups').set({ status: 'lost', decided_at: now }).where('id', 'in', ids).where('status', '=', 'open').execute();
}

/** One organisation's groups (newest first), or one of them, with their bids and where each bid stands. */
export async function groupsOfOrg(db: Kysely<DB>, orgId: string, groupId?: string) {
  let q = db.selectFrom('bid_groups').selectAll().where('org_id', '=', orgId);
  if (groupId !== undefined) q = q.where('id', '=', groupId);
  const groups = await q.orderBy('created_at', 'desc').orderBy('id').limit(200).execute();
  if (groups.length === 0) return [];
  const bids = await db
    .selectFrom('bids as b')
    .innerJoin('listings as l', 'l.id', 'b.listing_id')
    .innerJoin('departures as d', 'd.id', 'l.departure_id')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .select([
      'b.id', 'b.bid_group_id', 'b.listing_id', 'b.teu', 'b.unit_price_cents', 'b.all_or_nothing', 'b.status', 'b.awarded_teu', 'b.placed_at',
      'l.format', 'l.status as listing_status', 'l.closes_at', 'l.max_close_at', 'd.id as departure_id', 'd.departs_at', 'c.id as corridor_id', 'c.mode',
    ])
    .where('b.bid_group_id', 'in', groups.map((g) => g.id))
    .orderBy(sql`least(l.closes_at, coalesce(l.max_close_at, l.closes_at))`)
    .orderBy('b.listing_id')
    .execute();
  return groups.map((g) => ({ ...g, bids: bids.filter((b) => b.bid_group_id === g.id) }));
}
