import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Pooling (issue 13, the pool): forwarders post shipment requests; operators state what running a departure costs.
// - shipments: a forwarder's request (cluster to cluster, whole TEU and integer tonnes, a time window, the most it
//   pays in total, the modes it allows, whether it may share a departure with others' pooled cargo), its status
//   (pooled → proposed → booked; pooled | unplaced | proposed → withdrawn; the optimiser sets unplaced / proposed)
//   and a version bumped on every change (optimistic concurrency: PATCH ?expectVersion). itinerary_id: the
//   itinerary it was booked as (set when a proposal is accepted; null until then). created by a user or an API key,
//   recorded as itineraries do (user_id, api_key_id).
// - departures.fixed_cost_cents (running the departure at all) and variable_cost_cents_per_teu (per TEU carried):
//   null = not stated (the optimiser uses its documented default). min_load_teu exists since 20261203T1300.
// - services get the same two columns; a BEFORE INSERT trigger gives a new departure of a service the service's
//   figures when the insert leaves them out (so departures rolled later by the timetable carry them too).
// The app role's grants come from cx_grant_app_role(), run again by migrateToLatest after this migration.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('shipments')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('forwarder_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('api_key_id', 'uuid', (c) => c.references('api_keys.id').onDelete('set null'))
    .addColumn('from_cluster_id', 'uuid', (c) => c.notNull().references('clusters.id'))
    .addColumn('to_cluster_id', 'uuid', (c) => c.notNull().references('clusters.id'))
    .addColumn('teu', 'integer', (c) => c.notNull().check(sql`teu > 0`))
    .addColumn('tonnes', 'integer', (c) => c.notNull().check(sql`tonnes > 0 and tonnes >= teu`))
    .addColumn('ready_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deliver_by', 'timestamptz', (c) => c.notNull())
    .addColumn('max_total_cents', 'bigint', (c) => c.notNull().check(sql`max_total_cents > 0`))
    .addColumn('modes', sql`text[]`, (c) =>
      c.notNull().defaultTo(sql`array['rail','barge']::text[]`)
        .check(sql`cardinality(modes) between 1 and 2 and modes <@ array['rail','barge']::text[]`))
    .addColumn('consolidate', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pooled').check(sql`status in ('pooled','proposed','booked','withdrawn','unplaced')`))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1).check(sql`version > 0`))
    .addColumn('reference', 'text', (c) => c.check(sql`char_length(reference) <= 120`))
    .addColumn('itinerary_id', 'uuid', (c) => c.references('itineraries.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('shipments_different_clusters', sql`from_cluster_id <> to_cluster_id`)
    .addCheckConstraint('shipments_window', sql`deliver_by > ready_at`)
    .execute();
  await sql`create index shipments_org_status_idx on shipments (forwarder_org_id, status, created_at desc)`.execute(db);
  await sql`create index shipments_status_deliver_idx on shipments (status, deliver_by)`.execute(db);
  await sql`create index shipments_itinerary_idx on shipments (itinerary_id) where itinerary_id is not null`.execute(db);

  for (const t of ['departures', 'services']) {
    await db.schema
      .alterTable(t)
      .addColumn('fixed_cost_cents', 'bigint', (c) => c.check(sql`fixed_cost_cents >= 0`))
      .addColumn('variable_cost_cents_per_teu', 'integer', (c) => c.check(sql`variable_cost_cents_per_teu >= 0`))
      .execute();
  }
  await sql`
    create function cx_departures_operating_costs() returns trigger language plpgsql as $$
    begin
      if new.service_id is not null and (new.fixed_cost_cents is null or new.variable_cost_cents_per_teu is null) then
        select coalesce(new.fixed_cost_cents, s.fixed_cost_cents), coalesce(new.variable_cost_cents_per_teu, s.variable_cost_cents_per_teu)
          into new.fixed_cost_cents, new.variable_cost_cents_per_teu
          from services s where s.id = new.service_id;
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger departures_operating_costs before insert on departures
    for each row execute function cx_departures_operating_costs()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists departures_operating_costs on departures`.execute(db);
  await sql`drop function if exists cx_departures_operating_costs()`.execute(db);
  for (const t of ['departures', 'services']) {
    await db.schema.alterTable(t).dropColumn('variable_cost_cents_per_teu').dropColumn('fixed_cost_cents').execute();
  }
  await db.schema.dropTable('shipments').execute();
}
