import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

/**
 * A departure's manifest: who rides on it (its bookings, cancelled ones included, with their cargo as given at
 * confirmation) and who holds room on it now. At most one row per TEU of the departure's capacity, so no paging.
 */
export function bookingsOnDeparture(db: Kysely<DB>, departureId: string) {
  return db
    .selectFrom('bookings as b')
    .innerJoin('organisations as o', 'o.id', 'b.forwarder_org_id')
    .innerJoin('listings as l', 'l.id', 'b.listing_id')
    .select([
      'b.id', 'b.forwarder_org_id', 'o.name as forwarder_org_name', 'b.listing_id', 'l.format', 'b.teu', 'b.tonnes', 'b.unit_price_cents', 'b.total_cents',
      'b.status', 'b.reference', 'b.cargo', 'b.created_at', 'b.cancelled_at', 'b.cancellation_fee_cents', 'b.cancel_reason', 'b.no_show_at', 'b.itinerary_id',
      'b.moved_from_departure_id',
    ])
    .where('b.departure_id', '=', departureId)
    .orderBy('b.created_at')
    .orderBy('b.id')
    .execute();
}
export type ManifestBookingRow = Awaited<ReturnType<typeof bookingsOnDeparture>>[number];

/**
 * The holds on a departure still active, soonest to expire first — those past their expiry that the sweep has not
 * ended yet too: the departure still counts them as held until it does, and the manifest's totals are its counters.
 */
export function activeHoldsOnDeparture(db: Kysely<DB>, departureId: string) {
  return db
    .selectFrom('holds as h')
    .innerJoin('organisations as o', 'o.id', 'h.org_id')
    .select(['h.id', 'h.org_id', 'o.name as org_name', 'h.listing_id', 'h.teu', 'h.tonnes', 'h.unit_price_cents', 'h.expires_at', 'h.created_at', 'h.itinerary_id'])
    .where('h.departure_id', '=', departureId)
    .where('h.status', '=', 'active')
    .orderBy('h.expires_at')
    .orderBy('h.id')
    .execute();
}
export type ManifestHoldRow = Awaited<ReturnType<typeof activeHoldsOnDeparture>>[number];

/** Room reserved on a departure for a re-offer still open (freed capacity offered to one forwarder before the board); as holds. */
export function openOffersOnDeparture(db: Kysely<DB>, departureId: string) {
  return db
    .selectFrom('offers as f')
    .innerJoin('organisations as o', 'o.id', 'f.org_id')
    .select(['f.id', 'f.org_id', 'o.name as org_name', 'f.listing_id', 'f.teu', 'f.tonnes', 'f.unit_price_cents', 'f.reason', 'f.expires_at'])
    .where('f.departure_id', '=', departureId)
    .where('f.status', '=', 'open')
    .orderBy('f.expires_at')
    .orderBy('f.id')
    .execute();
}
