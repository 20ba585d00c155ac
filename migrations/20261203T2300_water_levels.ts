import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Low-water derating of barge capacity (issue 14).
// - water_levels: every reading received (gauge, level in cm, when measured, who sent it). The latest measurement per
//   gauge is the one that derates.
// - departures: nominal_capacity_teu / _tonnes (the capacity before any derating; null: never derated), the gauge and
//   level that set the current capacity, and when.
// - deratings: one row per departure a reading changed — capacity before → after, the bookings moved off it.
// - derating_moves: per moved booking, its forwarder and the rail alternatives the route search found at that moment.
// - bookings.cancel_reason: why the platform cancelled a booking (null: its forwarder did).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('water_levels')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('gauge', 'text', (c) => c.notNull().check(sql`char_length(gauge) between 1 and 40`))
    .addColumn('level_cm', 'integer', (c) => c.notNull().check(sql`level_cm between 0 and 2000`))
    .addColumn('measured_at', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('org_id', 'uuid', (c) => c.references('organisations.id'))
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('api_key_id', 'uuid')
    .addColumn('applied', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await sql`create index water_levels_gauge_idx on water_levels (gauge, measured_at desc, received_at desc)`.execute(db);

  await db.schema
    .alterTable('departures')
    .addColumn('nominal_capacity_teu', 'integer', (c) => c.check(sql`nominal_capacity_teu > 0`))
    .addColumn('nominal_capacity_tonnes', 'integer', (c) => c.check(sql`nominal_capacity_tonnes > 0`))
    .addColumn('derated_gauge', 'text')
    .addColumn('derated_level_cm', 'integer')
    .addColumn('derated_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('deratings')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('water_level_id', 'uuid', (c) => c.notNull().references('water_levels.id'))
    .addColumn('departure_id', 'uuid', (c) => c.notNull().references('departures.id'))
    .addColumn('gauge', 'text', (c) => c.notNull())
    .addColumn('level_cm', 'integer', (c) => c.notNull())
    .addColumn('factor', 'double precision', (c) => c.notNull())
    .addColumn('capacity_before_teu', 'integer', (c) => c.notNull())
    .addColumn('capacity_after_teu', 'integer', (c) => c.notNull())
    .addColumn('capacity_before_tonnes', 'integer', (c) => c.notNull())
    .addColumn('capacity_after_tonnes', 'integer', (c) => c.notNull())
    .addColumn('cancelled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('moved_bookings', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'::uuid[]`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index deratings_departure_idx on deratings (departure_id, created_at desc)`.execute(db);
  await sql`create index deratings_level_idx on deratings (water_level_id)`.execute(db);

  await db.schema
    .createTable('derating_moves')
    .addColumn('derating_id', 'uuid', (c) => c.notNull().references('deratings.id'))
    .addColumn('booking_id', 'uuid', (c) => c.notNull().references('bookings.id').unique())
    .addColumn('forwarder_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('alternatives', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('derating_moves_pkey', ['derating_id', 'booking_id'])
    .execute();
  await sql`create index derating_moves_forwarder_idx on derating_moves (forwarder_org_id, created_at desc)`.execute(db);

  await db.schema.alterTable('bookings').addColumn('cancel_reason', 'text', (c) => c.check(sql`cancel_reason in ('derating')`)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('bookings').dropColumn('cancel_reason').execute();
  await db.schema.dropTable('derating_moves').execute();
  await db.schema.dropTable('deratings').execute();
  await db.schema
    .alterTable('departures')
    .dropColumn('derated_at')
    .dropColumn('derated_level_cm')
    .dropColumn('derated_gauge')
    .dropColumn('nominal_capacity_tonnes')
    .dropColumn('nominal_capacity_teu')
    .execute();
  await db.schema.dropTable('water_levels').execute();
}
