import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Statistics, second level (issue 11): stats_corridor_day — one row per departure day × corridor × operator
// with the number of scheduled departures, their TEU capacity and the sums of stats_departure (bookings,
// revenue, CO2e, cancellations, per sale format, auctions). Every grouping but "per departure"
// (corridor-day, cluster-day, operator, mode, day, corridor, totals) reads these rows: a year of the network
// is ~10,000 of them instead of ~20,000 departures joined with their rollups.
//
// Kept in the writing transaction without a shared hot row: the triggers APPEND signed deltas to
// stats_corridor_day_delta (insert only: confirms of different departures of one corridor and day never wait
// for each other), and a worker job (`stats.fold`, every 2 s) folds them into stats_corridor_day in one
// transaction. Readers add the deltas not yet folded (the row of a key = its folded row + its pending deltas),
// so every answer is exact whether or not the fold has run.
// - departures AFTER INSERT / UPDATE OF status, capacity_teu, departs_at, corridor_id, operator_org_id /
//   DELETE: the departure's count and capacity move (a cancelled departure counts neither); when its day,
//   corridor or operator change, its stats_departure sums move from the old key to the new one.
// - stats_departure AFTER INSERT / UPDATE: the difference of the sums goes to the departure's key.
// Held TEU is not copied: holds are the hot path and last minutes; readers take it from the departures that
// can still carry holds. Holds never touch these tables; a confirm or cancel appends one delta row.
// A departure that is deleted (never done by the product: departures are cancelled) takes its booking sums
// with it only through `npm run stats:rebuild -- --fix`.

const SUMS = [
  'bookings', 'booked_teu', 'revenue_cents', 'co2e_kg', 'road_co2e_kg', 'cancellations', 'cancelled_teu', 'cancellation_fees_cents',
  'fixed_teu', 'fixed_revenue_cents', 'falling_teu', 'falling_revenue_cents', 'ascending_teu', 'ascending_revenue_cents',
  'sealed_teu', 'sealed_revenue_cents', 'auction_awarded_teu', 'auction_clearing_cents', 'auction_reserve_cents',
] as const;

const DAY = (alias: string) => `(${alias}.departs_at at time zone 'UTC')::date`;

