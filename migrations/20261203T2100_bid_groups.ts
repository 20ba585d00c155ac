import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Either-or bids across modes (issue 14, part 4).
// - bid_groups: a forwarder's group of 2–5 bids on different auction listings, of which at most one may win.
//   status: open → won (a bid of the group won at a close; its other bids were withdrawn in that transaction)
//   | lost (every bid of the group lost). `withdrawn` is reserved for a forwarder withdrawing the whole group
//   (not offered: single bids cannot be withdrawn either). The row is the group's lock: every close that
//   concerns a group locks it FOR UPDATE before the listings (lock order: groups by id, then listings by id).
// - bids.bid_group_id: the group a bid belongs to (null for a single bid); one bid per listing per group.
// - bids.status gains 'withdrawn': withdrawn by its group (a sibling won elsewhere); never counted again.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('bid_groups')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('created_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open','won','lost','withdrawn')`))
    .addColumn('won_bid_id', 'uuid')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('bid_groups_org_idx').on('bid_groups').columns(['org_id', 'created_at']).execute();

  await db.schema.alterTable('bids').addColumn('bid_group_id', 'uuid', (c) => c.references('bid_groups.id')).execute();
  await sql`create unique index bids_group_listing_key on bids (bid_group_id, listing_id) where bid_group_id is not null`.execute(db);
  await db.schema
    .alterTable('bid_groups')
    .addForeignKeyConstraint('bid_groups_won_bid_fkey', ['won_bid_id'], 'bids', ['id'])
    .execute();

  await sql`alter table bids drop constraint bids_status_check`.execute(db);
  await sql`alter table bids add constraint bids_status_check check (status in ('active','replaced','won','lost','withdrawn'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`update bids set status = 'lost' where status = 'withdrawn'`.execute(db);
  await sql`alter table bids drop constraint bids_status_check`.execute(db);
  await sql`alter table bids add constraint bids_status_check check (status in ('active','replaced','won','lost'))`.execute(db);
  await db.schema.alterTable('bid_groups').dropConstraint('bid_groups_won_bid_fkey').execute();
  await db.schema.alterTable('bids').dropColumn('bid_group_id').execute();
  await db.schema.dropTable('bid_groups').execute();
}
