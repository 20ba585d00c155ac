import { sql, type Kysely, type RawBuilder } from 'kysely';
import { SALE_FORMATS } from '../../core/stats.ts';
import type { DB } from './schema.ts';
import { inTransaction, type Db } from './db.ts';

/**
 * The statistics rollups (stats_departure, stats_forwarder: booking and auction sums kept by the triggers of
 * migration 20261203T1300; stats_corridor_day with its deltas: 20261203T1400): the fold, and their
 * verification and rebuild, which recompute them from the raw rows (bookings, listings, departures) with ONE
 * definition (`recomputed*` below), shared by `npm run stats:rebuild`, the tests and the bench. The
 * dashboards' read queries: stats-read.ts.
 */

/** The summed columns of both rollup tables, in table order. */
export const ROLLUP_COLUMNS = [
  'bookings', 'booked_teu', 'revenue_cents', 'co2e_kg', 'road_co2e_kg', 'cancellations', 'cancelled_teu', 'cancellation_fees_cents',
  'fixed_teu', 'fixed_revenue_cents', 'falling_teu', 'falling_revenue_cents', 'ascending_teu', 'ascending_revenue_cents',
  'sealed_teu', 'sealed_revenue_cents', 'auction_awarded_teu', 'auction_clearing_cents', 'auction_reserve_cents',
] as const;

const DAY_EXPR_DEP = "(d.departs_at at time zone 'UTC')::date";

// ---- the corridor × day rollup as read ------------------------------------------------------------------

const CD_COLUMNS = ['departures', 'capacity_teu', ...ROLLUP_COLUMNS] as const;

/**
 * The corridor × day × operator figures of the days of `f`, as rows to be summed per group: each key's
 * folded row, its deltas not yet folded (stats_corridor_day_delta; the `stats.fold` job folds them every few
 * seconds) — exact whether or not the fold has run — and, with `heldSince`, the held TEU of the departures
 * from then on, read live (a hold ends at the latest at its departure's cut-off, so older departures hold
 * nothing). No inner grouping: the caller's GROUP BY sums all three.
 */
export function corridorDayParts(f: { from: string; to: string }, heldSince: Date | null): RawBuilder<unknown> {
  const zeros = ROLLUP_COLUMNS.map((c) => `0::int8 as ${c}`).join(', ');
  const held = heldSince
    ? sql`union all
      select (d.departs_at at time zone 'UTC')::date, d.corridor_id, d.operator_org_id, 0::int8, 0::int8, d.held_teu::int8, ${sql.raw(zeros)}
        from departures d
       where d.departs_at >= greatest(${heldSince}::timestamptz, (${f.from}::date)::timestamp at time zone 'UTC')
         and d.departs_at < (${f.to}::date + 1)::timestamp at time zone 'UTC'
         and d.status = 'scheduled' and d.held_teu > 0`
    : sql``;
  return sql`(select ${sql.raw(CD_LIST_HELD)} from stats_corridor_day where day between ${f.from}::date and ${f.to}::date
      union all
      select ${sql.raw(CD_LIST_HELD)} from stats_corridor_day_delta where day between ${f.from}::date and ${f.to}::date
      ${held})`;
}
const CD_LIST_HELD = `day, corridor_id, operator_org_id, departures::int8, capacity_teu, 0::int8 as held_teu, ${ROLLUP_COLUMNS.join(', ')}`;

/** One row per corridor × day × operator key (folded row + pending deltas): what the verification compares. */
function corridorDays(f: { from: string; to: string }): RawBuilder<unknown> {
  return sql`(select day, corridor_id, operator_org_id, ${sql.raw(CD_COLUMNS.map((c) => `sum(${c})::int8 as ${c}`).join(', '))}
      from ${corridorDayParts(f, null)} u group by day, corridor_id, operator_org_id)`;
}

/**
 * After bulk writes (the history seed, the bench): folds the pending deltas and VACUUM ANALYZEs the rollup
 * tables, so readers neither scan the folded deltas' dead rows nor plan without statistics until autovacuum
 * comes by. VACUUM needs the tables' owner: as anyone else it only warns. Returns the deltas folded.
 */
export async function compactRollups(db: Kysely<DB>): Promise<number> {
  const folded = await foldCorridorDays(db);
  await sql`vacuum analyze stats_corridor_day_delta, stats_corridor_day, stats_departure, stats_forwarder`.execute(db);
  return folded;
}

