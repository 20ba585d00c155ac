import type { Insertable, Kysely } from 'kysely';
import type { DB, DeparturesTable, ListingsTable } from './schema.ts';
import type { Tx } from './db.ts';

/** The weekly services the timetable rolls forward: every active one, with its corridor code and operator slug. */
export function activeWeeklyServices(db: Kysely<DB>) {
  return db
    .selectFrom('services as s')
    .innerJoin('corridors as c', 'c.id', 's.corridor_id')
    .innerJoin('organisations as o', 'o.id', 's.operator_org_id')
    .select([
      's.id', 's.code', 's.operator_org_id', 's.corridor_id', 's.asset_name', 's.weekdays', 's.depart_time_utc', 's.transit_minutes',
      's.cutoff_minutes_before', 's.capacity_teu', 's.capacity_tonnes', 's.listed_teu', 's.unit_price_cents',
      'c.code as corridor_code', 'o.slug as operator_slug',
    ])
    .where('s.active', '=', true)
    .execute();
}

/**
 * Inserts planned departures of weekly services; one that exists already ((service, departure time) is
 * unique) is left as it is. Answers only the departures it inserted.
 */
export function insertServiceDepartures(tx: Tx, rows: Insertable<DeparturesTable>[]) {
  return tx
    .insertInto('departures')
    .values(rows)
    .onConflict((oc) => oc.columns(['service_id', 'departs_at']).doNothing())
    .returning(['id', 'service_id'])
    .execute();
}

/** Inserts listings with one statement. */
export async function insertListings(tx: Tx, rows: Insertable<ListingsTable>[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.insertInto('listings').values(rows).execute();
}
