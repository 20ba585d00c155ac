import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { Scope } from '../../domain/principal.ts';
import type { BookingRow } from './bookings-repo.ts';
import type { DepartureLoad } from './departures-repo.ts';
import { listingsOnDepartures } from './listings-repo.ts';
import type { DB, ItinerariesTable } from './schema.ts';
import type { Tx } from './db.ts';

export type ItineraryRow = Selectable<ItinerariesTable>;

/**
 * The legs of a chain to hold, by listing: the listing row with its departure's times, load and status, and its
 * corridor's mode, distance and end clusters (what core planChain checks and what the hold path needs).
 */
export function chainLegs(db: Kysely<DB>, listingIds: string[]) {
  if (listingIds.length === 0) return Promise.resolve([]);
  return listingsOnDepartures(db).where('l.id', 'in', listingIds).execute();
}
export type ChainLegRow = Awaited<ReturnType<typeof chainLegs>>[number];

export function insertItinerary(tx: Tx, values: Insertable<ItinerariesTable>): Promise<ItineraryRow> {
  return tx.insertInto('itineraries').values(values).returningAll().executeTakeFirstOrThrow();
}

/**
 * Makes freshly placed holds the legs of an itinerary (same transaction as their placement) and gives them the
 * itinerary's one expiry, so that they expire together.
 */
export async function linkHolds(tx: Tx, itineraryId: string, legs: { holdId: string; legIndex: number }[], expiresAt: Date): Promise<void> {
  await sql`
    update holds h set itinerary_id = ${itineraryId}, leg_index = v.leg, expires_at = ${expiresAt}
      from unnest(${legs.map((l) => l.holdId)}::uuid[], ${legs.map((l) => l.legIndex)}::smallint[]) as v(id, leg)
     where h.id = v.id`.execute(tx);
}

/**
 * What an Idempotency-Key already answered (undefined: unused, or its request still in flight), read before the
 * checks of a new itinerary: a retry must replay even when those checks would now refuse it (claimKey, in the
 * transaction, remains the guard against a second effect).
 */
export function storedIdemAnswer(db: Kysely<DB>, orgId: string, key: string) {
  return db
    .selectFrom('idempotency_keys')
    .select(['route', 'request_hash', 'status_code', 'response'])
    .where('org_id', '=', orgId)
    .where('key', '=', key)
    .where('status_code', '>', 0)
    .executeTakeFirst();
}

/** Row-locks an organisation's itinerary (undefined: not its own, or no such itinerary). The first lock of every itinerary path. */
export function lockItineraryOfOrg(tx: Tx, id: string, orgId: string) {
  return tx.selectFrom('itineraries').selectAll().where('id', '=', id).where('forwarder_org_id', '=', orgId).forUpdate().executeTakeFirst();
}

