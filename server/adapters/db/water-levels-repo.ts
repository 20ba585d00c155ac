import { sql, type Insertable, type Kysely } from 'kysely';
import type { DB, DeratingsTable } from './schema.ts';
import type { Db, Tx } from './db.ts';
import type { DepartureLoad } from './departures-repo.ts';

/**
 * Water levels and low-water derating (issue 14, migration 20261203T2300): readings, the barge departures a gauge
 * governs, and the derating of one departure (capacity, the bookings moved off it, what it promised through its
 * listings). Lock order of a derating: the departure's bookings (by id), then the departure, then its listings — the
 * order of a booking's own cancellation (booking, departure, listing), so the two never wait for each other in a cycle.
 */

export function insertLevel(db: Kysely<DB>, v: { gauge: string; levelCm: number; measuredAt: Date; orgId: string; userId: string | null; apiKeyId: string | null }) {
  return db
    .insertInto('water_levels')
    .values({ gauge: v.gauge, level_cm: v.levelCm, measured_at: v.measuredAt, org_id: v.orgId, user_id: v.userId, api_key_id: v.apiKeyId })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The latest measurement of a gauge (the one that derates). */
export function latestLevel(db: Kysely<DB>, gauge: string) {
  return db.selectFrom('water_levels').selectAll().where('gauge', '=', gauge).orderBy('measured_at', 'desc').orderBy('received_at', 'desc').limit(1).executeTakeFirst();
}

export async function markApplied(db: Kysely<DB>, id: string): Promise<void> {
  await db.updateTable('water_levels').set({ applied: true }).where('id', '=', id).execute();
}

/** The latest reading of every gauge. */
export function latestLevels(db: Kysely<DB>) {
  return db
    .selectFrom('water_levels')
    .selectAll()
    .distinctOn('gauge')
    .orderBy('gauge')
    .orderBy('measured_at', 'desc')
    .orderBy('received_at', 'desc')
    .execute();
}

/** Scheduled barge departures of these corridors leaving between `from` and `until`, with their service code. */
export function gaugeDepartures(db: Kysely<DB>, corridorCodes: string[], from: Date, until: Date) {
  if (corridorCodes.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('departures as d')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .leftJoin('services as s', 's.id', 'd.service_id')
    .select(['d.id', 's.code as service_code', 'd.capacity_teu', 'd.capacity_tonnes', 'd.nominal_capacity_teu', 'd.nominal_capacity_tonnes'])
    .where('c.code', 'in', corridorCodes)
    .where('c.mode', '=', 'barge')
    .where('d.status', '=', 'scheduled')
    .where('d.departs_at', '>', from)
    .where('d.departs_at', '<', until)
    .orderBy('d.departs_at')
    .orderBy('d.id')
    .execute();
}

export async function activeHoldIdsOn(db: Kysely<DB>, departureId: string): Promise<string[]> {
  const rows = await db.selectFrom('holds').select('id').where('departure_id', '=', departureId).where('status', '=', 'active').orderBy('id').execute();
  return rows.map((r) => r.id);
}

const LIVE_BOOKING = ['id', 'forwarder_org_id', 'teu', 'tonnes', 'created_at', 'listing_id', 'departure_id', 'itinerary_id'] as const;

/** The live bookings of a departure, locked in id order. */
export function lockLiveBookingsOn(tx: Tx, departureId: string) {
  return tx.selectFrom('bookings').select(LIVE_BOOKING).where('departure_id', '=', departureId).where('status', 'in', ['confirmed', 'settled']).orderBy('id').forUpdate().execute();
}
export type LiveBooking = Awaited<ReturnType<typeof lockLiveBookingsOn>>[number];

/** The live legs of these itineraries, locked in id order (a moved leg takes its itinerary with it). */
export function lockItineraryLegs(tx: Tx, itineraryIds: string[]) {
  return tx.selectFrom('bookings').select(LIVE_BOOKING).where('itinerary_id', 'in', itineraryIds).where('status', 'in', ['confirmed', 'settled']).orderBy('id').forUpdate().execute();
}

/** Readings of one gauge derate one at a time (a transaction-scoped advisory lock on the gauge's code). */
export async function lockGauge(tx: Tx, gauge: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`water-level:${gauge}`}))`.execute(tx);
}

/** The departure, locked, with what a derating reads. */
export function lockDepartureForDerating(tx: Tx, id: string) {
  return departureForDerating(tx).where('d.id', '=', id).forUpdate('d').executeTakeFirst();
}

/** The same, not locked (what a derating looks at before its transaction). */
export function departureNow(db: Kysely<DB>, id: string) {
  return departureForDerating(db).where('d.id', '=', id).executeTakeFirst();
}

function departureForDerating(db: Kysely<DB>) {
  return db
    .selectFrom('departures as d')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .innerJoin('clusters as o', 'o.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .select([
      'd.id', 'd.status', 'd.corridor_id', 'd.operator_org_id', 'd.departs_at', 'd.arrives_at', 'd.cutoff_at', 'd.capacity_teu', 'd.capacity_tonnes',
      'd.held_teu', 'd.held_tonnes', 'd.booked_teu', 'd.booked_tonnes', 'd.nominal_capacity_teu', 'd.nominal_capacity_tonnes', 'o.code as origin',
      't.code as destination',
    ]);
}

/** Bookings cancelled by a derating: no fee, the reason recorded (their refund job gives back the whole charge). */
export async function cancelForDerating(tx: Tx, ids: string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await tx
    .updateTable('bookings')
    .set({ status: 'cancelled', cancelled_at: now, cancellation_fee_cents: 0, cancel_reason: 'derating' })
    .where('id', 'in', ids)
    .where('status', 'in', ['confirmed', 'settled'])
    .execute();
}

const LOAD = ['id', 'corridor_id', 'operator_org_id', 'seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes'] as const;

/** The departure's new capacity (and booked load minus what moved off), its nominal capacity kept; cancelled when it cannot sail. */
export function derateDeparture(
  tx: Tx,
  id: string,
  v: { capacityTeu: number; capacityTonnes: number; nominalTeu: number; nominalTonnes: number; movedTeu: number; movedTonnes: number; gauge: string; levelCm: number; cancel: boolean; now: Date },
): Promise<DepartureLoad> {
  const restored = v.capacityTeu === v.nominalTeu && v.capacityTonnes === v.nominalTonnes;
  return tx
    .updateTable('departures')
    .set({
      capacity_teu: v.capacityTeu, capacity_tonnes: v.capacityTonnes, nominal_capacity_teu: restored ? null : v.nominalTeu,
      nominal_capacity_tonnes: restored ? null : v.nominalTonnes, derated_gauge: restored ? null : v.gauge, derated_level_cm: restored ? null : v.levelCm,
      derated_at: v.now, booked_teu: sql`booked_teu - ${v.movedTeu}`, booked_tonnes: sql`booked_tonnes - ${v.movedTonnes}`, seq: sql`seq + 1`, updated_at: v.now,
      ...(v.cancel ? { status: 'cancelled' as const } : {}),
    })
    .where('id', '=', id)
    .returning(LOAD)
    .executeTakeFirstOrThrow();
}

export async function insertDerating(tx: Tx, v: Insertable<DeratingsTable>): Promise<string> {
  return (await tx.insertInto('deratings').values(v).returning('id').executeTakeFirstOrThrow()).id;
}

export async function insertMoves(tx: Tx, rows: { deratingId: string; bookingId: string; forwarderOrgId: string; alternatives: unknown[] }[]): Promise<void> {
  if (rows.length === 0) return;
  await tx
    .insertInto('derating_moves')
    .values(rows.map((r) => ({ derating_id: r.deratingId, booking_id: r.bookingId, forwarder_org_id: r.forwarderOrgId, alternatives: JSON.stringify(r.alternatives) })))
    .execute();
}

/**
 * A booking a derating moved off its barge (its leg on the derated departure — not the other legs of its itinerary):
 * its forwarder, TEU and tonnes, and the rail alternatives found then. Undefined when it was not moved so.
 */
export function movedOffBarge(db: Kysely<DB>, bookingId: string) {
  return db
    .selectFrom('derating_moves as m')
    .innerJoin('deratings as r', 'r.id', 'm.derating_id')
    .innerJoin('bookings as b', 'b.id', 'm.booking_id')
    .select(['m.booking_id', 'm.forwarder_org_id', 'b.teu', 'b.tonnes', 'm.alternatives'])
    .where('m.booking_id', '=', bookingId)
    .whereRef('b.departure_id', '=', 'r.departure_id')
    .orderBy('m.created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/**
 * What a listing has given out and not got back: TEU of its active holds, its live bookings and its lots being
 * offered. Its `teu` − this − its remaining TEU is what was cut from it (a derating, a merge): what a rise may give back.
 */
export async function liveTeuOfListing(tx: Tx, listingId: string): Promise<number> {
  const r = await sql<{ n: number }>`
    select (coalesce((select sum(teu) from holds where listing_id = ${listingId} and status = 'active'), 0)
          + coalesce((select sum(teu) from bookings where listing_id = ${listingId} and status in ('confirmed', 'settled')), 0)
          + coalesce((select sum(teu) from offer_chains where listing_id = ${listingId} and status = 'offering'), 0))::int as n`.execute(tx);
  return r.rows[0]?.n ?? 0;
}

/** Departures derated now (their latest derating), with what moved — for the scheduler's panel and the operator. */
export function currentDeratings(db: Db, o: { operatorOrgId?: string; limit: number }) {
  let q = db
    .selectFrom('deratings as r')
    .innerJoin('departures as d', 'd.id', 'r.departure_id')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .select([
      'r.id', 'r.departure_id', 'r.gauge', 'r.level_cm', 'r.factor', 'r.capacity_before_teu', 'r.capacity_after_teu', 'r.capacity_before_tonnes',
      'r.capacity_after_tonnes', 'r.cancelled', 'r.created_at', 'd.departs_at', 'd.status', 'c.code as corridor_code', 'd.operator_org_id',
      'd.nominal_capacity_teu',
      // every booking this departure's deratings moved off, not only the latest one's (a second, higher reading moves none)
      sql<string[]>`(select coalesce(array_agg(x), '{}') from deratings r2, unnest(r2.moved_bookings) x where r2.departure_id = r.departure_id)`.as('moved_bookings'),
    ])
    .distinctOn('r.departure_id')
    .where('d.departs_at', '>', sql<Date>`now()`)
    // derated now: still below its nominal capacity, or cancelled by it (a departure the water gave back is not)
    .where((eb) => eb.or([eb('d.nominal_capacity_teu', 'is not', null), eb('r.cancelled', '=', true)]))
    .orderBy('r.departure_id')
    .orderBy('r.created_at', 'desc');
  if (o.operatorOrgId) q = q.where('d.operator_org_id', '=', o.operatorOrgId);
  // the latest derating per departure (distinct on), then the soonest departures first (and kept by the limit)
  return db.selectFrom(q.as('x')).selectAll().orderBy('x.departs_at').orderBy('x.departure_id').limit(o.limit).execute();
}

/** A forwarder's bookings moved off derated departures, newest first, with their alternatives. */
export function movesOf(db: Db, forwarderOrgId: string, limit: number) {
  return db
    .selectFrom('derating_moves as m')
    .innerJoin('deratings as r', 'r.id', 'm.derating_id')
    .innerJoin('bookings as b', 'b.id', 'm.booking_id')
    .innerJoin('departures as d', 'd.id', 'r.departure_id')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .innerJoin('clusters as fc', 'fc.id', 'c.from_cluster_id')
    .innerJoin('clusters as tc', 'tc.id', 'c.to_cluster_id')
    .select(['m.booking_id', 'm.alternatives', 'm.created_at', 'r.departure_id', 'r.gauge', 'r.level_cm', 'b.teu', 'b.tonnes', 'fc.code as from_code', 'tc.code as to_code'])
    .where('m.forwarder_org_id', '=', forwarderOrgId)
    .orderBy('m.created_at', 'desc')
    .limit(limit)
    .execute();
}

/** A departure that can no longer sail: its open listings stop selling. */
export async function cancelOpenListingsOf(tx: Tx, departureId: string, now: Date): Promise<void> {
  await tx.updateTable('listings').set({ status: 'cancelled', updated_at: now }).where('departure_id', '=', departureId).where('status', '=', 'open').execute();
}

/** Every listing of a departure (re-offers may sit on any of them). */
export async function listingIdsOf(db: Kysely<DB>, departureId: string): Promise<string[]> {
  return (await db.selectFrom('listings').select('id').where('departure_id', '=', departureId).execute()).map((r) => r.id);
}