/** Folds the pending corridor × day deltas into stats_corridor_day (the `stats.fold` job); returns the deltas folded. */
export async function foldCorridorDays(db: Kysely<DB>): Promise<number> {
  const { rows } = await sql<{ n: string }>`select cx_stats_cd_fold() as n`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

// ---- recomputation, verification, rebuild -----------------------------------------------------------------

const live = "b.status <> 'cancelled'";
const bookingSums = [
  `count(*) filter (where ${live})::int8 as bookings`,
  `coalesce(sum(b.teu) filter (where ${live}), 0)::int8 as booked_teu`,
  `coalesce(sum(b.total_cents) filter (where ${live}), 0)::int8 as revenue_cents`,
  `coalesce(sum(b.co2e_kg) filter (where ${live}), 0)::int8 as co2e_kg`,
  `coalesce(sum(b.road_co2e_kg) filter (where ${live}), 0)::int8 as road_co2e_kg`,
  `count(*) filter (where b.status = 'cancelled')::int8 as cancellations`,
  `coalesce(sum(b.teu) filter (where b.status = 'cancelled'), 0)::int8 as cancelled_teu`,
  `coalesce(sum(coalesce(b.cancellation_fee_cents, 0)) filter (where b.status = 'cancelled'), 0)::int8 as cancellation_fees_cents`,
  ...SALE_FORMATS.flatMap((fmt) => [
    `coalesce(sum(b.teu) filter (where ${live} and l.format = '${fmt}'), 0)::int8 as ${fmt}_teu`,
    `coalesce(sum(b.total_cents) filter (where ${live} and l.format = '${fmt}'), 0)::int8 as ${fmt}_revenue_cents`,
  ]),
].join(', ');
const BOOKING_COLUMNS = ROLLUP_COLUMNS.filter((c) => !c.startsWith('auction_'));
const AUCTION = "l.status = 'closed' and l.format in ('ascending', 'sealed')";

/** The per-departure rollup recomputed from bookings and closed auction listings (a SELECT with the table's columns). */
const RECOMPUTED_DEPARTURE = `
  with bs as (
    select b.departure_id, ${bookingSums}
      from bookings b join listings l on l.id = b.listing_id group by b.departure_id
  ), au as (
    select l.departure_id, coalesce(sum(coalesce(l.awarded_teu, 0)), 0)::int8 as auction_awarded_teu,
           coalesce(sum(coalesce(l.clearing_price_cents, 0) * coalesce(l.awarded_teu, 0)), 0)::int8 as auction_clearing_cents,
           coalesce(sum(coalesce(l.reserve_price_cents, 0) * coalesce(l.awarded_teu, 0)), 0)::int8 as auction_reserve_cents
      from listings l where ${AUCTION} group by l.departure_id
  )
  select coalesce(bs.departure_id, au.departure_id) as departure_id,
         ${BOOKING_COLUMNS.map((c) => `coalesce(bs.${c}, 0) as ${c}`).join(', ')},
         coalesce(au.auction_awarded_teu, 0) as auction_awarded_teu, coalesce(au.auction_clearing_cents, 0) as auction_clearing_cents,
         coalesce(au.auction_reserve_cents, 0) as auction_reserve_cents
    from bs full join au on au.departure_id = bs.departure_id`;
const recomputedDeparture = sql.raw(RECOMPUTED_DEPARTURE);

/** The departure × buyer rollup recomputed from bookings (auction share: the winners' bookings of closed auctions). */
const recomputedForwarder = sql.raw(`
  with bs as (
    select b.departure_id, b.forwarder_org_id, ${bookingSums}
      from bookings b join listings l on l.id = b.listing_id group by b.departure_id, b.forwarder_org_id
  ), au as (
    select b.departure_id, b.forwarder_org_id, sum(b.teu)::int8 as auction_awarded_teu,
           sum(coalesce(l.clearing_price_cents, 0) * b.teu)::int8 as auction_clearing_cents,
           sum(coalesce(l.reserve_price_cents, 0) * b.teu)::int8 as auction_reserve_cents
      from bookings b join listings l on l.id = b.listing_id
     where b.bid_id is not null and ${AUCTION} group by b.departure_id, b.forwarder_org_id
  ), k as (
    select coalesce(bs.departure_id, au.departure_id) as departure_id, coalesce(bs.forwarder_org_id, au.forwarder_org_id) as forwarder_org_id,
           ${BOOKING_COLUMNS.map((c) => `coalesce(bs.${c}, 0) as ${c}`).join(', ')},
           coalesce(au.auction_awarded_teu, 0) as auction_awarded_teu, coalesce(au.auction_clearing_cents, 0) as auction_clearing_cents,
           coalesce(au.auction_reserve_cents, 0) as auction_reserve_cents
      from bs full join au on au.departure_id = bs.departure_id and au.forwarder_org_id = bs.forwarder_org_id
  )
  select k.departure_id, k.forwarder_org_id, ${DAY_EXPR_DEP} as day, d.corridor_id, d.operator_org_id,
         ${ROLLUP_COLUMNS.map((c) => `k.${c}`).join(', ')}
    from k join departures d on d.id = k.departure_id`);

/**
 * The corridor × day × operator rollup recomputed from the raw rows: each departure (scheduled: counted with
 * its capacity) with its bookings and closed auctions recomputed as above.
 */
const recomputedCorridorDay = sql.raw(`
  with r as (${RECOMPUTED_DEPARTURE})
  select ${DAY_EXPR_DEP} as day, d.corridor_id, d.operator_org_id,
         (count(*) filter (where d.status = 'scheduled'))::int8 as departures,
         coalesce(sum(d.capacity_teu) filter (where d.status = 'scheduled'), 0)::int8 as capacity_teu,
         ${ROLLUP_COLUMNS.map((c) => `coalesce(sum(r.${c}), 0)::int8 as ${c}`).join(', ')}
    from departures d left join r on r.departure_id = d.id
   group by 1, 2, 3`);

export interface RollupDifference {
  table: 'stats_departure' | 'stats_forwarder' | 'stats_corridor_day';
  /** The row: its departure id (stats_corridor_day: `day|corridor id|operator id`). */
  departureId: string;
  forwarderOrgId: string | null;
  column: string;
  rollup: string | number | null;
  recomputed: string | number | null;
}
export interface RollupVerdict {
  ok: boolean;
  /** Rows compared per table (union of both sides). */
  checked: { stats_departure: number; stats_forwarder: number; stats_corridor_day: number };
  differences: RollupDifference[];
}

const jsonOf = (alias: string, cols: readonly string[]) => `jsonb_build_object(${cols.map((c) => `'${c}', coalesce(${alias}.${c}, 0)`).join(', ')})`;

/**
 * Compares both rollups with their recomputation from the raw rows, each in ONE statement (one snapshot:
 * rows written concurrently are seen with their rollup delta or not at all). A row missing on one side
 * counts as all zeros. Returns every differing column (at most `maxDifferences`).
 */
export async function verifyRollups(db: Kysely<DB>, maxDifferences = 1000): Promise<RollupVerdict> {
  type Cmp = { departure_id: string; forwarder_org_id: string | null; rollup: Record<string, unknown>; recomputed: Record<string, unknown> };
  const dep = await sql<Cmp>`
    with r as (${recomputedDeparture}),
    cmp as (
      select coalesce(r.departure_id, s.departure_id) as departure_id, null::uuid as forwarder_org_id,
             ${sql.raw(jsonOf('s', ROLLUP_COLUMNS))} as rollup, ${sql.raw(jsonOf('r', ROLLUP_COLUMNS))} as recomputed
        from r full join stats_departure s on s.departure_id = r.departure_id
    )
    select cmp.* from cmp where rollup <> recomputed order by departure_id limit ${maxDifferences}`.execute(db);
  const keys = ['day', 'corridor_id', 'operator_org_id'];
  const fwd = await sql<Cmp>`
    with r as (${recomputedForwarder}),
    cmp as (
      select coalesce(r.departure_id, s.departure_id) as departure_id, coalesce(r.forwarder_org_id, s.forwarder_org_id) as forwarder_org_id,
             ${sql.raw(jsonOf('s', ROLLUP_COLUMNS))} || case when s.departure_id is not null and r.departure_id is not null
               then jsonb_build_object('day', s.day::text, 'corridor_id', s.corridor_id, 'operator_org_id', s.operator_org_id) else '{}'::jsonb end as rollup,
             ${sql.raw(jsonOf('r', ROLLUP_COLUMNS))} || case when s.departure_id is not null and r.departure_id is not null
               then jsonb_build_object('day', r.day::text, 'corridor_id', r.corridor_id, 'operator_org_id', r.operator_org_id) else '{}'::jsonb end as recomputed
        from r full join stats_forwarder s on s.departure_id = r.departure_id and s.forwarder_org_id = r.forwarder_org_id
    )
    select cmp.* from cmp where rollup <> recomputed order by departure_id, forwarder_org_id limit ${maxDifferences}`.execute(db);
  const cd = await sql<Cmp>`
    with r as (${recomputedCorridorDay}),
    cmp as (
      select concat_ws('|', coalesce(r.day, s.day)::text, coalesce(r.corridor_id, s.corridor_id), coalesce(r.operator_org_id, s.operator_org_id)) as departure_id,
             null::uuid as forwarder_org_id,
             ${sql.raw(jsonOf('s', CD_COLUMNS))} as rollup, ${sql.raw(jsonOf('r', CD_COLUMNS))} as recomputed
        from r full join ${corridorDays({ from: '0001-01-01', to: '9999-12-31' })} s
          on s.day = r.day and s.corridor_id = r.corridor_id and s.operator_org_id = r.operator_org_id
    )
    select cmp.* from cmp where rollup <> recomputed order by departure_id limit ${maxDifferences}`.execute(db);
  const counts = await sql<{ d: number; f: number; c: number }>`
    select (select count(*) from (select departure_id from stats_departure union select departure_id from (${recomputedDeparture}) x) u)::int as d,
           (select count(*) from (select departure_id, forwarder_org_id from stats_forwarder
              union select departure_id, forwarder_org_id from (${recomputedForwarder}) y) v)::int as f,
           (select count(*) from ${corridorDays({ from: '0001-01-01', to: '9999-12-31' })} w)::int as c`.execute(db);
  const differences: RollupDifference[] = [];
  for (const [table, rows] of [['stats_departure', dep.rows], ['stats_forwarder', fwd.rows], ['stats_corridor_day', cd.rows]] as const) {
    for (const r of rows) {
      for (const column of [...CD_COLUMNS, ...keys]) {
        const a = (r.rollup[column] ?? null) as string | number | null;
        const b = (r.recomputed[column] ?? null) as string | number | null;
        if (a !== b && differences.length < maxDifferences) {
          differences.push({ table, departureId: r.departure_id, forwarderOrgId: r.forwarder_org_id, column, rollup: a, recomputed: b });
        }
      }
    }
  }
  const n = counts.rows[0]!;
  return { ok: differences.length === 0, checked: { stats_departure: n.d, stats_forwarder: n.f, stats_corridor_day: n.c }, differences };
}

/**
 * Replaces both rollups with their recomputation, in one transaction. The rollup tables are locked
 * (EXCLUSIVE) first, so writes that commit meanwhile wait and then add their delta on top: nothing is
 * counted twice or lost. Returns the rows written.
 */
export async function rebuildRollups(db: Db): Promise<{ stats_departure: number; stats_forwarder: number; stats_corridor_day: number }> {
  return inTransaction(db, async (tx) => {
    await sql`lock table stats_departure, stats_forwarder, stats_corridor_day, stats_corridor_day_delta in exclusive mode`.execute(tx);
    // every day may change: the dashboards' settled days kept in memory are dropped (migration 20261203T1600)
    await sql`select cx_stats_settled_bump()`.execute(tx);
    await sql`delete from stats_forwarder`.execute(tx);
    // stats_departure's own trigger would add its rows to stats_corridor_day again: that table is refilled
    // from scratch after stats_departure, so the deltas added meanwhile are wiped with it.
    await sql`delete from stats_departure`.execute(tx);
    const cols = ROLLUP_COLUMNS.join(', ');
    const d = await sql`insert into stats_departure (departure_id, ${sql.raw(cols)}) select departure_id, ${sql.raw(cols)} from (${recomputedDeparture}) r`.execute(tx);
    const f = await sql`insert into stats_forwarder (departure_id, forwarder_org_id, day, corridor_id, operator_org_id, ${sql.raw(cols)})
      select departure_id, forwarder_org_id, day, corridor_id, operator_org_id, ${sql.raw(cols)} from (${recomputedForwarder}) r`.execute(tx);
    await sql`delete from stats_corridor_day_delta`.execute(tx);
    await sql`delete from stats_corridor_day`.execute(tx);
    const cdCols = CD_COLUMNS.join(', ');
    const c = await sql`insert into stats_corridor_day (day, corridor_id, operator_org_id, ${sql.raw(cdCols)})
      select day, corridor_id, operator_org_id, ${sql.raw(cdCols)} from (${recomputedCorridorDay}) r`.execute(tx);
    return {
      stats_departure: Number(d.numAffectedRows ?? 0),
      stats_forwarder: Number(f.numAffectedRows ?? 0),
      stats_corridor_day: Number(c.numAffectedRows ?? 0),
    };
  });
}

const ROLLUP_TRIGGERS = [
  ['bookings', 'bookings_stats_insert'],
  ['bookings', 'bookings_stats_update'],
  ['listings', 'listings_stats_close'],
  ['departures', 'departures_stats_keys'],
  ['departures', 'departures_stats_cd_insert'],
  ['departures', 'departures_stats_cd_update'],
  ['stats_departure', 'stats_departure_cd'],
] as const;

/**
 * Switches the rollup triggers off or on (the bench's "rollups off" baseline). Needs the tables' owner
 * (MIGRATION_DATABASE_URL), not the app role. While off, the rollups fall behind: call rebuildRollups()
 * after switching them on again.
 */
export async function setRollupsEnabled(db: Kysely<DB>, on: boolean): Promise<void> {
  for (const [table, trigger] of ROLLUP_TRIGGERS) {
    await sql`alter table ${sql.table(table)} ${sql.raw(on ? 'enable' : 'disable')} trigger ${sql.ref(trigger)}`.execute(db);
  }
}
