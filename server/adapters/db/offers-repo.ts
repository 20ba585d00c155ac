import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { Offer, OfferChain } from '../../domain/schemas/watches.ts';
import type { DepartureLoad } from './departures-repo.ts';
import type { DB, OfferChainsTable, OffersTable } from './schema.ts';
import type { Tx } from './db.ts';

export type OfferRow = Selectable<OffersTable>;
export type ChainRow = Selectable<OfferChainsTable>;

const LOAD = ['id', 'corridor_id', 'operator_org_id', 'seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes'] as const;

/** The public `Offer` shape (API.md). */
export function toOffer(o: OfferRow): Offer {
  return {
    id: o.id,
    departureId: o.departure_id,
    listingId: o.listing_id,
    watchId: o.watch_id,
    shipmentId: o.shipment_id,
    movedBookingId: o.moved_booking_id,
    teu: o.teu,
    tonnes: o.tonnes,
    unitPriceCents: o.unit_price_cents,
    expiresAt: o.expires_at.toISOString(),
    reason: o.reason,
    status: o.status,
    createdAt: o.created_at.toISOString(),
  };
}

export function insertChain(tx: Tx, values: Insertable<OfferChainsTable>): Promise<ChainRow> {
  return tx.insertInto('offer_chains').values(values).returningAll().executeTakeFirstOrThrow();
}

export function insertOffer(tx: Tx, values: Insertable<OffersTable>): Promise<OfferRow> {
  return tx.insertInto('offers').values(values).returningAll().executeTakeFirstOrThrow();
}

