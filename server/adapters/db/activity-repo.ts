import { sql } from 'kysely';
import type { Db } from './db.ts';

/**
 * Reads of the demo-activity step (server/seed/activity.ts). Every write of that step goes through the
 * services; only what it needs to plan is read here.
 */

/** Bookings (any status) of the given organisations: the demo activity runs once, when this is 0. */
export async function bookingCountOfOrgs(db: Db, orgIds: string[]): Promise<number> {
  if (orgIds.length === 0) return 0;
  const r = await db
    .selectFrom('bookings')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('forwarder_org_id', 'in', orgIds)
    .executeTakeFirstOrThrow();
  return r.n;
}

/**
 * Scheduled departures whose cut-off lies in (`from`, `to`], each with its oldest open fixed listing, in
 * departure order: what the demo forwarders book.
 */
export function departuresWithFixedListing(db: Db, from: Date, to: Date) {
  return db
    .selectFrom('departures as d')
    .innerJoin('listings as l', 'l.departure_id', 'd.id')
    .select([
      'd.id', 'd.operator_org_id', 'd.departs_at', 'd.cutoff_at', 'd.capacity_teu', 'd.capacity_tonnes', 'd.held_teu', 'd.booked_teu',
      'l.id as listing_id', 'l.remaining_teu', 'l.unit_price_cents',
    ])
    .distinctOn('d.id')
    .where('d.status', '=', 'scheduled')
    .where('d.cutoff_at', '>', from)
    .where('d.cutoff_at', '<=', to)
    .where('l.format', '=', 'fixed')
    .where('l.status', '=', 'open')
    .orderBy('d.id')
    .orderBy('l.created_at')
    .execute()
    .then((rows) => rows.sort((a, b) => a.departs_at.getTime() - b.departs_at.getTime() || (a.id < b.id ? -1 : 1)));
}
