import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Merges of under-used departures (issue 13): the optimiser proposes to an operator to merge a departure that runs
// below its minimum load only because of confirmed bookings into a later one of the same corridor; its bookings
// move only with each of their forwarders' consent.
// - proposals: a new status `consenting` (the operator accepted a merge; its forwarders are being asked: a new plan
//   leaves it alone, like `accepting`), the merge's operating saving, and the target's load before → after. At most
//   one open or consenting proposal per departure.
// - merge_consents: one row per booking a merge would move — its forwarder's answer (pending → accepted |
//   declined). At most one pending consent per booking.
// - bookings: where a moved booking came from and when it moved.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table proposals drop constraint proposals_status_check`.execute(db);
  await sql`alter table proposals add constraint proposals_status_check
    check (status in ('open','accepting','consenting','accepted','declined','stale','superseded'))`.execute(db);
  await db.schema
    .alterTable('proposals')
    .addColumn('saving_cents', 'bigint')
    .addColumn('target_load_before_teu', 'integer')
    .addColumn('target_load_after_teu', 'integer')
    .execute();
  await sql`drop index proposals_open_departure_idx`.execute(db);
  await sql`create unique index proposals_live_departure_idx on proposals (departure_id)
    where status in ('open','consenting') and kind = 'departure'`.execute(db);

  await db.schema
    .createTable('merge_consents')
    .addColumn('proposal_id', 'uuid', (c) => c.notNull().references('proposals.id'))
    .addColumn('booking_id', 'uuid', (c) => c.notNull().references('bookings.id'))
    .addColumn('forwarder_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('teu', 'integer', (c) => c.notNull().check(sql`teu > 0`))
    .addColumn('tonnes', 'integer', (c) => c.notNull().check(sql`tonnes >= 0`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending','accepted','declined','void')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decided_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addPrimaryKeyConstraint('merge_consents_pkey', ['proposal_id', 'booking_id'])
    .execute();
  await sql`create index merge_consents_forwarder_idx on merge_consents (forwarder_org_id, status)`.execute(db);
  await sql`create unique index merge_consents_pending_booking_idx on merge_consents (booking_id) where status = 'pending'`.execute(db);

  await db.schema
    .alterTable('bookings')
    .addColumn('moved_from_departure_id', 'uuid', (c) => c.references('departures.id'))
    .addColumn('moved_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('bookings').dropColumn('moved_at').dropColumn('moved_from_departure_id').execute();
  await db.schema.dropTable('merge_consents').execute();
  await sql`drop index proposals_live_departure_idx`.execute(db);
  await sql`create unique index proposals_open_departure_idx on proposals (departure_id) where status = 'open' and kind = 'departure'`.execute(db);
  await db.schema.alterTable('proposals').dropColumn('target_load_after_teu').dropColumn('target_load_before_teu').dropColumn('saving_cents').execute();
  await sql`alter table proposals drop constraint proposals_status_check`.execute(db);
  await sql`alter table proposals add constraint proposals_status_check
    check (status in ('open','accepting','accepted','declined','stale','superseded'))`.execute(db);
}
