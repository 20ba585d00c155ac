import { sql, type Kysely } from 'kysely';
import type { Mode } from '../../domain/enums.ts';
import { epochMicros, fromEpochMicros } from './db.ts';
import type { DB } from './schema.ts';
import { departureOnSaleQuery } from './departures-repo.ts';
import type { ListingRow } from './listings-repo.ts';

/** Reference data of the network (clusters, corridors) and the public departure board's reads. */

export function allClusters(db: Kysely<DB>) {
  return db.selectFrom('clusters').selectAll().orderBy('gateway').orderBy('code').execute();
}

/** Every corridor with the codes of its two clusters, by code. */
export function allCorridors(db: Kysely<DB>) {
  return db
    .selectFrom('corridors as c')
    .innerJoin('clusters as f', 'f.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .select(['c.id', 'c.code', 'c.from_cluster_id', 'c.to_cluster_id', 'c.mode', 'c.distance_km', 'f.code as from_code', 't.code as to_code'])
    .orderBy('c.code')
    .execute();
}

export interface DepartureFilter {
  from?: string;
  to?: string;
  mode?: Mode;
  after?: Date;
  before?: Date;
  limit?: number;
  /** keyset: only departures after this one in (departs_at, id) order (the previous page's last) */
  cursor?: { atUs: number; id: string };
}

/**
 * Scheduled departures matching the filter, by departure time, with what each has on sale at `now` (one statement).
 * Without `after`, those from `now` on.
 */
export function scheduledDepartures(db: Kysely<DB>, f: DepartureFilter, now: Date) {
  let q = departureOnSaleQuery(db, now).where('d.status', '=', 'scheduled');
  if (f.from) q = q.where('o.code', '=', f.from);
  if (f.to) q = q.where('t.code', '=', f.to);
  if (f.mode) q = q.where('c.mode', '=', f.mode);
  q = q.where('d.departs_at', '>=', f.after ?? now);
  if (f.before) q = q.where('d.departs_at', '<', f.before);
  if (f.cursor) q = q.where(sql<boolean>`(d.departs_at, d.id) > (${fromEpochMicros(f.cursor.atUs)}, ${f.cursor.id}::uuid)`);
  return q.select(epochMicros('d.departs_at').as('at_us')).orderBy('d.departs_at').orderBy('d.id').limit(f.limit ?? 500).execute();
}

/** A departure's listings other than cancelled ones, oldest first. */
export function listingsOfDeparture(db: Kysely<DB>, departureId: string): Promise<ListingRow[]> {
  return db.selectFrom('listings').selectAll().where('departure_id', '=', departureId).where('status', '!=', 'cancelled').orderBy('created_at').execute();
}

/** Whether a corridor, departure or listing with this id exists (a live subscription's target). */
export async function targetExists(db: Kysely<DB>, table: 'corridors' | 'departures' | 'listings', id: string): Promise<boolean> {
  return !!(await db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst());
}
