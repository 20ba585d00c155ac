import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Placing a hold sums the placing organisation's active holds on that departure (the held-share cap, migration
// 20261203T0900). The only index was (org_id, status): the sum read every active hold of the organisation on every
// departure, so a forwarder holding much elsewhere paid for it on each new hold (tools/bench/holds-profile.ts, 10
// holds per batch: 331 µs per hold with nothing held elsewhere, 500 µs with 400 active holds per organisation
// elsewhere; with this index 348 µs).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index holds_active_departure_org_idx on holds (departure_id, org_id) where status = 'active'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists holds_active_departure_org_idx`.execute(db);
}
