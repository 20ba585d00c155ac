import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Re-optimisation (issue 13, the optimiser and its proposals).
// - optimisations: one run of the optimiser (queued → solving → done | failed), who or what asked for it, and,
//   once done, the plan's figures beside the solver's: objective, LP bound, proven bound, gap, solve time, the
//   greedy baseline, load factor before → after, CO2e saved and trucks avoided, and `plan_version` (1, 2, …: the
//   versions of the network's plan; unique). `figures` keeps the rest (objective by part, the parts solved).
// - optimiser_lease: one row, the lock that lets one optimisation at a time write a plan. A worker takes it
//   with a fresh token for a bounded time, renews it while it solves, and writes its plan in a transaction that
//   first re-reads the row FOR UPDATE and checks its token is still there and unexpired — so a worker that lost
//   the lease (stalled, crashed and restarted elsewhere) never writes a plan. Postgres is the fence.
// - proposals: the plan split per organisation. kind 'shipment': a forwarder's shipment, the itinerary proposed
//   (legs with the listing and the unit price seen), its price, the cheapest stand-alone price and the share of
//   the pool's saving (the rule: server/core/pooling/savings.ts), CO2e vs road. kind 'departure': an operator's
//   under-used departure, the action (cancel | merge into another departure), load before → after, and the
//   confirmed bookings a merge would move (moved only with their forwarders' consent). status: open →
//   accepting (a forwarder's accept claimed it, under the proposal's and the shipment's row locks: nothing else
//   may change either until it is decided) → accepted | stale; open → declined | stale (capacity or price changed:
//   refused cleanly, never overbooked) | superseded (a newer plan, or a change to the shipment, replaced it).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('optimisations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued').check(sql`status in ('queued','solving','done','failed')`))
    .addColumn('trigger', 'text', (c) => c.notNull().check(sql`trigger in ('manual','schedule','pool')`))
    .addColumn('requested_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('plan_version', 'integer', (c) => c.unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('requests', 'integer')
    .addColumn('placed', 'integer')
    .addColumn('departures', 'integer')
    .addColumn('departures_to_cancel', 'integer')
    .addColumn('objective_cents', 'bigint')
    .addColumn('lower_bound_cents', 'bigint')
    .addColumn('lp_bound_cents', 'bigint')
    .addColumn('gap_pct', 'double precision')
    .addColumn('greedy_objective_cents', 'bigint')
    .addColumn('solve_ms', 'integer')
    .addColumn('time_limit_hit', 'boolean')
    .addColumn('load_factor_before', 'double precision')
    .addColumn('load_factor_after', 'double precision')
    .addColumn('co2e_saved_kg', 'bigint')
    .addColumn('trucks_avoided', 'integer')
    .addColumn('figures', 'jsonb')
    .addColumn('error', 'text', (c) => c.check(sql`char_length(error) <= 2000`))
    .addCheckConstraint('optimisations_done_has_plan', sql`status <> 'done' or (plan_version is not null and objective_cents is not null)`)
    .execute();
  await sql`create index optimisations_created_idx on optimisations (created_at desc)`.execute(db);

  await db.schema
    .createTable('optimiser_lease')
    .addColumn('id', 'smallint', (c) => c.primaryKey().defaultTo(1).check(sql`id = 1`))
    .addColumn('token', 'uuid')
    .addColumn('optimisation_id', 'uuid', (c) => c.references('optimisations.id').onDelete('set null'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`'-infinity'`))
    .execute();
  await sql`insert into optimiser_lease (id) values (1)`.execute(db);

  await db.schema
    .createTable('proposals')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('optimisation_id', 'uuid', (c) => c.notNull().references('optimisations.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('shipment','departure')`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open','accepting','accepted','declined','stale','superseded')`))
    .addColumn('shipment_id', 'uuid', (c) => c.references('shipments.id'))
    .addColumn('forwarder_org_id', 'uuid', (c) => c.references('organisations.id'))
    .addColumn('departure_id', 'uuid', (c) => c.references('departures.id'))
    .addColumn('operator_org_id', 'uuid', (c) => c.references('organisations.id'))
    .addColumn('action', 'text', (c) => c.check(sql`action in ('cancel','merge')`))
    .addColumn('merge_into_departure_id', 'uuid', (c) => c.references('departures.id'))
    .addColumn('legs', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('teu', 'integer')
    .addColumn('tonnes', 'integer')
    .addColumn('price_cents', 'bigint')
    .addColumn('standalone_cents', 'bigint')
    .addColumn('share_cents', 'bigint')
    .addColumn('co2e_kg', 'bigint')
    .addColumn('road_co2e_kg', 'bigint')
    .addColumn('capacity_teu', 'integer')
    .addColumn('min_load_teu', 'integer')
    .addColumn('load_before_teu', 'integer')
    .addColumn('load_after_teu', 'integer')
    .addColumn('moved_bookings', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'::uuid[]`))
    .addColumn('itinerary_id', 'uuid', (c) => c.references('itineraries.id'))
    .addColumn('reason', 'text', (c) => c.check(sql`char_length(reason) <= 500`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decided_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addCheckConstraint('proposals_shipment_shape', sql`kind <> 'shipment' or (shipment_id is not null and forwarder_org_id is not null and price_cents > 0)`)
    .addCheckConstraint('proposals_departure_shape', sql`kind <> 'departure' or (departure_id is not null and operator_org_id is not null and action is not null)`)
    .addCheckConstraint('proposals_merge_target', sql`(action = 'merge') = (merge_into_departure_id is not null)`)
    .execute();
  await sql`create index proposals_forwarder_idx on proposals (forwarder_org_id, status, created_at desc) where forwarder_org_id is not null`.execute(db);
  await sql`create index proposals_operator_idx on proposals (operator_org_id, status, created_at desc) where operator_org_id is not null`.execute(db);
  await sql`create index proposals_optimisation_idx on proposals (optimisation_id)`.execute(db);
  // at most one open proposal per shipment and per departure (a new plan supersedes the old ones first)
  await sql`create unique index proposals_open_shipment_idx on proposals (shipment_id) where status = 'open' and shipment_id is not null`.execute(db);
  await sql`create unique index proposals_open_departure_idx on proposals (departure_id) where status = 'open' and kind = 'departure'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('proposals').execute();
  await db.schema.dropTable('optimiser_lease').execute();
  await db.schema.dropTable('optimisations').execute();
}
