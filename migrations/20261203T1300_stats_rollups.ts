import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Statistics (issue 11): rollups maintained incrementally, in the transaction of every write, by triggers —
// so every write path (confirm, cancel, auction close / award, settlement, seed and history generators,
// whatever comes later) keeps them true without remembering to.
//
// 1. departures.min_load_teu: the load below which a departure is "at risk" near its cut-off. A BEFORE
//    INSERT trigger fills it with ceil(40 % of the TEU capacity) when the insert does not name it;
//    existing rows are backfilled the same way. Index on cut-off for GET /api/stats/at-risk.
// 2. stats_departure (one row per departure with any booking or closed auction) and stats_forwarder (one
//    row per departure × buyer): sums of the bookings (non-cancelled: count, TEU, revenue, CO2e of the
//    booking and of the road alternative, TEU and revenue per sale format; cancelled: count, TEU, fees) and
//    of the closed auctions (awarded TEU, clearing × awarded, reserve × awarded). stats_forwarder carries
//    its departure's day, corridor and operator, so a forwarder's figures are read without touching
//    departures. Capacity, held TEU and status are NOT copied: they are read from the departure row itself,
//    which every capacity path already maintains (so holds — the hot path — never touch a rollup).
//    Keyed per departure, every rollup row a transaction touches belongs to a departure whose row lock
//    it already holds (lock order departure → listing → …): no new contention, no new deadlock.
// 3. Triggers:
//    - bookings AFTER INSERT / UPDATE OF the counted columns / DELETE: the difference between the row's new
//      and old contribution (a settlement — confirmed → settled — contributes the same and is skipped by the
//      WHEN clause without even calling the function);
//    - listings AFTER UPDATE OF status, awarded_teu, clearing_price_cents, reserve_price_cents (auction close);
//    - departures AFTER UPDATE OF departs_at, corridor_id, operator_org_id: keeps stats_forwarder's copy.
//    Rollup writes are plain upserts (INSERT … ON CONFLICT DO UPDATE SET x = x + delta).
// The app role gets its privileges on the new tables from cx_grant_app_role() (run after every migration).
// Proof that the rollups equal a recomputation from the raw rows: `npm run stats:rebuild` (stats-repo.ts).

