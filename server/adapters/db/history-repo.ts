import { sql, type Insertable } from 'kysely';
import type { Db, Tx } from './db.ts';
import type { BookingRow } from './bookings-repo.ts';
import type { BookingsTable, DeparturesTable, ListingsTable } from './schema.ts';

/**
 * Set-based statements of the batch paths: the history seed (server/seed/history.ts) plays months of trading
 * through the services' batch methods (HoldsService.placeMany, BookingsService.confirmMany / cancelMany,
 * ledger settleBookings), which use these. Each one does for many rows exactly what its one-row sibling in
 * holds-repo / bookings-repo / departures-repo / listings-repo does for one, with the same guards in the
 * WHERE clauses. Per-row values travel as arrays (`unnest`), so a statement's size never depends on a
 * parameter limit.
 */

const iso = (d: Date) => d.toISOString();

// --- departures and listings of past timetable runs ---------------------------------------------------

/** Inserts departures of weekly services; one that exists ((service, departure time) is unique) is left alone. */
export function insertRunDepartures(tx: Tx, rows: Insertable<DeparturesTable>[]) {
  if (rows.length === 0) return Promise.resolve([]);
  return tx
    .insertInto('departures')
    .values(rows)
    .onConflict((oc) => oc.columns(['service_id', 'departs_at']).doNothing())
    .returning(['id', 'service_id', 'departs_at'])
    .execute();
}

/** A listing row to insert. */
export type NewListing = Insertable<ListingsTable>;

/** Inserts listings; their ids, departures and formats in insertion order. */
export function insertListingsReturning(tx: Tx, rows: NewListing[]) {
  if (rows.length === 0) return Promise.resolve([]);
  return tx.insertInto('listings').values(rows).returning(['id', 'departure_id', 'format']).execute();
}

/** Listings with the departure fields the hold path needs (as listingForHold, for many). */
export function listingsForHold(db: Db, ids: string[]) {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('listings as l')
    .innerJoin('departures as d', 'd.id', 'l.departure_id')
    .selectAll('l')
    .select(['d.corridor_id', 'd.cutoff_at', 'd.capacity_teu', 'd.capacity_tonnes'])
    .where('l.id', 'in', ids)
    .execute();
}

// --- confirming holds ---------------------------------------------------------------------------------

/** The departure, listing and owner of each hold. */
export function holdRefs(tx: Tx, ids: string[]) {
  return tx.selectFrom('holds').select(['id', 'departure_id', 'listing_id', 'org_id']).where('id', 'in', ids).execute();
}

/** Row-locks these departures in id order (the first step of every capacity path; no deadlock between batches). */
export async function lockDepartures(tx: Tx, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.selectFrom('departures').select('id').where('id', 'in', ids).orderBy('id').forUpdate().execute();
}

/** Share-locks these listings in id order (a cancellation in flight is waited for) and reads their status. */
export function lockListingStatuses(tx: Tx, ids: string[]) {
  if (ids.length === 0) return Promise.resolve([]);
  return tx.selectFrom('listings').select(['id', 'status']).where('id', 'in', ids).orderBy('id').forShare().execute();
}

/** confirmActiveHold for many: each hold of its organisation, active and not yet due at its own `at`. */
export async function confirmActiveHolds(tx: Tx, items: { id: string; orgId: string; at: Date }[]) {
  if (items.length === 0) return [];
  const r = await sql<{ id: string; listing_id: string; departure_id: string; teu: number; tonnes: number; unit_price_cents: number }>`
    update holds h set status = 'confirmed', ended_at = v.at
      from unnest(${items.map((i) => i.id)}::uuid[], ${items.map((i) => i.orgId)}::uuid[], ${items.map((i) => iso(i.at))}::timestamptz[]) as v(id, org_id, at)
     where h.id = v.id and h.org_id = v.org_id and h.status = 'active' and h.expires_at > v.at
    returning h.id, h.listing_id, h.departure_id, h.teu, h.tonnes, h.unit_price_cents`.execute(tx);
  return r.rows;
}

/** moveHeldToBooked for many departures (sums per departure; the caller has locked them). */
export async function moveHeldToBookedMany(tx: Tx, loads: { id: string; teu: number; tonnes: number }[], now: Date) {
  if (loads.length === 0) return [];
  const r = await sql<{ id: string; corridor_id: string; operator_org_id: string }>`
    update departures d set held_teu = d.held_teu - v.teu, held_tonnes = d.held_tonnes - v.tonnes,
           booked_teu = d.booked_teu + v.teu, booked_tonnes = d.booked_tonnes + v.tonnes, updated_at = ${now}
      from unnest(${loads.map((l) => l.id)}::uuid[], ${loads.map((l) => l.teu)}::int[], ${loads.map((l) => l.tonnes)}::int[]) as v(id, teu, tonnes)
     where d.id = v.id
    returning d.id, d.corridor_id, d.operator_org_id`.execute(tx);
  return r.rows;
}