export function findOffer(db: Kysely<DB>, id: string): Promise<OfferRow | undefined> {
  return db.selectFrom('offers').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Row-locks an offer (the caller has locked its departure first: lock order departure, then offer). */
export function lockOffer(tx: Tx, id: string): Promise<OfferRow | undefined> {
  return tx.selectFrom('offers').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export function findChain(db: Kysely<DB>, id: string): Promise<ChainRow | undefined> {
  return db.selectFrom('offer_chains').selectAll().where('id', '=', id).executeTakeFirst();
}

/** An open offer ends (accepted, declined, expired, withdrawn); undefined when it was no longer open. */
export function endOpenOffer(tx: Tx, id: string, status: 'accepted' | 'declined' | 'expired' | 'withdrawn', now: Date) {
  return tx
    .updateTable('offers')
    .set({ status, ended_at: now })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .returningAll()
    .executeTakeFirst();
}

export async function setOfferHold(tx: Tx, id: string, holdId: string): Promise<void> {
  await tx.updateTable('offers').set({ hold_id: holdId }).where('id', '=', id).execute();
}

export async function endChain(tx: Tx, id: string, status: 'accepted' | 'returned', now: Date): Promise<void> {
  await tx.updateTable('offer_chains').set({ status, ended_at: now }).where('id', '=', id).where('status', '=', 'offering').execute();
}

/**
 * Claims a pooled shipment for one offer in the caller's transaction: a transaction-scoped advisory try-lock on the
 * shipment (never waits: a shipment another cascade is offering right now is simply not claimed), then no open offer
 * may name it (seen once the lock is held: the one who held it has committed). False: offer it nothing now.
 */
export async function claimShipmentForOffer(tx: Tx, shipmentId: string): Promise<boolean> {
  const r = await sql<{ ok: boolean }>`
    select pg_try_advisory_xact_lock(hashtextextended('cx:shipment-offer:' || ${shipmentId}, 0))
       and not exists (select 1 from offers where shipment_id = ${shipmentId}::uuid and status = 'open') as ok`.execute(tx);
  return r.rows[0]?.ok === true;
}

/** The open offers naming a shipment (at most one). */
export function openOfferIdsOfShipment(db: Kysely<DB>, shipmentId: string) {
  return db.selectFrom('offers').select('id').where('shipment_id', '=', shipmentId).where('status', '=', 'open').execute();
}

/** Is there a chain already for this freed thing (one chain per reason and source)? */
export async function chainExists(db: Kysely<DB>, reason: ChainRow['reason'], sourceId: string): Promise<boolean> {
  const r = await db.selectFrom('offer_chains').select('id').where('reason', '=', reason).where('source_id', '=', sourceId).executeTakeFirst();
  return r !== undefined;
}

/** The organisations a chain has been offered to, and its last round. */
export async function chainHistory(tx: Tx, chainId: string): Promise<{ orgs: string[]; lastRound: number }> {
  const rows = await tx.selectFrom('offers').select(['org_id', 'round']).where('chain_id', '=', chainId).execute();
  return { orgs: rows.map((r) => r.org_id), lastRound: rows.reduce((m, r) => Math.max(m, r.round), 0) };
}

/** A cancelled or no-show booking's TEU and tonnes stay reserved for an offer: booked → held (free capacity unchanged). */
export function moveBookedToHeld(tx: Tx, departureId: string, teu: number, tonnes: number, now: Date): Promise<DepartureLoad> {
  return tx
    .updateTable('departures')
    .set({
      booked_teu: sql`booked_teu - ${teu}`,
      booked_tonnes: sql`booked_tonnes - ${tonnes}`,
      held_teu: sql`held_teu + ${teu}`,
      held_tonnes: sql`held_tonnes + ${tonnes}`,
      updated_at: now,
    })
    .where('id', '=', departureId)
    .returning(LOAD)
    .executeTakeFirstOrThrow();
}

/**
 * A listing's TEU taken off the open board for an offer, like a hold takes them: remaining − teu, the departure's
 * held + teu / tonnes (its `seq` moves on: free capacity changed). Undefined when the listing cannot give them or the
 * departure cannot take the tonnes (nothing changed then).
 */
export async function takeListedForOffer(tx: Tx, listingId: string, departureId: string, teu: number, tonnes: number, now: Date) {
  const l = await tx
    .updateTable('listings')
    .set({ remaining_teu: sql`remaining_teu - ${teu}`, updated_at: now })
    .where('id', '=', listingId)
    .where('status', '=', 'open')
    .where('remaining_teu', '>=', teu)
    .returning(['id', 'status', 'remaining_teu'])
    .executeTakeFirst();
  if (!l) return undefined;
  const dep = await tx
    .updateTable('departures')
    .set({ held_teu: sql`held_teu + ${teu}`, held_tonnes: sql`held_tonnes + ${tonnes}`, seq: sql`seq + 1`, updated_at: now })
    .where('id', '=', departureId)
    .where(sql<boolean>`held_teu + booked_teu + ${teu} <= capacity_teu and held_tonnes + booked_tonnes + ${tonnes} <= capacity_tonnes`)
    .returning(LOAD)
    .executeTakeFirst();
  if (!dep) {
    await tx.updateTable('listings').set({ remaining_teu: sql`remaining_teu + ${teu}` }).where('id', '=', listingId).execute();
    return undefined;
  }
  return { l, dep };
}

/** A listing, share-locked (the caller has locked its departure: lock order departure, then listing). */
export function listingForShare(tx: Tx, id: string) {
  return tx.selectFrom('listings').selectAll().where('id', '=', id).forShare().executeTakeFirst();
}

/** An organisation's open offers not yet due, soonest expiry first. */
export async function openOffersOfOrg(db: Kysely<DB>, orgId: string, now: Date): Promise<Offer[]> {
  const rows = await db.selectFrom('offers').selectAll().where('org_id', '=', orgId).where('status', '=', 'open').where('expires_at', '>', now).orderBy('expires_at').execute();
  return rows.map(toOffer);
}

/** Open offers past their time, oldest first, leaving out `skip`. */
export function dueOpenOffers(db: Kysely<DB>, now: Date, skip: string[], limit = 500) {
  let q = db.selectFrom('offers').select('id').where('status', '=', 'open').where('expires_at', '<=', now);
  if (skip.length) q = q.where('id', 'not in', skip);
  return q.orderBy('expires_at').limit(limit).execute();
}

export function openOfferIdsOfListing(db: Kysely<DB>, listingId: string) {
  return db.selectFrom('offers').select('id').where('listing_id', '=', listingId).where('status', '=', 'open').execute();
}

/** A departure's re-offer chains with their offers (and offerees' names), newest chain first. */
export async function chainsOfDeparture(db: Kysely<DB>, departureId: string, limit = 100): Promise<OfferChain[]> {
  const chains = await db.selectFrom('offer_chains').selectAll().where('departure_id', '=', departureId).orderBy('created_at', 'desc').limit(limit).execute();
  if (chains.length === 0) return [];
  const offers = await db
    .selectFrom('offers as o')
    .innerJoin('organisations as g', 'g.id', 'o.org_id')
    .select(['o.id', 'o.chain_id', 'o.round', 'o.org_id', 'g.name as org_name', 'o.status', 'o.created_at', 'o.expires_at', 'o.ended_at', 'o.hold_id'])
    .where('o.chain_id', 'in', chains.map((c) => c.id))
    .orderBy('o.round')
    .execute();
  return chains.map((c) => ({
    id: c.id,
    listingId: c.listing_id,
    teu: c.teu,
    tonnes: c.tonnes,
    unitPriceCents: c.unit_price_cents,
    reason: c.reason,
    status: c.status,
    createdAt: c.created_at.toISOString(),
    ...(c.ended_at ? { endedAt: c.ended_at.toISOString() } : {}),
    offers: offers
      .filter((o) => o.chain_id === c.id)
      .map((o) => ({
        id: o.id,
        round: o.round,
        orgId: o.org_id,
        orgName: o.org_name,
        status: o.status,
        createdAt: o.created_at.toISOString(),
        expiresAt: o.expires_at.toISOString(),
        ...(o.ended_at ? { endedAt: o.ended_at.toISOString() } : {}),
        ...(o.hold_id ? { holdId: o.hold_id } : {}),
      })),
  }));
}

/** A booking with what a no-show needs (its departure's operator and times); undefined: no such booking. */
export function bookingForNoShow(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('bookings as b')
    .innerJoin('departures as d', 'd.id', 'b.departure_id')
    .select(['b.id', 'b.departure_id', 'b.listing_id', 'b.itinerary_id', 'd.operator_org_id'])
    .where('b.id', '=', id)
    .executeTakeFirst();
}

export async function markNoShow(tx: Tx, id: string, now: Date): Promise<void> {
  await tx.updateTable('bookings').set({ no_show_at: now }).where('id', '=', id).execute();
}
