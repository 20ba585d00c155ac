import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { Booking } from '../../domain/schemas/trade.ts';
import type { Scope } from '../../domain/principal.ts';
import { departureBriefs, type DepartureBriefRow } from './departure-brief.ts';
import type { BookingsTable, DB } from './schema.ts';
import { epochMicros, fromEpochMicros, type Tx } from './db.ts';

export type BookingRow = Selectable<BookingsTable>;

/** The public `Booking` shape of API.md. */
export function toBooking(b: BookingRow): Booking {
  return {
    id: b.id,
    departureId: b.departure_id,
    listingId: b.listing_id,
    forwarderOrgId: b.forwarder_org_id,
    teu: b.teu,
    tonnes: b.tonnes,
    unitPriceCents: b.unit_price_cents,
    totalCents: b.total_cents,
    status: b.status,
    co2eKg: b.co2e_kg,
    roadCo2eKg: b.road_co2e_kg,
    reference: b.reference,
    cargo: b.cargo ?? null,
    cancellationFeeCents: b.cancellation_fee_cents,
    createdAt: b.created_at.toISOString(),
    cancelledAt: b.cancelled_at?.toISOString() ?? null,
  };
}

export function insertBooking(tx: Tx, values: Insertable<BookingsTable>): Promise<BookingRow> {
  return tx.insertInto('bookings').values(values).returningAll().executeTakeFirstOrThrow();
}

/**
 * Bookings a scope sees, newest first: all, those on the departures its organisation operates, or its
 * organisation's own — each with its departure (`departureBriefs`' columns, same statement).
 */
export async function bookingsOfScope(
  db: Kysely<DB>,
  scope: Scope,
  limit: number,
  before?: { atUs: number; id: string },
): Promise<(BookingRow & DepartureBriefRow & { forwarder_org_name: string; at_us: number })[]> {
  let q = db
    .selectFrom('bookings as b')
    .innerJoin(departureBriefs(db).as('dep'), 'dep.dep_id', 'b.departure_id')
    .innerJoin('organisations as fo', 'fo.id', 'b.forwarder_org_id')
    .selectAll('b')
    .selectAll('dep')
    .select('fo.name as forwarder_org_name')
    .select(epochMicros('b.created_at').as('at_us'));
  if (scope.kind === 'operator') q = q.where('dep.dep_operator_org_id', '=', scope.orgId);
  else if (scope.kind === 'own') q = q.where('b.forwarder_org_id', '=', scope.orgId);
  if (before) q = q.where(sql<boolean>`(b.created_at, b.id) < (${fromEpochMicros(before.atUs)}, ${before.id}::uuid)`);
  return q.orderBy('b.created_at', 'desc').orderBy('b.id', 'desc').limit(limit).execute();
}

/** The bookings a scope sees (the same rule as bookingsOfScope, without the departure's names), as a query to select from. */
function inScope(db: Kysely<DB>, scope: Scope) {
  const q = db.selectFrom('bookings as b');
  if (scope.kind === 'operator') return q.innerJoin('departures as d', 'd.id', 'b.departure_id').where('d.operator_org_id', '=', scope.orgId);
  if (scope.kind === 'own') return q.where('b.forwarder_org_id', '=', scope.orgId);
  return q;
}

/** Counts and sums over every booking a scope sees (not only the newest bookingsOfScope returns). */
export async function bookingTotalsOfScope(db: Kysely<DB>, scope: Scope) {
  const active = sql<boolean>`b.status <> 'cancelled'`;
  return inScope(db, scope)
    .select([
      sql<number>`count(*)::int`.as('bookings'),
      sql<number>`(count(*) filter (where ${active}))::int`.as('active'),
      sql<number>`coalesce(sum(b.teu) filter (where ${active}), 0)::int`.as('teu'),
      sql<number>`coalesce(sum(b.co2e_kg) filter (where ${active}), 0)::float8`.as('co2e_kg'),
      sql<number>`coalesce(sum(b.road_co2e_kg) filter (where ${active}), 0)::float8`.as('road_co2e_kg'),
    ])
    .executeTakeFirstOrThrow();
}

/** A booking with its departure's operator and times (who may see it, what cancelling costs). */
export function bookingWithDeparture(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('bookings as b')
    .innerJoin('departures as d', 'd.id', 'b.departure_id')
    .selectAll('b')
    .select(['d.operator_org_id', 'd.departs_at', 'd.cutoff_at'])
    .where('b.id', '=', id)
    .executeTakeFirst();
}

/** A booking's buyer, listing and itinerary (undefined: no such booking). */
export function bookingOwner(db: Kysely<DB>, id: string) {
  return db.selectFrom('bookings').select(['forwarder_org_id', 'listing_id', 'itinerary_id']).where('id', '=', id).executeTakeFirst();
}

/**
 * Locks a booking for its cancellation and reads what the fee depends on. The booking row is locked on its own first,
 * then its departure read: a join locked in one statement would be re-checked against the old departure if a merge
 * moved the booking while this waited for its lock, and find nothing.
 */
export async function lockBookingForCancel(tx: Tx, id: string) {
  const b = await tx.selectFrom('bookings').select(['status', 'total_cents', 'departure_id']).where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
  const d = await tx.selectFrom('departures').select(['departs_at', 'cutoff_at']).where('id', '=', b.departure_id).executeTakeFirstOrThrow();
  return { ...b, ...d };
}

export function markBookingCancelled(tx: Tx, id: string, now: Date, feeCents: number): Promise<BookingRow> {
  return tx
    .updateTable('bookings')
    .set({ status: 'cancelled', cancelled_at: now, cancellation_fee_cents: feeCents })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}
