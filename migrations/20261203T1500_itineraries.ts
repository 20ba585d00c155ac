import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Itineraries (issue 12): a chain of 1–5 legs (one listing each) held and booked as one thing.
// - itineraries: the forwarder's object, its state (held → confirmed → cancelled; held → released | expired |
//   cancelled), the quantities every leg carries, the price the plan showed (legs + transfer handling), the
//   transfers of the plan and the one expiry shared by all leg holds.
// - holds.itinerary_id / leg_index and bookings.itinerary_id / leg_index: the legs (nullable: single holds and
//   bookings have neither). One hold and one booking per (itinerary, leg) at most.
// The app role's grants come from cx_grant_app_role(), run again by migrateToLatest after this migration.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('itineraries')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('forwarder_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('api_key_id', 'uuid', (c) => c.references('api_keys.id').onDelete('set null'))
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('held').check(sql`status in ('held','confirmed','released','expired','cancelled')`))
    .addColumn('legs', 'smallint', (c) => c.notNull().check(sql`legs between 1 and 5`))
    .addColumn('teu', 'integer', (c) => c.notNull().check(sql`teu > 0`))
    .addColumn('tonnes', 'integer', (c) => c.notNull().check(sql`tonnes >= teu`))
    .addColumn('legs_cents', 'bigint', (c) => c.notNull().check(sql`legs_cents >= 0`))
    .addColumn('handling_cents', 'bigint', (c) => c.notNull().check(sql`handling_cents >= 0`))
    .addColumn('total_cents', 'bigint', (c) => c.notNull().check(sql`total_cents = legs_cents + handling_cents`))
    .addColumn('co2e_kg', 'integer', (c) => c.notNull().defaultTo(0).check(sql`co2e_kg >= 0`))
    .addColumn('transfers', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('reference', 'text')
    .addColumn('cancellation_fee_cents', 'bigint', (c) => c.check(sql`cancellation_fee_cents >= 0`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .execute();
  await sql`create index itineraries_org_created_idx on itineraries (forwarder_org_id, created_at desc)`.execute(db);
  await sql`create index itineraries_held_idx on itineraries (expires_at) where status = 'held'`.execute(db);

  for (const t of ['holds', 'bookings']) {
    await db.schema
      .alterTable(t)
      .addColumn('itinerary_id', 'uuid', (c) => c.references('itineraries.id'))
      .addColumn('leg_index', 'smallint', (c) => c.check(sql`leg_index between 0 and 4`))
      .execute();
    await sql`alter table ${sql.table(t)} add constraint ${sql.raw(`${t}_itinerary_leg_both`)}
      check ((itinerary_id is null) = (leg_index is null))`.execute(db);
    await sql`create unique index ${sql.raw(`${t}_itinerary_leg_key`)} on ${sql.table(t)} (itinerary_id, leg_index)
      where itinerary_id is not null`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['holds', 'bookings']) {
    await sql`drop index if exists ${sql.raw(`${t}_itinerary_leg_key`)}`.execute(db);
    await db.schema.alterTable(t).dropConstraint(`${t}_itinerary_leg_both`).execute();
    await db.schema.alterTable(t).dropColumn('leg_index').dropColumn('itinerary_id').execute();
  }
  await db.schema.dropTable('itineraries').execute();
}