/** Mode, distance and end coordinates of these corridors (corridorRoute for many). */
export function corridorRoutes(tx: Tx, ids: string[]) {
  return tx
    .selectFrom('corridors as c')
    .innerJoin('clusters as f', 'f.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .select(['c.id', 'c.mode', 'c.distance_km', 'f.lat as flat', 'f.lon as flon', 't.lat as tlat', 't.lon as tlon'])
    .where('c.id', 'in', ids)
    .execute();
}

/** Inserts bookings; the rows in the order given. */
export async function insertBookings(tx: Tx, rows: Insertable<BookingsTable>[]): Promise<BookingRow[]> {
  if (rows.length === 0) return [];
  return tx.insertInto('bookings').values(rows).returningAll().execute();
}

/** Audit entries, each with its own actor and time, with one statement. */
export async function auditActsAt(
  tx: Tx,
  action: string,
  entityType: string,
  acts: { at: Date; userId: string | null; orgId: string; apiKeyId?: string | null; id: string; data: Record<string, unknown> }[],
): Promise<void> {
  if (acts.length === 0) return;
  await tx
    .insertInto('audit_log')
    .values(
      acts.map((a) => ({
        at: a.at, actor_user_id: a.userId, actor_org_id: a.orgId, api_key_id: a.apiKeyId ?? null, action, entity_type: entityType,
        entity_id: a.id, data: JSON.stringify(a.data),
      })),
    )
    .execute();
}

// --- cancelling bookings ------------------------------------------------------------------------------

/** lockBookingForCancel for many: the bookings locked in id order, with what the fee and the release need. */
export async function lockBookingsForCancel(tx: Tx, ids: string[]) {
  // the booking rows locked on their own first, then their departures read (see bookings-repo lockBookingForCancel)
  const rows = await tx
    .selectFrom('bookings')
    .select(['id', 'status', 'forwarder_org_id', 'listing_id', 'departure_id', 'teu', 'tonnes', 'total_cents'])
    .where('id', 'in', ids)
    .orderBy('id')
    .forUpdate()
    .execute();
  if (rows.length === 0) return [];
  const deps = await tx.selectFrom('departures').select(['id', 'departs_at', 'cutoff_at']).where('id', 'in', [...new Set(rows.map((r) => r.departure_id))]).execute();
  const dep = new Map(deps.map((d) => [d.id, d]));
  return rows.map((r) => ({ ...r, departs_at: dep.get(r.departure_id)!.departs_at, cutoff_at: dep.get(r.departure_id)!.cutoff_at }));
}

/** The stored fee rule of each listing (null: the default rule). */
export function feeRulesOf(tx: Tx, listingIds: string[]) {
  return tx.selectFrom('listings').select(['id', 'fee_rule']).where('id', 'in', listingIds).execute();
}

/** markBookingCancelled for many, each at its own time with its fee. */
export async function markBookingsCancelled(tx: Tx, items: { id: string; at: Date; feeCents: number }[]): Promise<BookingRow[]> {
  if (items.length === 0) return [];
  const r = await sql<BookingRow>`
    update bookings b set status = 'cancelled', cancelled_at = v.at, cancellation_fee_cents = v.fee
      from unnest(${items.map((i) => i.id)}::uuid[], ${items.map((i) => iso(i.at))}::timestamptz[], ${items.map((i) => i.feeCents)}::bigint[]) as v(id, at, fee)
     where b.id = v.id
    returning b.*`.execute(tx);
  return r.rows;
}

/** returnTeuToListing for many (sums per listing; never above a listing's offered TEU). */
export async function returnTeuToListings(tx: Tx, items: { id: string; teu: number }[], now: Date): Promise<void> {
  if (items.length === 0) return;
  await sql`
    update listings l set remaining_teu = least(l.teu, l.remaining_teu + v.teu), updated_at = ${now}
      from unnest(${items.map((i) => i.id)}::uuid[], ${items.map((i) => i.teu)}::int[]) as v(id, teu)
     where l.id = v.id`.execute(tx);
}

/** releaseLoad('booked') for many departures (sums per departure; the caller has locked them); bumps each `seq`. */
export async function releaseBookedMany(tx: Tx, loads: { id: string; teu: number; tonnes: number }[], now: Date): Promise<void> {
  if (loads.length === 0) return;
  await sql`
    update departures d set booked_teu = d.booked_teu - v.teu, booked_tonnes = d.booked_tonnes - v.tonnes, seq = d.seq + 1, updated_at = ${now}
      from unnest(${loads.map((l) => l.id)}::uuid[], ${loads.map((l) => l.teu)}::int[], ${loads.map((l) => l.tonnes)}::int[]) as v(id, teu, tonnes)
     where d.id = v.id`.execute(tx);
}

// --- reads of the history seed ------------------------------------------------------------------------

/** The bookings (any status) of these departures: what a settlement after the departure settles. */
export function bookingIdsOfDepartures(db: Db, departureIds: string[]) {
  if (departureIds.length === 0) return Promise.resolve([]);
  return db.selectFrom('bookings').select(['id', 'status', 'cancellation_fee_cents', 'total_cents']).where('departure_id', 'in', departureIds).execute();
}

/** The active weekly services with their corridor's mode and their operator (what the history plans from). */
export function servicesWithMode(db: Db) {
  return db
    .selectFrom('services as s')
    .innerJoin('corridors as c', 'c.id', 's.corridor_id')
    .innerJoin('organisations as o', 'o.id', 's.operator_org_id')
    .select([
      's.id', 's.code', 's.operator_org_id', 's.corridor_id', 's.asset_name', 's.weekdays', 's.depart_time_utc', 's.transit_minutes',
      's.cutoff_minutes_before', 's.capacity_teu', 's.capacity_tonnes', 's.listed_teu', 's.unit_price_cents',
      'c.code as corridor_code', 'c.mode', 'o.slug as operator_slug',
    ])
    .where('s.active', '=', true)
    .orderBy('s.code')
    .execute();
}

/**
 * VACUUM of the holds table. Bulk trading that confirms each hold at once leaves dead index entries behind
 * in holds_org_status_idx faster than autovacuum clears them, and the held-share check of every new hold
 * walks them (bitmap scans never mark them dead); the history seed clears them every few thousand holds.
 * Needs the table's owner (the seed's role); anyone else gets a warning and nothing happens.
 */
export async function vacuumHolds(db: Db): Promise<void> {
  await sql`vacuum holds`.execute(db);
}