export async function up(db: Kysely<any>): Promise<void> {
  let t = db.schema
    .createTable('stats_corridor_day')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('corridor_id', 'uuid', (c) => c.notNull().references('corridors.id'))
    .addColumn('operator_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('departures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('capacity_teu', 'bigint', (c) => c.notNull().defaultTo(0));
  for (const s of SUMS) t = t.addColumn(s, 'bigint', (c) => c.notNull().defaultTo(0));
  await t.addPrimaryKeyConstraint('stats_corridor_day_pkey', ['day', 'corridor_id', 'operator_org_id']).execute();
  await db.schema.createIndex('stats_corridor_day_corridor_idx').on('stats_corridor_day').columns(['corridor_id', 'day']).execute();
  await sql`alter table stats_corridor_day set (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_threshold = 500, autovacuum_analyze_scale_factor = 0.05)`.execute(db);

  // The pending deltas: same columns, no key (several rows per key until folded).
  let d = db.schema
    .createTable('stats_corridor_day_delta')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('corridor_id', 'uuid', (c) => c.notNull())
    .addColumn('operator_org_id', 'uuid', (c) => c.notNull())
    .addColumn('departures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('capacity_teu', 'bigint', (c) => c.notNull().defaultTo(0));
  for (const s of SUMS) d = d.addColumn(s, 'bigint', (c) => c.notNull().defaultTo(0));
  await d.execute();
  // Readers take a day range of it; every fold leaves its rows dead: vacuum it early and often.
  await db.schema.createIndex('stats_corridor_day_delta_day_idx').on('stats_corridor_day_delta').column('day').execute();
  await sql`alter table stats_corridor_day_delta set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 2000)`.execute(db);

  const cols = ['departures', 'capacity_teu', ...SUMS];
  const params = cols.map((c) => `p_${c} bigint`).join(', ');
  // Appends one signed delta (a no-op when every figure is 0).
  await sql.raw(`
    create function cx_stats_cd_add(p_day date, p_corridor uuid, p_operator uuid, ${params}) returns void language plpgsql as $$
    begin
      if ${cols.map((c) => `p_${c} = 0`).join(' and ')} then
        return;
      end if;
      insert into stats_corridor_day_delta (day, corridor_id, operator_org_id, ${cols.join(', ')})
        values (p_day, p_corridor, p_operator, ${cols.map((c) => `p_${c}`).join(', ')});
    end $$`).execute(db);
  // Folds every delta visible now into stats_corridor_day (one statement: the deleted rows are exactly the
  // ones added; deltas committed meanwhile wait for the next fold). Returns the delta rows folded.
  await sql.raw(`
    create function cx_stats_cd_fold() returns bigint language plpgsql as $$
    declare
      n bigint;
    begin
      with gone as (delete from stats_corridor_day_delta returning *),
      sums as (
        select day, corridor_id, operator_org_id, ${cols.map((c) => `sum(${c}) as ${c}`).join(', ')}, count(*) as n
          from gone group by day, corridor_id, operator_org_id
      ),
      up as (
        insert into stats_corridor_day as s (day, corridor_id, operator_org_id, ${cols.join(', ')})
        select day, corridor_id, operator_org_id, ${cols.join(', ')} from sums order by day, corridor_id, operator_org_id
        on conflict (day, corridor_id, operator_org_id) do update set
          ${cols.map((c) => `${c} = s.${c} + excluded.${c}`).join(', ')}
      )
      select coalesce(sum(sums.n), 0) into n from sums;
      return n;
    end $$`).execute(db);

  const zeros = SUMS.map(() => '0').join(', ');
  const sumsOf = (alias: string, sign: string) => SUMS.map((c) => `${sign} coalesce(${alias}.${c}, 0)`).join(', ');
  await sql.raw(`
    create function cx_stats_cd_departures() returns trigger language plpgsql as $$
    declare
      r stats_departure;
      moved boolean := tg_op = 'UPDATE' and (old.departs_at is distinct from new.departs_at
        or old.corridor_id is distinct from new.corridor_id or old.operator_org_id is distinct from new.operator_org_id);
    begin
      if tg_op <> 'INSERT' then
        perform cx_stats_cd_add(${DAY('old')}, old.corridor_id, old.operator_org_id,
          case when old.status = 'scheduled' then -1 else 0 end, case when old.status = 'scheduled' then -old.capacity_teu else 0 end, ${zeros});
      end if;
      if tg_op <> 'DELETE' then
        perform cx_stats_cd_add(${DAY('new')}, new.corridor_id, new.operator_org_id,
          case when new.status = 'scheduled' then 1 else 0 end, case when new.status = 'scheduled' then new.capacity_teu else 0 end, ${zeros});
      end if;
      if moved then
        select * into r from stats_departure where departure_id = new.id;
        if found then
          perform cx_stats_cd_add(${DAY('old')}, old.corridor_id, old.operator_org_id, 0, 0, ${sumsOf('r', '-')});
          perform cx_stats_cd_add(${DAY('new')}, new.corridor_id, new.operator_org_id, 0, 0, ${sumsOf('r', '')});
        end if;
      end if;
      return null;
    end $$`).execute(db);
  await sql`create trigger departures_stats_cd_insert after insert or delete on departures
    for each row execute function cx_stats_cd_departures()`.execute(db);
  await sql`create trigger departures_stats_cd_update after update of status, capacity_teu, departs_at, corridor_id, operator_org_id
    on departures for each row
    when (old.status is distinct from new.status or old.capacity_teu is distinct from new.capacity_teu
      or old.departs_at is distinct from new.departs_at or old.corridor_id is distinct from new.corridor_id
      or old.operator_org_id is distinct from new.operator_org_id)
    execute function cx_stats_cd_departures()`.execute(db);

  const delta = SUMS.map((c) => `new.${c} - case when tg_op = 'UPDATE' then old.${c} else 0 end`).join(', ');
  await sql.raw(`
    create function cx_stats_cd_sums() returns trigger language plpgsql as $$
    declare
      d departures;
    begin
      select * into d from departures where id = new.departure_id;
      if found then
        perform cx_stats_cd_add(${DAY('d')}, d.corridor_id, d.operator_org_id, 0, 0, ${delta});
      end if;
      return null;
    end $$`).execute(db);
  await sql`create trigger stats_departure_cd after insert or update on stats_departure
    for each row execute function cx_stats_cd_sums()`.execute(db);

  // Initial fill from what exists.
  await sql.raw(`
    insert into stats_corridor_day (day, corridor_id, operator_org_id, ${cols.join(', ')})
    select ${DAY('d')}, d.corridor_id, d.operator_org_id,
           count(*) filter (where d.status = 'scheduled'), coalesce(sum(d.capacity_teu) filter (where d.status = 'scheduled'), 0),
           ${SUMS.map((c) => `coalesce(sum(s.${c}), 0)`).join(', ')}
      from departures d left join stats_departure s on s.departure_id = d.id
     group by 1, 2, 3`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists stats_departure_cd on stats_departure`.execute(db);
  await sql`drop trigger if exists departures_stats_cd_update on departures`.execute(db);
  await sql`drop trigger if exists departures_stats_cd_insert on departures`.execute(db);
  await sql`drop function if exists cx_stats_cd_sums()`.execute(db);
  await sql`drop function if exists cx_stats_cd_departures()`.execute(db);
  await sql`drop function if exists cx_stats_cd_fold()`.execute(db);
  await sql`drop function if exists cx_stats_cd_add`.execute(db);
  await db.schema.dropTable('stats_corridor_day_delta').ifExists().execute();
  await db.schema.dropTable('stats_corridor_day').ifExists().execute();
}
