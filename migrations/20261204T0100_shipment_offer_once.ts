import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// A pooled shipment is offered one lot at a time (issue 14): at most one open offer names a shipment. The cascade
// claims a shipment before offering it (a transaction-scoped advisory try-lock, then "no open offer"), so this index
// is the database's last word, never the path taken.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create unique index offers_one_open_per_shipment on offers (shipment_id) where status = 'open' and shipment_id is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists offers_one_open_per_shipment`.execute(db);
}
