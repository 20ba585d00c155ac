import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, MergeConsentsTable } from './schema.ts';
import type { Tx } from './db.ts';
import type { DepartureLoad } from './departures-repo.ts';

/**
 * Merges of under-used departures (issue 13, migration 20261203T1900): the bookings a merge may move, the
 * forwarders' consents, and the move itself.
 *
 * Lock order of a merge (every writer of these rows takes them so): the proposal, its consents, the bookings (by
 * id), then the departures (by id), then listings — a booking's cancellation locks the booking, then its
 * departure, then the listing, so the two never wait for each other in a cycle.
 */

export type ConsentRow = Selectable<MergeConsentsTable>;

const ACTIVE = ['confirmed', 'settled'] as const;

/**
 * Live bookings on these departures that a merge may move: single bookings bought at a fixed or falling price — not a
 * leg of an itinerary (moving one leg would break its connections; its legs are read from its holds) and not won in an
 * auction (the auction's statistics stay with the departure it was held for).
 */
export function movableBookingsOn(db: Kysely<DB>, departureIds: string[]) {
  if (departureIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('bookings as b')
    .select(['b.id', 'b.departure_id', 'b.forwarder_org_id', 'b.teu', 'b.tonnes'])
    .where('b.departure_id', 'in', departureIds)
    .where('b.status', 'in', [...ACTIVE])
    .where('b.itinerary_id', 'is', null)
    .where('b.bid_id', 'is', null)
    .orderBy('b.id')
    .execute();
}

/** Departures whose merge is being consented to: a new plan proposes nothing for them. */
export async function departuresInConsent(db: Kysely<DB>): Promise<string[]> {
  const rows = await db
    .selectFrom('proposals')
    .select(['departure_id', 'merge_into_departure_id'])
    .where('status', '=', 'consenting')
    .execute();
  return rows.flatMap((r) => [r.departure_id, r.merge_into_departure_id]).filter((x): x is string => x !== null);
}

export async function insertConsents(tx: Tx, proposalId: string, rows: { bookingId: string; forwarderOrgId: string; teu: number; tonnes: number }[], now: Date) {
  if (rows.length === 0) return;
  await tx
    .insertInto('merge_consents')
    .values(rows.map((r) => ({ proposal_id: proposalId, booking_id: r.bookingId, forwarder_org_id: r.forwarderOrgId, teu: r.teu, tonnes: r.tonnes, created_at: now })))
    .execute();
}

/** A merge's consents, locked (after its proposal). */
export function lockConsents(tx: Tx, proposalId: string): Promise<ConsentRow[]> {
  return tx.selectFrom('merge_consents').selectAll().where('proposal_id', '=', proposalId).orderBy('booking_id').forUpdate().execute();
}

export function consentsOf(db: Kysely<DB> | Tx, proposalIds: string[], forwarderOrgId?: string): Promise<ConsentRow[]> {
  if (proposalIds.length === 0) return Promise.resolve([]);
  let q = db.selectFrom('merge_consents').selectAll().where('proposal_id', 'in', proposalIds);
  if (forwarderOrgId) q = q.where('forwarder_org_id', '=', forwarderOrgId);
  return q.orderBy('proposal_id').orderBy('booking_id').execute();
}

/** A forwarder's pending answers of one merge → accepted or declined; every other pending one → void (`void`). */
export async function answerConsents(
  tx: Tx,
  proposalId: string,
  v: { forwarderOrgId?: string; status: 'accepted' | 'declined' | 'void'; by: string | null; now: Date },
): Promise<number> {
  let q = tx
    .updateTable('merge_consents')
    .set({ status: v.status, decided_at: v.now, decided_by: v.by })
    .where('proposal_id', '=', proposalId)
    .where('status', '=', 'pending');
  if (v.forwarderOrgId) q = q.where('forwarder_org_id', '=', v.forwarderOrgId);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The merge proposals a forwarder is asked about (any of its bookings named in one), newest first. */
export function mergesAskingForwarder(db: Kysely<DB>, forwarderOrgId: string, limit: number) {
  return db
    .selectFrom('proposals as p')
    .selectAll('p')
    .where('p.kind', '=', 'departure')
    .where((eb) => eb.exists(eb.selectFrom('merge_consents as c').select('c.booking_id').whereRef('c.proposal_id', '=', 'p.id').where('c.forwarder_org_id', '=', forwarderOrgId)))
    .orderBy('p.created_at', 'desc')
    .orderBy('p.id')
    .limit(limit)
    .execute();
}

/** The live bookings on a departure, locked in id order (a merge's step 3). */
export function lockActiveBookingsOn(tx: Tx, departureId: string) {
  return tx
    .selectFrom('bookings')
    .select(['id', 'forwarder_org_id', 'teu', 'tonnes', 'status'])
    .where('departure_id', '=', departureId)
    .where('status', 'in', [...ACTIVE])
    .orderBy('id')
    .forUpdate()
    .execute();
}

/** Both departures of a merge, locked in id order, with what the move checks. */
export function lockMergeDepartures(tx: Tx, ids: string[]) {
  return tx
    .selectFrom('departures')
    .select(['id', 'status', 'cutoff_at', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes', 'corridor_id'])
    .where('id', 'in', ids)
    .orderBy('id')
    .forUpdate()
    .execute();
}

/** Open listings of a departure (locked, after the departure): what it still promises. */
export function lockOpenListings(tx: Tx, departureId: string) {
  return tx
    .selectFrom('listings')
    .select(['id', 'format', 'teu', 'remaining_teu', 'status'])
    .where('departure_id', '=', departureId)
    .where('status', '=', 'open')
    .orderBy('id')
    .forUpdate()
    .execute();
}

export async function shrinkListing(tx: Tx, id: string, by: number, now: Date) {
  return tx
    .updateTable('listings')
    .set({ remaining_teu: sql`remaining_teu - ${by}`, updated_at: now })
    .where('id', '=', id)
    .returning(['id', 'status', 'remaining_teu'])
    .executeTakeFirstOrThrow();
}

const LOAD = ['id', 'corridor_id', 'operator_org_id', 'seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes'] as const;

/**
 * Moves bookings from one departure to another (both locked by the caller): the bookings' departure, and the
 * booked TEU and tonnes of both (the departures' guards refuse an overfull target). Returns both loads.
 */
export async function moveBookings(tx: Tx, ids: string[], from: string, to: string, teu: number, tonnes: number, now: Date): Promise<DepartureLoad[]> {
  await tx.updateTable('bookings').set({ departure_id: to, moved_from_departure_id: from, moved_at: now }).where('id', 'in', ids).where('departure_id', '=', from).execute();
  const out: DepartureLoad[] = [];
  for (const [id, sign] of [[from, -1], [to, 1]] as const) {
    out.push(
      await tx
        .updateTable('departures')
        .set({ booked_teu: sql`booked_teu + ${sign * teu}`, booked_tonnes: sql`booked_tonnes + ${sign * tonnes}`, seq: sql`seq + 1`, updated_at: now })
        .where('id', '=', id)
        .returning(LOAD)
        .executeTakeFirstOrThrow(),
    );
  }
  return out;
}

/** A proposal moved to `consenting` (only from open). */
export async function startConsent(tx: Tx, id: string): Promise<boolean> {
  const r = await tx.updateTable('proposals').set({ status: 'consenting' }).where('id', '=', id).where('status', '=', 'open').executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** A merge decided: from open or consenting. */
export async function decideMerge(tx: Tx, id: string, v: { status: 'accepted' | 'declined' | 'stale'; by: string | null; now: Date; reason?: string | null }): Promise<boolean> {
  const r = await tx
    .updateTable('proposals')
    .set({ status: v.status, decided_at: v.now, decided_by: v.by, reason: v.reason ?? null })
    .where('id', '=', id)
    .where('status', 'in', ['open', 'consenting'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** The bookings named by merge proposals, with their size and forwarder as they are now. */
export function bookingsNamed(db: Kysely<DB>, ids: string[]) {
  if (ids.length === 0) return Promise.resolve([]);
  return db.selectFrom('bookings').select(['id', 'forwarder_org_id', 'teu', 'tonnes']).where('id', 'in', ids).execute();
}