const SUMS = [
  ['bookings', 'integer'],
  ['booked_teu', 'integer'],
  ['revenue_cents', 'bigint'],
  ['co2e_kg', 'bigint'],
  ['road_co2e_kg', 'bigint'],
  ['cancellations', 'integer'],
  ['cancelled_teu', 'integer'],
  ['cancellation_fees_cents', 'bigint'],
  ['fixed_teu', 'integer'],
  ['fixed_revenue_cents', 'bigint'],
  ['falling_teu', 'integer'],
  ['falling_revenue_cents', 'bigint'],
  ['ascending_teu', 'integer'],
  ['ascending_revenue_cents', 'bigint'],
  ['sealed_teu', 'integer'],
  ['sealed_revenue_cents', 'bigint'],
  ['auction_awarded_teu', 'integer'],
  ['auction_clearing_cents', 'bigint'],
  ['auction_reserve_cents', 'bigint'],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  // ---- 1. minimum load ----
  await db.schema.alterTable('departures').addColumn('min_load_teu', 'integer').execute();
  await sql`update departures set min_load_teu = ceil(capacity_teu * 4 / 10.0)::int`.execute(db);
  await sql`alter table departures alter column min_load_teu set not null`.execute(db);
  await sql`alter table departures add constraint departures_min_load_check check (min_load_teu >= 0)`.execute(db);
  await sql`
    create function cx_departures_min_load() returns trigger language plpgsql as $$
    begin
      if new.min_load_teu is null then
        new.min_load_teu := ceil(new.capacity_teu * 4 / 10.0)::int;
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger departures_min_load before insert on departures
    for each row execute function cx_departures_min_load()`.execute(db);
  await sql`create index departures_cutoff_scheduled_idx on departures (cutoff_at) where status = 'scheduled'`.execute(db);

  // ---- 2. rollup tables ----
  let dep = db.schema
    .createTable('stats_departure')
    .addColumn('departure_id', 'uuid', (c) => c.primaryKey().references('departures.id').onDelete('cascade'));
  for (const [name, type] of SUMS) dep = dep.addColumn(name, type, (c) => c.notNull().defaultTo(0));
  await dep.execute();

  let fwd = db.schema
    .createTable('stats_forwarder')
    .addColumn('departure_id', 'uuid', (c) => c.notNull().references('departures.id').onDelete('cascade'))
    .addColumn('forwarder_org_id', 'uuid', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('corridor_id', 'uuid', (c) => c.notNull())
    .addColumn('operator_org_id', 'uuid', (c) => c.notNull());
  for (const [name, type] of SUMS) fwd = fwd.addColumn(name, type, (c) => c.notNull().defaultTo(0));
  await fwd.addPrimaryKeyConstraint('stats_forwarder_pkey', ['departure_id', 'forwarder_org_id']).execute();
  await db.schema.createIndex('stats_forwarder_org_day_idx').on('stats_forwarder').columns(['forwarder_org_id', 'day']).execute();
  // Every booking updates a rollup row in place: leave room in each page so the new row version stays on it
  // (HOT update, pruned on the next visit) and vacuum these small, busy tables early, so reads stay compact.
  for (const t of ['stats_departure', 'stats_forwarder']) {
    await sql`alter table ${sql.table(t)} set (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02,
      autovacuum_vacuum_threshold = 500, autovacuum_analyze_scale_factor = 0.05)`.execute(db);
  }

  // ---- 3. maintenance ----
  // Adds one delta of booking figures to both rollups (the departure's row and the departure × buyer row).
  await sql`
    create function cx_stats_add_booking(p_dep uuid, p_fwd uuid, p_fmt text, p_bookings int, p_teu int, p_rev bigint,
      p_co2 bigint, p_road bigint, p_canc int, p_canc_teu int, p_fees bigint) returns void language plpgsql as $$
    declare
      v_ft int := case when p_fmt = 'fixed' then p_teu else 0 end;
      v_fr bigint := case when p_fmt = 'fixed' then p_rev else 0 end;
      v_lt int := case when p_fmt = 'falling' then p_teu else 0 end;
      v_lr bigint := case when p_fmt = 'falling' then p_rev else 0 end;
      v_at int := case when p_fmt = 'ascending' then p_teu else 0 end;
      v_ar bigint := case when p_fmt = 'ascending' then p_rev else 0 end;
      v_st int := case when p_fmt = 'sealed' then p_teu else 0 end;
      v_sr bigint := case when p_fmt = 'sealed' then p_rev else 0 end;
    begin
      insert into stats_departure as s (departure_id, bookings, booked_teu, revenue_cents, co2e_kg, road_co2e_kg, cancellations,
          cancelled_teu, cancellation_fees_cents, fixed_teu, fixed_revenue_cents, falling_teu, falling_revenue_cents,
          ascending_teu, ascending_revenue_cents, sealed_teu, sealed_revenue_cents)
        values (p_dep, p_bookings, p_teu, p_rev, p_co2, p_road, p_canc, p_canc_teu, p_fees, v_ft, v_fr, v_lt, v_lr, v_at, v_ar, v_st, v_sr)
        on conflict (departure_id) do update set
          bookings = s.bookings + excluded.bookings, booked_teu = s.booked_teu + excluded.booked_teu,
          revenue_cents = s.revenue_cents + excluded.revenue_cents, co2e_kg = s.co2e_kg + excluded.co2e_kg,
          road_co2e_kg = s.road_co2e_kg + excluded.road_co2e_kg, cancellations = s.cancellations + excluded.cancellations,
          cancelled_teu = s.cancelled_teu + excluded.cancelled_teu,
          cancellation_fees_cents = s.cancellation_fees_cents + excluded.cancellation_fees_cents,
          fixed_teu = s.fixed_teu + excluded.fixed_teu, fixed_revenue_cents = s.fixed_revenue_cents + excluded.fixed_revenue_cents,
          falling_teu = s.falling_teu + excluded.falling_teu, falling_revenue_cents = s.falling_revenue_cents + excluded.falling_revenue_cents,
          ascending_teu = s.ascending_teu + excluded.ascending_teu, ascending_revenue_cents = s.ascending_revenue_cents + excluded.ascending_revenue_cents,
          sealed_teu = s.sealed_teu + excluded.sealed_teu, sealed_revenue_cents = s.sealed_revenue_cents + excluded.sealed_revenue_cents;
      insert into stats_forwarder as s (departure_id, forwarder_org_id, day, corridor_id, operator_org_id, bookings, booked_teu,
          revenue_cents, co2e_kg, road_co2e_kg, cancellations, cancelled_teu, cancellation_fees_cents, fixed_teu,
          fixed_revenue_cents, falling_teu, falling_revenue_cents, ascending_teu, ascending_revenue_cents, sealed_teu, sealed_revenue_cents)
        select p_dep, p_fwd, (d.departs_at at time zone 'UTC')::date, d.corridor_id, d.operator_org_id, p_bookings, p_teu, p_rev,
               p_co2, p_road, p_canc, p_canc_teu, p_fees, v_ft, v_fr, v_lt, v_lr, v_at, v_ar, v_st, v_sr
          from departures d where d.id = p_dep
        on conflict (departure_id, forwarder_org_id) do update set
          bookings = s.bookings + excluded.bookings, booked_teu = s.booked_teu + excluded.booked_teu,
          revenue_cents = s.revenue_cents + excluded.revenue_cents, co2e_kg = s.co2e_kg + excluded.co2e_kg,
          road_co2e_kg = s.road_co2e_kg + excluded.road_co2e_kg, cancellations = s.cancellations + excluded.cancellations,
          cancelled_teu = s.cancelled_teu + excluded.cancelled_teu,
          cancellation_fees_cents = s.cancellation_fees_cents + excluded.cancellation_fees_cents,
          fixed_teu = s.fixed_teu + excluded.fixed_teu, fixed_revenue_cents = s.fixed_revenue_cents + excluded.fixed_revenue_cents,
          falling_teu = s.falling_teu + excluded.falling_teu, falling_revenue_cents = s.falling_revenue_cents + excluded.falling_revenue_cents,
          ascending_teu = s.ascending_teu + excluded.ascending_teu, ascending_revenue_cents = s.ascending_revenue_cents + excluded.ascending_revenue_cents,
          sealed_teu = s.sealed_teu + excluded.sealed_teu, sealed_revenue_cents = s.sealed_revenue_cents + excluded.sealed_revenue_cents;
    end $$`.execute(db);

  // A booking counts as live (not cancelled: confirmed or settled) or as a cancellation; its contribution
  // moves from the old row to the new one.
  await sql`
    create function cx_stats_bookings() returns trigger language plpgsql as $$
    declare
      fmt text;
    begin
      if tg_op <> 'INSERT' then
        select format into fmt from listings where id = old.listing_id;
        if old.status = 'cancelled' then
          perform cx_stats_add_booking(old.departure_id, old.forwarder_org_id, fmt, 0, 0, 0, 0, 0, -1, -old.teu,
            -coalesce(old.cancellation_fee_cents, 0));
        else
          perform cx_stats_add_booking(old.departure_id, old.forwarder_org_id, fmt, -1, -old.teu, -old.total_cents,
            -old.co2e_kg, -old.road_co2e_kg, 0, 0, 0);
        end if;
      end if;
      if tg_op <> 'DELETE' then
        if tg_op = 'INSERT' or new.listing_id is distinct from old.listing_id then
          select format into fmt from listings where id = new.listing_id;
        end if;
        if new.status = 'cancelled' then
          perform cx_stats_add_booking(new.departure_id, new.forwarder_org_id, fmt, 0, 0, 0, 0, 0, 1, new.teu,
            coalesce(new.cancellation_fee_cents, 0));
        else
          perform cx_stats_add_booking(new.departure_id, new.forwarder_org_id, fmt, 1, new.teu, new.total_cents,
            new.co2e_kg, new.road_co2e_kg, 0, 0, 0);
        end if;
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger bookings_stats_insert after insert or delete on bookings
    for each row execute function cx_stats_bookings()`.execute(db);
  await sql`create trigger bookings_stats_update
    after update of status, cancellation_fee_cents, teu, total_cents, co2e_kg, road_co2e_kg, departure_id, listing_id, forwarder_org_id
    on bookings for each row
    when ((old.status = 'cancelled') is distinct from (new.status = 'cancelled')
      or old.cancellation_fee_cents is distinct from new.cancellation_fee_cents
      or old.teu is distinct from new.teu or old.total_cents is distinct from new.total_cents
      or old.co2e_kg is distinct from new.co2e_kg or old.road_co2e_kg is distinct from new.road_co2e_kg
      or old.departure_id is distinct from new.departure_id or old.listing_id is distinct from new.listing_id
      or old.forwarder_org_id is distinct from new.forwarder_org_id)
    execute function cx_stats_bookings()`.execute(db);

  // A closed auction counts with its awarded TEU at its clearing price and reserve; the winners' share goes
  // to their departure × buyer rows (their bookings carry the bid).
  await sql`
    create function cx_stats_auction(l listings, p_sign int) returns void language plpgsql as $$
    declare
      awarded int := coalesce(l.awarded_teu, 0);
      clearing bigint := coalesce(l.clearing_price_cents, 0);
      reserve bigint := coalesce(l.reserve_price_cents, 0);
    begin
      if l.status <> 'closed' or l.format not in ('ascending', 'sealed') then
        return;
      end if;
      insert into stats_departure as s (departure_id, auction_awarded_teu, auction_clearing_cents, auction_reserve_cents)
        values (l.departure_id, p_sign * awarded, p_sign * clearing * awarded, p_sign * reserve * awarded)
        on conflict (departure_id) do update set
          auction_awarded_teu = s.auction_awarded_teu + excluded.auction_awarded_teu,
          auction_clearing_cents = s.auction_clearing_cents + excluded.auction_clearing_cents,
          auction_reserve_cents = s.auction_reserve_cents + excluded.auction_reserve_cents;
      insert into stats_forwarder as s (departure_id, forwarder_org_id, day, corridor_id, operator_org_id,
          auction_awarded_teu, auction_clearing_cents, auction_reserve_cents)
        select b.departure_id, b.forwarder_org_id, (d.departs_at at time zone 'UTC')::date, d.corridor_id, d.operator_org_id,
               p_sign * sum(b.teu), p_sign * clearing * sum(b.teu), p_sign * reserve * sum(b.teu)
          from bookings b join departures d on d.id = b.departure_id
         where b.listing_id = l.id and b.bid_id is not null
         group by b.departure_id, b.forwarder_org_id, d.departs_at, d.corridor_id, d.operator_org_id
         order by b.forwarder_org_id
        on conflict (departure_id, forwarder_org_id) do update set
          auction_awarded_teu = s.auction_awarded_teu + excluded.auction_awarded_teu,
          auction_clearing_cents = s.auction_clearing_cents + excluded.auction_clearing_cents,
          auction_reserve_cents = s.auction_reserve_cents + excluded.auction_reserve_cents;
    end $$`.execute(db);
  await sql`
    create function cx_stats_listings() returns trigger language plpgsql as $$
    begin
      perform cx_stats_auction(old, -1);
      perform cx_stats_auction(new, 1);
      return null;
    end $$`.execute(db);
  await sql`create trigger listings_stats_close
    after update of status, awarded_teu, clearing_price_cents, reserve_price_cents on listings for each row
    when (new.format in ('ascending', 'sealed') and (old.status = 'closed' or new.status = 'closed')
      and (old.status is distinct from new.status or old.awarded_teu is distinct from new.awarded_teu
        or old.clearing_price_cents is distinct from new.clearing_price_cents
        or old.reserve_price_cents is distinct from new.reserve_price_cents))
    execute function cx_stats_listings()`.execute(db);

  await sql`
    create function cx_stats_departure_keys() returns trigger language plpgsql as $$
    begin
      update stats_forwarder set day = (new.departs_at at time zone 'UTC')::date, corridor_id = new.corridor_id,
          operator_org_id = new.operator_org_id
        where departure_id = new.id;
      return null;
    end $$`.execute(db);
  await sql`create trigger departures_stats_keys after update of departs_at, corridor_id, operator_org_id on departures
    for each row when (old.departs_at is distinct from new.departs_at or old.corridor_id is distinct from new.corridor_id
      or old.operator_org_id is distinct from new.operator_org_id)
    execute function cx_stats_departure_keys()`.execute(db);

  // ---- 4. initial fill from the rows that exist ----
  await sql`
    insert into stats_departure (departure_id, bookings, booked_teu, revenue_cents, co2e_kg, road_co2e_kg, cancellations, cancelled_teu,
        cancellation_fees_cents, fixed_teu, fixed_revenue_cents, falling_teu, falling_revenue_cents, ascending_teu,
        ascending_revenue_cents, sealed_teu, sealed_revenue_cents)
      select b.departure_id,
        count(*) filter (where b.status <> 'cancelled'), coalesce(sum(b.teu) filter (where b.status <> 'cancelled'), 0),
        coalesce(sum(b.total_cents) filter (where b.status <> 'cancelled'), 0), coalesce(sum(b.co2e_kg) filter (where b.status <> 'cancelled'), 0),
        coalesce(sum(b.road_co2e_kg) filter (where b.status <> 'cancelled'), 0), count(*) filter (where b.status = 'cancelled'),
        coalesce(sum(b.teu) filter (where b.status = 'cancelled'), 0), coalesce(sum(coalesce(b.cancellation_fee_cents, 0)) filter (where b.status = 'cancelled'), 0),
        coalesce(sum(b.teu) filter (where b.status <> 'cancelled' and l.format = 'fixed'), 0),
        coalesce(sum(b.total_cents) filter (where b.status <> 'cancelled' and l.format = 'fixed'), 0),
        coalesce(sum(b.teu) filter (where b.status <> 'cancelled' and l.format = 'falling'), 0),
        coalesce(sum(b.total_cents) filter (where b.status <> 'cancelled' and l.format = 'falling'), 0),
        coalesce(sum(b.teu) filter (where b.status <> 'cancelled' and l.format = 'ascending'), 0),
        coalesce(sum(b.total_cents) filter (where b.status <> 'cancelled' and l.format = 'ascending'), 0),
        coalesce(sum(b.teu) filter (where b.status <> 'cancelled' and l.format = 'sealed'), 0),
        coalesce(sum(b.total_cents) filter (where b.status <> 'cancelled' and l.format = 'sealed'), 0)
      from bookings b join listings l on l.id = b.listing_id
      group by b.departure_id`.execute(db);
  await sql`
    insert into stats_forwarder (departure_id, forwarder_org_id, day, corridor_id, operator_org_id, bookings, booked_teu, revenue_cents,
        co2e_kg, road_co2e_kg, cancellations, cancelled_teu, cancellation_fees_cents, fixed_teu, fixed_revenue_cents, falling_teu,
        falling_revenue_cents, ascending_teu, ascending_revenue_cents, sealed_teu, sealed_revenue_cents)
      select b.departure_id, b.forwarder_org_id, (d.departs_at at time zone 'UTC')::date, d.corridor_id, d.operator_org_id,
        count(*) filter (where b.status <> 'cancelled'), coalesce(sum(b.teu) filter (where b.status <> 'cancelled'), 0),
        coalesce(sum(b.total_cents) filter (where b.status <> 'cancelled'), 0), coalesce(sum(b.co2e_kg) filter (where b.status <> 'cancelled'), 0),
        coalesce(sum(b.road_co2e_kg) filter (where b.status <> 'cancelled'), 0), count(*) filter (where b.status = 'cancelled'),
        coalesce(sum(b.teu) filter (where b.status = 'cancelled'), 0), coalesce(sum(coalesce(b.cancellation_fee_cents, 0)) filter (where b.status = 'cancelled'), 0),
        coalesce(sum(b.teu) filter (where b.status <> 'cancelled' and l.format = 'fixed'), 0),
        coalesce(sum(b.total_cents) filter (where b.status <> 'cancelled' and l.format = 'fixed'), 0),
        coalesce(sum(b.teu) filter (where b.status <> 'cancelled' and l.format = 'falling'), 0),
        coalesce(sum(b.total_cents) filter (where b.status <> 'cancelled' and l.format = 'falling'), 0),
        coalesce(sum(b.teu) filter (where b.status <> 'cancelled' and l.format = 'ascending'), 0),
        coalesce(sum(b.total_cents) filter (where b.status <> 'cancelled' and l.format = 'ascending'), 0),
        coalesce(sum(b.teu) filter (where b.status <> 'cancelled' and l.format = 'sealed'), 0),
        coalesce(sum(b.total_cents) filter (where b.status <> 'cancelled' and l.format = 'sealed'), 0)
      from bookings b join listings l on l.id = b.listing_id join departures d on d.id = b.departure_id
      group by b.departure_id, b.forwarder_org_id, d.departs_at, d.corridor_id, d.operator_org_id`.execute(db);
  await sql`
    do $$ declare l listings; begin
      for l in select * from listings where status = 'closed' and format in ('ascending', 'sealed') loop
        perform cx_stats_auction(l, 1);
      end loop;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists departures_stats_keys on departures`.execute(db);
  await sql`drop trigger if exists listings_stats_close on listings`.execute(db);
  await sql`drop trigger if exists bookings_stats_update on bookings`.execute(db);
  await sql`drop trigger if exists bookings_stats_insert on bookings`.execute(db);
  await sql`drop function if exists cx_stats_departure_keys()`.execute(db);
  await sql`drop function if exists cx_stats_listings()`.execute(db);
  await sql`drop function if exists cx_stats_auction(listings, int)`.execute(db);
  await sql`drop function if exists cx_stats_bookings()`.execute(db);
  await sql`drop function if exists cx_stats_add_booking(uuid, uuid, text, int, int, bigint, bigint, bigint, int, int, bigint)`.execute(db);
  await db.schema.dropTable('stats_forwarder').ifExists().execute();
  await db.schema.dropTable('stats_departure').ifExists().execute();
  await sql`drop index if exists departures_cutoff_scheduled_idx`.execute(db);
  await sql`drop trigger if exists departures_min_load on departures`.execute(db);
  await sql`drop function if exists cx_departures_min_load()`.execute(db);
  await db.schema.alterTable('departures').dropColumn('min_load_teu').execute();
}
