import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.ts';

/** What the live dashboard feed needs to know about a departure: none of it ever changes. */
export interface DepartureKey {
  id: string;
  corridorId: string;
  operatorOrgId: string;
  /** Its departure day: the UTC calendar date of departs_at (YYYY-MM-DD). */
  day: string;
}

/** Corridor, operator and departure day of the given departures (unknown ids are left out); one query. */
export async function departureKeys(db: Kysely<DB>, ids: readonly string[]): Promise<DepartureKey[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('departures')
    .select([
      'id',
      'corridor_id as corridorId',
      'operator_org_id as operatorOrgId',
      sql<string>`to_char(departs_at at time zone 'UTC', 'YYYY-MM-DD')`.as('day'),
    ])
    .where('id', 'in', [...ids])
    .execute();
}
