import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists pgcrypto`.execute(db);

  await db.schema
    .createTable('organisations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('operator','forwarder','scheduler','platform')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index users_email_key on users (lower(email))`.execute(db);

  await db.schema
    .createTable('memberships')
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade').unique())
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin','member')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('memberships_pkey', ['user_id', 'org_id'])
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey()) // sha256 of the cookie token
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
    .addColumn('created_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique()) // sha256 of a 256-bit random secret
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin','member')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('clusters')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('code', 'text', (c) => c.notNull().unique().check(sql`code ~ '^[A-Z]{5}$'`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('country', 'text', (c) => c.notNull())
    .addColumn('lat', 'double precision', (c) => c.notNull())
    .addColumn('lon', 'double precision', (c) => c.notNull())
    .addColumn('terminals', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('gateway', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();

  await db.schema
    .createTable('corridors')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('from_cluster_id', 'uuid', (c) => c.notNull().references('clusters.id'))
    .addColumn('to_cluster_id', 'uuid', (c) => c.notNull().references('clusters.id'))
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('rail','barge')`))
    .addColumn('distance_km', 'integer', (c) => c.notNull().check(sql`distance_km > 0`))
    .addUniqueConstraint('corridors_from_to_mode_key', ['from_cluster_id', 'to_cluster_id', 'mode'])
    .addCheckConstraint('corridors_distinct_ends', sql`from_cluster_id <> to_cluster_id`)
    .execute();

  // Weekly timetables from which the departure window is rolled forward.
  await db.schema
    .createTable('services')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('operator_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('corridor_id', 'uuid', (c) => c.notNull().references('corridors.id'))
    .addColumn('asset_name', 'text', (c) => c.notNull())
    .addColumn('weekdays', sql`smallint[]`, (c) => c.notNull())
    .addColumn('depart_time_utc', 'text', (c) => c.notNull().check(sql`depart_time_utc ~ '^[0-2][0-9]:[0-5][0-9]$'`))
    .addColumn('transit_minutes', 'integer', (c) => c.notNull().check(sql`transit_minutes > 0`))
    .addColumn('cutoff_minutes_before', 'integer', (c) => c.notNull().check(sql`cutoff_minutes_before >= 0`))
    .addColumn('capacity_teu', 'integer', (c) => c.notNull().check(sql`capacity_teu > 0`))
    .addColumn('capacity_tonnes', 'integer', (c) => c.notNull().check(sql`capacity_tonnes > 0`))
    .addColumn('listed_teu', 'integer', (c) => c.notNull().defaultTo(0).check(sql`listed_teu >= 0`))
    .addColumn('unit_price_cents', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`unit_price_cents >= 0`))
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // The final overbooking guard lives here: the CHECK constraints refuse any row where held plus
  // booked exceed capacity, whatever the application or Redis believed.
  await db.schema
    .createTable('departures')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('corridor_id', 'uuid', (c) => c.notNull().references('corridors.id'))
    .addColumn('operator_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('service_id', 'uuid', (c) => c.references('services.id'))
    .addColumn('asset_name', 'text', (c) => c.notNull())
    .addColumn('departs_at', 'timestamptz', (c) => c.notNull())
    .addColumn('arrives_at', 'timestamptz', (c) => c.notNull())
    .addColumn('cutoff_at', 'timestamptz', (c) => c.notNull())
    .addColumn('capacity_teu', 'integer', (c) => c.notNull().check(sql`capacity_teu > 0`))
    .addColumn('capacity_tonnes', 'integer', (c) => c.notNull().check(sql`capacity_tonnes > 0`))
    .addColumn('held_teu', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('held_tonnes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('booked_teu', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('booked_tonnes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reefer_plugs', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('dangerous_goods', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('scheduled').check(sql`status in ('scheduled','cancelled')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('departures_service_departs_key', ['service_id', 'departs_at'])
    .addCheckConstraint('departures_times', sql`cutoff_at <= departs_at and departs_at < arrives_at`)
    .addCheckConstraint('departures_teu_guard', sql`held_teu >= 0 and booked_teu >= 0 and held_teu + booked_teu <= capacity_teu`)
    .addCheckConstraint(
      'departures_tonnes_guard',
      sql`held_tonnes >= 0 and booked_tonnes >= 0 and held_tonnes + booked_tonnes <= capacity_tonnes`,
    )
    .execute();
  await db.schema.createIndex('departures_corridor_time_idx').on('departures').columns(['corridor_id', 'departs_at']).execute();
  await db.schema.createIndex('departures_time_idx').on('departures').column('departs_at').execute();
  await db.schema.createIndex('departures_operator_idx').on('departures').columns(['operator_org_id', 'departs_at']).execute();

  await db.schema
    .createTable('listings')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('departure_id', 'uuid', (c) => c.notNull().references('departures.id'))
    .addColumn('format', 'text', (c) => c.notNull().check(sql`format in ('fixed','ascending','sealed','falling')`))
    .addColumn('teu', 'integer', (c) => c.notNull().check(sql`teu > 0`))
    .addColumn('remaining_teu', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open','closed','cancelled')`))
    .addColumn('unit_price_cents', 'bigint', (c) => c.check(sql`unit_price_cents >= 0`))
    .addColumn('reserve_price_cents', 'bigint', (c) => c.check(sql`reserve_price_cents >= 0`))
    .addColumn('min_increment_cents', 'bigint', (c) => c.check(sql`min_increment_cents >= 0`))
    .addColumn('floor_price_cents', 'bigint', (c) => c.check(sql`floor_price_cents >= 0`))
    .addColumn('step_cents', 'bigint', (c) => c.check(sql`step_cents >= 0`))
    .addColumn('step_every_minutes', 'integer', (c) => c.check(sql`step_every_minutes > 0`))
    .addColumn('opens_at', 'timestamptz')
    .addColumn('closes_at', 'timestamptz')
    .addColumn('fee_rule', 'jsonb')
    .addColumn('unsold_action', 'text', (c) => c.notNull().defaultTo('return').check(sql`unsold_action in ('return','relist')`))
    .addColumn('created_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('closed_at', 'timestamptz')
    .addCheckConstraint('listings_remaining_guard', sql`remaining_teu >= 0 and remaining_teu <= teu`)
    .execute();
  await db.schema.createIndex('listings_departure_idx').on('listings').column('departure_id').execute();

  await db.schema
    .createTable('holds')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('listing_id', 'uuid', (c) => c.notNull().references('listings.id'))
    .addColumn('departure_id', 'uuid', (c) => c.notNull().references('departures.id'))
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('teu', 'integer', (c) => c.notNull().check(sql`teu > 0`))
    .addColumn('tonnes', 'integer', (c) => c.notNull().check(sql`tonnes >= 0`))
    .addColumn('unit_price_cents', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('active').check(sql`status in ('active','confirmed','released','expired','cancelled')`),
    )
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ended_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('holds_org_status_idx').on('holds').columns(['org_id', 'status']).execute();
  await sql`create index holds_active_expiry_idx on holds (expires_at) where status = 'active'`.execute(db);

  await db.schema
    .createTable('bookings')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('departure_id', 'uuid', (c) => c.notNull().references('departures.id'))
    .addColumn('listing_id', 'uuid', (c) => c.notNull().references('listings.id'))
    .addColumn('hold_id', 'uuid', (c) => c.references('holds.id').unique())
    .addColumn('forwarder_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('teu', 'integer', (c) => c.notNull().check(sql`teu > 0`))
    .addColumn('tonnes', 'integer', (c) => c.notNull().check(sql`tonnes >= 0`))
    .addColumn('unit_price_cents', 'bigint', (c) => c.notNull())
    .addColumn('total_cents', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('confirmed').check(sql`status in ('confirmed','cancelled','settled')`))
    .addColumn('reference', 'text')
    .addColumn('cargo', 'jsonb')
    .addColumn('co2e_kg', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('road_co2e_kg', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('cancellation_fee_cents', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('cancelled_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('bookings_forwarder_idx').on('bookings').columns(['forwarder_org_id', 'created_at']).execute();
  await db.schema.createIndex('bookings_departure_idx').on('bookings').column('departure_id').execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('response', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idempotency_keys_pkey', ['org_id', 'key'])
    .execute();

  // Append-only audit log: a trigger refuses UPDATE and DELETE.
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor_user_id', 'uuid')
    .addColumn('actor_org_id', 'uuid')
    .addColumn('api_key_id', 'uuid')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('entity_type', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text')
    .addColumn('data', 'jsonb')
    .addColumn('ip', 'text')
    .execute();
  await db.schema.createIndex('audit_log_org_idx').on('audit_log').columns(['actor_org_id', 'at']).execute();
  await sql`
    create function refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception '% is append-only', tg_table_name using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`create trigger audit_log_append_only before update or delete on audit_log
    for each row execute function refuse_change()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'audit_log', 'idempotency_keys', 'bookings', 'holds', 'listings', 'departures', 'services', 'corridors',
    'clusters', 'api_keys', 'sessions', 'memberships', 'users', 'organisations',
  ]) {
    await db.schema.dropTable(t).ifExists().cascade().execute();
  }
  await sql`drop function if exists refuse_change()`.execute(db);
}