/** Row-locks an itinerary, whoever owns it (the system ending it). */
export function lockItinerary(tx: Tx, id: string) {
  return tx.selectFrom('itineraries').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export function updateItinerary(tx: Tx, id: string, patch: Partial<Pick<ItineraryRow, 'status' | 'reference' | 'confirmed_at' | 'ended_at' | 'cancellation_fee_cents' | 'expires_at'>>) {
  return tx.updateTable('itineraries').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** The legs' holds of an itinerary, in leg order. */
export function legHolds(tx: Tx, itineraryId: string) {
  return tx
    .selectFrom('holds')
    .select(['id', 'listing_id', 'departure_id', 'org_id', 'teu', 'tonnes', 'unit_price_cents', 'status', 'expires_at', 'leg_index'])
    .where('itinerary_id', '=', itineraryId)
    .orderBy('leg_index')
    .execute();
}

/**
 * Ends every still active hold of an itinerary (the caller has locked the itinerary and the departures): all legs
 * at once, whatever each one's own expiry. Returns the holds it ended.
 */
export async function endActiveHoldsOf(tx: Tx, itineraryId: string, how: 'released' | 'expired' | 'cancelled', now: Date) {
  return tx
    .updateTable('holds')
    .set({ status: how, ended_at: now })
    .where('itinerary_id', '=', itineraryId)
    .where('status', '=', 'active')
    .returning(['id', 'listing_id', 'departure_id', 'org_id', 'teu', 'tonnes', 'unit_price_cents', 'status', 'expires_at', 'created_at', 'leg_index'])
    .execute();
}

/** Held capacity back to these departures (one row per departure; the caller has locked them); bumps each `seq`. */
export async function releaseHeldMany(tx: Tx, loads: { id: string; teu: number; tonnes: number }[], now: Date): Promise<DepartureLoad[]> {
  if (loads.length === 0) return [];
  const r = await sql<DepartureLoad>`
    update departures d set held_teu = d.held_teu - v.teu, held_tonnes = d.held_tonnes - v.tonnes, seq = d.seq + 1, updated_at = ${now}
      from unnest(${loads.map((l) => l.id)}::uuid[], ${loads.map((l) => l.teu)}::int[], ${loads.map((l) => l.tonnes)}::int[]) as v(id, teu, tonnes)
     where d.id = v.id
    returning d.id, d.corridor_id, d.operator_org_id, d.seq, d.capacity_teu, d.capacity_tonnes, d.held_teu, d.held_tonnes, d.booked_teu, d.booked_tonnes`.execute(tx);
  return r.rows;
}

/** The loads of these departures (after a change in the caller's transaction). */
export function departureLoads(tx: Tx, ids: string[]): Promise<DepartureLoad[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return tx
    .selectFrom('departures')
    .select(['id', 'corridor_id', 'operator_org_id', 'seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes'])
    .where('id', 'in', ids)
    .execute();
}

/** The remaining TEU and status of these listings. */
export function listingStates(tx: Tx, ids: string[]) {
  if (ids.length === 0) return Promise.resolve([]);
  return tx.selectFrom('listings').select(['id', 'status', 'remaining_teu']).where('id', 'in', ids).execute();
}

/** The bookings of an itinerary, in leg order (locked for their cancellation: bookings before departures). */
export function lockLegBookings(tx: Tx, itineraryId: string) {
  return tx
    .selectFrom('bookings as b')
    .innerJoin('departures as d', 'd.id', 'b.departure_id')
    .innerJoin('listings as l', 'l.id', 'b.listing_id')
    .select(['b.id', 'b.status', 'b.listing_id', 'b.departure_id', 'b.teu', 'b.tonnes', 'b.total_cents', 'b.leg_index', 'd.departs_at', 'd.cutoff_at', 'l.fee_rule'])
    .where('b.itinerary_id', '=', itineraryId)
    .orderBy('b.id')
    .forUpdate('b')
    .execute();
}

// --- reads ----------------------------------------------------------------------------------------------

/** Itineraries a scope sees, newest first: all (the platform) or its organisation's own. */
export function itinerariesOfScope(db: Kysely<DB>, scope: Scope, limit = 200) {
  let q = db.selectFrom('itineraries').selectAll();
  if (scope.kind !== 'all') q = q.where('forwarder_org_id', '=', scope.orgId);
  return q.orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
}

export function findItinerary(db: Kysely<DB>, id: string) {
  return db.selectFrom('itineraries').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Every leg of these itineraries: its hold, departure, corridor ends, listing terms, in leg order. */
export function legRowsOf(db: Kysely<DB>, itineraryIds: string[]) {
  if (itineraryIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('holds as h')
    .innerJoin('departures as d', 'd.id', 'h.departure_id')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .innerJoin('clusters as o', 'o.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .innerJoin('listings as l', 'l.id', 'h.listing_id')
    .select([
      'h.id', 'h.itinerary_id', 'h.leg_index', 'h.listing_id', 'h.departure_id', 'h.teu', 'h.tonnes', 'h.unit_price_cents', 'h.status', 'h.expires_at',
      'h.created_at', 'd.departs_at', 'd.arrives_at', 'd.cutoff_at', 'c.mode', 'c.distance_km', 'o.code as origin', 't.code as destination',
      'l.format', 'l.fee_rule',
    ])
    .where('h.itinerary_id', 'in', itineraryIds)
    .orderBy('h.itinerary_id')
    .orderBy('h.leg_index')
    .execute();
}
export type LegRow = Awaited<ReturnType<typeof legRowsOf>>[number];

/** Every booking of these itineraries. */
export function bookingsOfItineraries(db: Kysely<DB>, itineraryIds: string[]): Promise<BookingRow[]> {
  if (itineraryIds.length === 0) return Promise.resolve([]);
  return db.selectFrom('bookings').selectAll().where('itinerary_id', 'in', itineraryIds).execute();
}
