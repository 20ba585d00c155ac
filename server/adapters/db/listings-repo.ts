import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import { feeRuleOrDefault } from '../../core/fees.ts';
import { fallingPrice } from '../../core/pricing.ts';
import type { DB, ListingsTable } from './schema.ts';
import type { Tx } from './db.ts';

export type ListingRow = Selectable<ListingsTable>;

/** The price a buyer pays per TEU right now (fixed: the unit price; falling: the stepped price). */
export function currentUnitPrice(l: ListingRow, now: Date): number | undefined {
  if (l.format === 'fixed') return l.unit_price_cents ?? undefined;
  if (l.format === 'falling' && l.unit_price_cents !== null) {
    return fallingPrice(
      {
        startPriceCents: l.unit_price_cents,
        floorPriceCents: l.floor_price_cents ?? l.unit_price_cents,
        stepCents: l.step_cents ?? 0,
        stepEveryMinutes: l.step_every_minutes ?? 60,
        startsAt: l.opens_at ?? l.created_at,
      },
      now,
    );
  }
  return undefined;
}

/** The public `Listing` shape of API.md. Auction state (leading bids) is added by the auction service. */
export function toListing(l: ListingRow, now: Date) {
  const price = currentUnitPrice(l, now);
  return {
    id: l.id,
    departureId: l.departure_id,
    format: l.format,
    teu: l.teu,
    remainingTeu: l.remaining_teu,
    status: l.status,
    ...(l.unit_price_cents !== null ? { unitPriceCents: l.unit_price_cents } : {}),
    // a falling listing's reserve is its floor (API.md names it reservePriceCents; it is stored as the floor)
    ...(l.reserve_price_cents !== null ? { reservePriceCents: l.reserve_price_cents } : l.format === 'falling' && l.floor_price_cents !== null ? { reservePriceCents: l.floor_price_cents } : {}),
    ...(l.min_increment_cents !== null ? { minIncrementCents: l.min_increment_cents } : {}),
    ...(l.floor_price_cents !== null ? { floorPriceCents: l.floor_price_cents } : {}),
    ...(price !== undefined ? { currentPriceCents: price } : {}),
    ...(l.opens_at ? { opensAt: l.opens_at.toISOString() } : {}),
    ...(l.closes_at ? { closesAt: l.closes_at.toISOString() } : {}),
    unsoldAction: l.unsold_action,
    // what cancelling a booking of it would cost, shown before anyone holds or confirms (a forwarder first met it on cancelling)
    feeRule: feeRuleOrDefault(l.fee_rule),
  };
}

/**
 * Listings with their departure's times, load and status and their corridor's mode, distance and end clusters (`d`,
 * `c`, `o`, `t` stay in scope for further conditions): the fragment a chain's legs and a watch's candidates read.
 */
export function listingsOnDepartures(db: Kysely<DB>) {
  return db
    .selectFrom('listings as l')
    .innerJoin('departures as d', 'd.id', 'l.departure_id')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .innerJoin('clusters as o', 'o.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .selectAll('l')
    .select([
      'd.corridor_id', 'd.departs_at', 'd.arrives_at', 'd.cutoff_at', 'd.capacity_teu', 'd.capacity_tonnes', 'd.held_teu', 'd.held_tonnes',
      'd.booked_teu', 'd.booked_tonnes', 'd.status as departure_status', 'c.mode', 'c.distance_km', 'o.code as origin', 't.code as destination',
    ]);
}

export function findListing(db: Kysely<DB>, id: string): Promise<ListingRow | undefined> {
  return db.selectFrom('listings').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A listing with the departure fields the hold path needs (corridor, cut-off, capacity). */
export function listingForHold(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('listings as l')
    .innerJoin('departures as d', 'd.id', 'l.departure_id')
    .selectAll('l')
    .select(['d.corridor_id', 'd.cutoff_at', 'd.capacity_teu', 'd.capacity_tonnes'])
    .where('l.id', '=', id)
    .executeTakeFirst();
}

/** A listing with its departure's operator and corridor (who may cancel it, which cache entry it touches). */
export function listingWithOperator(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('listings as l')
    .innerJoin('departures as d', 'd.id', 'l.departure_id')
    .select(['l.id', 'l.status', 'd.operator_org_id', 'd.corridor_id', 'd.id as departure_id'])
    .where('l.id', '=', id)
    .executeTakeFirst();
}

/** The listing's own cancellation fee rule as stored (null: the default rule applies). */
export async function feeRuleOf(db: Kysely<DB>, listingId: string): Promise<unknown> {
  const l = await db.selectFrom('listings').select('fee_rule').where('id', '=', listingId).executeTakeFirst();
  return l?.fee_rule ?? null;
}

/** TEU the departure's open listings still offer (in the caller's transaction, under the departure's lock). */
export async function openListedTeu(tx: Tx, departureId: string): Promise<number> {
  const r = await tx
    .selectFrom('listings')
    .select(sql<number>`coalesce(sum(remaining_teu), 0)::int`.as('n'))
    .where('departure_id', '=', departureId)
    .where('status', '=', 'open')
    .executeTakeFirstOrThrow();
  return r.n;
}

export function insertListing(tx: Tx, values: Insertable<ListingsTable>): Promise<ListingRow> {
  return tx.insertInto('listings').values(values).returningAll().executeTakeFirstOrThrow();
}

/** Share-locks the listing (waits for a cancellation in flight, keeps one from committing) and reads its status. */
export function lockListingStatus(tx: Tx, id: string) {
  return tx.selectFrom('listings').select('status').where('id', '=', id).forShare().executeTakeFirst();
}

/** Locks the listing for a cancellation and reads what decides whether it may be cancelled. */
export function lockListingForCancel(tx: Tx, id: string) {
  return tx.selectFrom('listings').select(['format', 'status', 'closes_at', 'max_close_at']).where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Cancels an open listing; undefined when it is no longer open. */
export function markListingCancelled(tx: Tx, id: string, now: Date): Promise<ListingRow | undefined> {
  return tx
    .updateTable('listings')
    .set({ status: 'cancelled', closed_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .returningAll()
    .executeTakeFirst();
}

/**
 * Gives held or booked TEU back to the listing (the caller's transaction has already locked the departure).
 * The listing never exceeds its offered TEU.
 */
export function returnTeuToListing(tx: Tx, listingId: string, teu: number, now: Date) {
  return tx
    .updateTable('listings')
    .set({ remaining_teu: sql`least(teu, remaining_teu + ${teu})`, updated_at: now })
    .where('id', '=', listingId)
    .returning(['id', 'status', 'remaining_teu'])
    .executeTakeFirstOrThrow();
}

export async function listingHasBids(tx: Tx, listingId: string): Promise<boolean> {
  return !!(await tx.selectFrom('bids').select('id').where('listing_id', '=', listingId).limit(1).executeTakeFirst());
}

/** The database's clock (one clock decides an auction's close: read it under the listing's row lock). */
export async function databaseNow(tx: Tx): Promise<Date> {
  return (await sql<{ now: Date }>`select clock_timestamp() as now`.execute(tx)).rows[0]!.now;
}
