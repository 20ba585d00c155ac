import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// The dashboards' live market activity (GET /api/stats/activity: bookings of the last N minutes) reads bookings by
// creation time; the only time index was per forwarder (forwarder_org_id, created_at).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index bookings_created_at_idx on bookings (created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists bookings_created_at_idx`.execute(db);
}
