import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Who may be offered freed capacity (issue 14): besides a forwarder's watch, a pooled shipment waiting for the
// optimiser, and — first refusal on a rail alternative — the forwarder whose booking a low-water derating moved off
// its barge.
// - offers.watch_id becomes nullable; offers.shipment_id (the pooled shipment offered) and offers.moved_booking_id
//   (the derated booking this offer relocates) are added; exactly one of the three names why this offeree.
// - offer_chains.only_org_id: a chain reserved for one organisation (a relocation's first refusal): when its offer
//   ends, the lot goes straight back on the open board, nobody else is offered it.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('offers').alterColumn('watch_id', (c) => c.dropNotNull()).execute();
  await db.schema
    .alterTable('offers')
    .addColumn('shipment_id', 'uuid', (c) => c.references('shipments.id'))
    .addColumn('moved_booking_id', 'uuid', (c) => c.references('bookings.id'))
    .execute();
  await sql`alter table offers add constraint offers_one_offeree_check check (num_nonnulls(watch_id, shipment_id, moved_booking_id) = 1)`.execute(db);
  await db.schema.alterTable('offer_chains').addColumn('only_org_id', 'uuid', (c) => c.references('organisations.id')).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('offer_chains').dropColumn('only_org_id').execute();
  await sql`alter table offers drop constraint offers_one_offeree_check`.execute(db);
  await db.schema.alterTable('offers').dropColumn('moved_booking_id').dropColumn('shipment_id').execute();
  await sql`delete from offers where watch_id is null`.execute(db);
  await db.schema.alterTable('offers').alterColumn('watch_id', (c) => c.setNotNull()).execute();
}
