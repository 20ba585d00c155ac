import { sql, type Kysely, type RawBuilder } from 'kysely';
import { emptySums, type SlimSums, type StatsSums } from '../../core/stats.ts';
import type { DB } from './schema.ts';
import { corridorDayParts, ROLLUP_COLUMNS } from './stats-repo.ts';

/**
 * The statistics read queries (the dashboards). Figures come from the rollups (stats_departure,
 * stats_forwarder, stats_corridor_day: migrations 20261203T1300 and T1400, kept by their triggers; how they
 * are verified and rebuilt: stats-repo.ts) beside each departure's own capacity, held TEU and status —
 * never from the bookings.
 *
 * Cost (a year of history ≈ 20,000 departures, 7,600 corridor × day rows): the aggregate groupings sum the
 * rollup rows per id key first (corridor, day, operator…: no text to sort or compare), then join the names
 * onto the few summed rows; tables are joined only when a key or a filter needs them. Large answers are
 * bound by reading their rows: per departure, each row is read as it is, never grouped; and a row without
 * detail (the default answer, groupedSlim) reads ≈ 10 columns instead of ≈ 30, its answer's totals coming
 * from the same statement.
 */

export type StatsScope = { kind: 'network' } | { kind: 'operator'; orgId: string } | { kind: 'forwarder'; orgId: string };
export type StatsGroup = 'corridor-day' | 'cluster-day' | 'operator' | 'mode' | 'day' | 'corridor' | 'departure' | 'none';

export interface StatsFilter {
  /** Departure days, inclusive (YYYY-MM-DD). */
  from: string;
  to: string;
  corridorId?: string | undefined;
  clusterId?: string | undefined;
  mode?: 'rail' | 'barge' | undefined;
  operatorOrgId?: string | undefined;
}

/**
 * The key columns of a group, named as in the answer (API.md "Statistics"): which of them a row carries
 * depends on the grouping. Times are ISO 8601 text (UTC, milliseconds), days `YYYY-MM-DD`.
 */
export interface GroupKey {
  corridorId?: string;
  corridorCode?: string;
  fromCode?: string;
  toCode?: string;
  mode?: string;
  day?: string;
  clusterCode?: string;
  operatorOrgId?: string;
  operatorName?: string;
  departureId?: string;
  departsAt?: string;
  cutoffAt?: string;
  assetName?: string;
  minLoadTeu?: number;
  status?: string;
  /** price index: the first day of the bucket */
  period?: string;
}

export interface GroupedSums {
  /** The row as read (its key columns, read by name; the summed columns are in `sums`). Not copied: large answers stay cheap. */
  key: GroupKey;
  sums: StatsSums;
}

/** Every summed column of a group: the departure figures, then the rollup sums. */
const SUM_COLUMNS = ['departures', 'capacity_teu', 'held_teu', ...ROLLUP_COLUMNS] as const;
type SumsRow = Record<(typeof SUM_COLUMNS)[number], number | null>;

/** A row's summed columns (int8: already numbers, see db.ts; coalesced in the SQL) as StatsSums, in one literal. */
function sumsOf(r: SumsRow, forwarder: boolean): StatsSums {
  const n = (v: number | null) => v ?? 0;
  return {
    departures: forwarder ? null : n(r.departures),
    capacityTeu: forwarder ? null : n(r.capacity_teu),
    heldTeu: forwarder ? null : n(r.held_teu),
    bookings: n(r.bookings),
    bookedTeu: n(r.booked_teu),
    revenueCents: n(r.revenue_cents),
    co2eKg: n(r.co2e_kg),
    roadCo2eKg: n(r.road_co2e_kg),
    cancellations: n(r.cancellations),
    cancelledTeu: n(r.cancelled_teu),
    cancellationFeesCents: n(r.cancellation_fees_cents),
    formatTeu: { fixed: n(r.fixed_teu), falling: n(r.falling_teu), ascending: n(r.ascending_teu), sealed: n(r.sealed_teu) },
    formatRevenueCents: {
      fixed: n(r.fixed_revenue_cents), falling: n(r.falling_revenue_cents), ascending: n(r.ascending_revenue_cents), sealed: n(r.sealed_revenue_cents),
    },
    auctionAwardedTeu: n(r.auction_awarded_teu),
    auctionClearingCents: n(r.auction_clearing_cents),
    auctionReserveCents: n(r.auction_reserve_cents),
  };
}

const isoTime = (col: string) => `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const CORRIDOR_JOINS = 'join corridors c on c.id = x.corridor_id join clusters o on o.id = c.from_cluster_id join clusters t on t.id = c.to_cluster_id';
const corridorKeys = (id: string) => [`${id} as "corridorId"`, 'c.code as "corridorCode"', 'o.code as "fromCode"', 't.code as "toCode"', 'c.mode as "mode"'];

/**
 * The two levels of an aggregate grouping: `inner`, the id keys the rollup rows are summed by (as `x.…`;
 * `innerJoin`: a table those keys need); `keys`, what the answer names, over `x` and the tables `joins` adds;
 * `regroup`: the names are coarser than the ids (mode), so the summed rows are summed again per name.
 */
function levels(g: Exclude<StatsGroup, 'departure'>, bucket?: 'week' | 'day'): {
  inner: string[]; innerJoin?: string; keys: string[]; joins: string; regroup: string | null; order: string;
} {
  const day = `to_char(x.day, 'YYYY-MM-DD') as "day"`;
  switch (g) {
    case 'corridor-day':
      return { inner: ['s.corridor_id', 's.day'], keys: [...corridorKeys('x.corridor_id'), day], joins: CORRIDOR_JOINS, regroup: null, order: 'c.code, x.day' };
    case 'cluster-day': // summed per origin cluster directly (per corridor first would not shrink the rows)
      return {
        inner: ['c.from_cluster_id as cluster_id', 's.day'], innerJoin: 'join corridors c on c.id = s.corridor_id', keys: ['o.code as "clusterCode"', day],
        joins: 'join clusters o on o.id = x.cluster_id', regroup: null, order: 'o.code, x.day',
      };
    case 'operator':
      return {
        inner: ['s.operator_org_id'], keys: ['x.operator_org_id as "operatorOrgId"', 'op.name as "operatorName"'], joins: 'join organisations op on op.id = x.operator_org_id',
        regroup: null, order: 'op.name, x.operator_org_id',
      };
    case 'mode':
      return { inner: ['s.corridor_id'], keys: ['c.mode as "mode"'], joins: 'join corridors c on c.id = x.corridor_id', regroup: 'c.mode', order: 'c.mode' };
    case 'day':
      return { inner: ['s.day'], keys: [day], joins: '', regroup: null, order: 'x.day' };
    case 'corridor':
      return { inner: ['s.corridor_id'], keys: corridorKeys('x.corridor_id'), joins: CORRIDOR_JOINS, regroup: null, order: 'c.code' };
    case 'none': {
      if (!bucket) return { inner: [], keys: [], joins: '', regroup: null, order: '' };
      const unit = bucket === 'day' ? 'day' : 'week'; // only these two words ever reach the SQL text
      return {
        inner: ['s.corridor_id', `date_trunc('${unit}', s.day)::date as period`],
        keys: ['x.corridor_id as "corridorId"', 'c.code as "corridorCode"', `to_char(x.period, 'YYYY-MM-DD') as "period"`],
        joins: 'join corridors c on c.id = x.corridor_id',
        regroup: null,
        order: 'c.code, x.period',
      };
    }
  }
}

/** The corridor filters (cluster, mode) as one condition on a corridor id column; none: null. */
function corridorFilter(col: string, f: StatsFilter): RawBuilder<unknown> | null {
  const conds: RawBuilder<unknown>[] = [];
  if (f.clusterId) conds.push(sql`(cf.from_cluster_id = ${f.clusterId} or cf.to_cluster_id = ${f.clusterId})`);
  if (f.mode) conds.push(sql`cf.mode = ${f.mode}`);
  return conds.length ? sql`${sql.raw(col)} in (select cf.id from corridors cf where ${sql.join(conds, sql` and `)})` : null;
}

/** What a grouping reads: every summed column (`full`), or the columns of a row without detail (`slim`). */
type Detail = 'full' | 'slim';
export interface SumsOptions {
  limit: number;
  bucket?: 'week' | 'day';
  now?: Date;
}

/**
 * Sums per group over the departure days of `f` in `scope` (at most `limit` groups, in key order), every
 * summed column. Per departure: each departure (capacity, held, status) with its stats_departure row — or, a
 * forwarder's, its stats_forwarder row. Other groupings of the network and operator scopes: the
 * stats_corridor_day rows, with the held TEU of the departures that can still carry holds (departing after
 * `now` − 2 days: a hold ends at the latest at its departure's cut-off) read live; of a forwarder's: its
 * stats_forwarder rows (the departure's day, corridor and operator are copied there).
 */
export async function groupedSums(db: Kysely<DB>, scope: StatsScope, g: StatsGroup, f: StatsFilter, o: SumsOptions): Promise<GroupedSums[]> {
  const forwarder = scope.kind === 'forwarder';
  const { rows } = await sql<SumsRow & GroupKey>`${groupQuery(scope, g, f, o, 'full', false)}`.execute(db);
  return rows.map((r) => ({ key: r, sums: sumsOf(r, forwarder) }));
}

export interface SlimGroup {
  /** The row as read (key columns by name; the summed columns are in `sums`). */
  key: GroupKey;
  sums: SlimSums;
}

/**
 * The groups of groupedSums with only the columns of a row without detail (SLIM_COLUMNS: ~10 instead of
 * ~30 per row to read from Postgres, the bulk of a large answer's cost) and, with `totals`, the sums of
 * every column over all the groups — read in the same statement (one snapshot: they add up to the rows):
 * the grouped rows are materialised once, the rows read slim, then one more row with the totals as a JSON
 * array.
 */
export async function groupedSlim(
  db: Kysely<DB>,
  scope: StatsScope,
  g: StatsGroup,
  f: StatsFilter,
  o: SumsOptions & { totals: boolean },
): Promise<{ groups: SlimGroup[]; totals: StatsSums | null }> {
  const forwarder = scope.kind === 'forwarder';
  const { rows } = await sql<SlimRow & GroupKey & { totals?: (number | null)[] | null }>`${groupQuery(scope, g, f, o, 'slim', o.totals)}`.execute(db);
  let totals: StatsSums | null = null;
  if (o.totals) {
    // the totals row: last in practice (UNION ALL appends), looked for rather than assumed
    let at = rows.length - 1;
    while (at >= 0 && !rows[at]!.totals) at--;
    const t = at >= 0 ? rows.splice(at, 1)[0]!.totals! : [];
    totals = sumsOf(Object.fromEntries(SUM_COLUMNS.map((c, i) => [c, t[i] ?? null])) as SumsRow, forwarder);
  }
  const groups = rows.map((r) => ({
    key: r,
    sums: {
      departures: forwarder ? null : r.departures ?? 0,
      capacityTeu: forwarder ? null : r.capacity_teu ?? 0,
      heldTeu: forwarder ? null : r.held_teu ?? 0,
      bookedTeu: r.booked_teu ?? 0,
      revenueCents: r.revenue_cents ?? 0,
      co2eKg: r.co2e_kg ?? 0,
      roadCo2eKg: r.road_co2e_kg ?? 0,
    },
  }));
  return { groups, totals };
}

/** The summed columns of a row without detail (SlimSums). */
const SLIM_COLUMNS = ['departures', 'capacity_teu', 'held_teu', 'booked_teu', 'revenue_cents', 'co2e_kg', 'road_co2e_kg'] as const;
type SlimRow = Record<(typeof SLIM_COLUMNS)[number], number | null>;
const SLIM_ROLLUP_COLUMNS = SLIM_COLUMNS.filter((c) => (ROLLUP_COLUMNS as readonly string[]).includes(c));

/**
 * The statement of a grouping: `base`, its rows (`keys`: their key columns as named in the answer, then the
 * summed columns, over the tables that names need), ordered and limited — every summed column (`full`) or
 * SLIM_COLUMNS; with `totals` (slim only), the grouped rows materialised once and one more row: `totals`, the
 * sums of every column over all of them as a JSON array in SUM_COLUMNS order (the key and summed columns of
 * that row are null; the rows' `totals` is null).
 */
function groupQuery(scope: StatsScope, g: StatsGroup, f: StatsFilter, o: SumsOptions, detail: Detail, totals: boolean): RawBuilder<unknown> {
  const cols = detail === 'full' ? SUM_COLUMNS : SLIM_COLUMNS;
  const all = detail === 'full' || totals;
  const q = g === 'departure' ? perDeparture(scope, f, all) : aggregated(scope, g, f, o, all);
  const rows = (from: RawBuilder<unknown>, extra: string[]) => sql`
    select ${sql.raw([...q.keys, ...cols.map(q.sum), ...extra].join(', '))} from ${from} ${sql.raw(q.joins)}
     ${q.regroup ? sql.raw(`group by ${q.regroup}`) : sql``} ${q.order ? sql.raw(`order by ${q.order}`) : sql``} limit ${o.limit}`;
  if (!totals) return rows(sql`(${q.base}) x`, []);
  const nulls = [...q.keys, ...cols].map(() => 'null');
  return sql`with x as materialized (${q.base})
    (${rows(sql`x`, ['null::json as totals'])})
    union all
    (select ${sql.raw([...nulls, `json_build_array(${SUM_COLUMNS.map((c) => `sum(x.${c})`).join(', ')}) as totals`].join(', '))} from x)`;
}

/**
 * A grouping's rows as one statement: `base`, the grouped rows (as `x`); `keys`, the key columns of the
 * answer over `x` and the tables `joins` adds; `sum(c)`, summed column `c` of a row (summed again per
 * `regroup` when the names are coarser than the ids); `order`, the answer's order.
 */
interface GroupSql {
  base: RawBuilder<unknown>;
  keys: string[];
  sum: (c: string) => string;
  joins: string;
  regroup: string | null;
  order: string;
}

/**
 * One row per departure, as read (no GROUP BY): keys, departure figures, its rollup row (or the
 * forwarder's) — every rollup column (`all`) or those of a row without detail.
 */
function perDeparture(scope: StatsScope, f: StatsFilter, all: boolean): GroupSql {
  const conds: RawBuilder<unknown>[] = [];
  let from: RawBuilder<unknown>;
  let dep: string;
  if (scope.kind === 'forwarder') {
    from = sql`stats_forwarder s join departures d on d.id = s.departure_id`;
    conds.push(sql`s.forwarder_org_id = ${scope.orgId}`, sql`s.day >= ${f.from}::date`, sql`s.day <= ${f.to}::date`);
    dep = 'null::int8 as departures, null::int8 as capacity_teu, null::int8 as held_teu';
  } else {
    from = sql`departures d left join stats_departure s on s.departure_id = d.id`;
    conds.push(sql`d.departs_at >= (${f.from}::date)::timestamp at time zone 'UTC'`, sql`d.departs_at < (${f.to}::date + 1)::timestamp at time zone 'UTC'`);
    if (scope.kind === 'operator') conds.push(sql`d.operator_org_id = ${scope.orgId}`);
    const scheduled = (col: string) => `(case when d.status = 'scheduled' then ${col} else 0 end)::int8`;
    dep = `${scheduled('1')} as departures, ${scheduled('d.capacity_teu')} as capacity_teu, ${scheduled('d.held_teu')} as held_teu`;
  }
  if (f.corridorId) conds.push(sql`d.corridor_id = ${f.corridorId}`);
  if (f.operatorOrgId) conds.push(sql`d.operator_org_id = ${f.operatorOrgId}`);
  const byCorridor = corridorFilter('d.corridor_id', f);
  if (byCorridor) conds.push(byCorridor);
  const keys: [string, string][] = [
    ['departureId', 'd.id'], ['corridorId', 'd.corridor_id'], ['corridorCode', 'c.code'], ['departsAt', isoTime('d.departs_at')],
    ['cutoffAt', isoTime('d.cutoff_at')], ['assetName', 'd.asset_name'], ['operatorOrgId', 'd.operator_org_id'], ['minLoadTeu', 'd.min_load_teu'],
    ['status', 'd.status'],
  ];
  const select = [
    ...keys.map(([name, expr]) => `${expr} as "${name}"`), 'd.departs_at as sort_at', dep,
    ...(all ? ROLLUP_COLUMNS : SLIM_ROLLUP_COLUMNS).map((c) => `coalesce(s.${c}, 0)::int8 as ${c}`),
  ].join(', ');
  return {
    base: sql`select ${sql.raw(select)} from ${from} join corridors c on c.id = d.corridor_id where ${sql.join(conds, sql` and `)}`,
    keys: keys.map(([name]) => `x."${name}"`),
    sum: (c) => `x.${c}`,
    joins: '',
    regroup: null,
    order: 'x.sort_at, x."departureId"',
  };
}

/**
 * Every other grouping, in two levels: the rollup rows of `f` summed per id key (`levels().inner`; every
 * rollup column with `all`, else those of a row without detail), then the names joined onto those sums
 * (and summed again when the names are coarser than the ids).
 */
function aggregated(scope: StatsScope, g: Exclude<StatsGroup, 'departure'>, f: StatsFilter, o: SumsOptions, all: boolean): GroupSql {
  const lv = levels(g, o.bucket);
  const conds: RawBuilder<unknown>[] = [sql`s.day >= ${f.from}::date`, sql`s.day <= ${f.to}::date`];
  if (f.corridorId) conds.push(sql`s.corridor_id = ${f.corridorId}`);
  if (f.operatorOrgId) conds.push(sql`s.operator_org_id = ${f.operatorOrgId}`);
  const byCorridor = corridorFilter('s.corridor_id', f);
  if (byCorridor) conds.push(byCorridor);
  let from: RawBuilder<unknown>;
  let dep: string[];
  if (scope.kind === 'forwarder') {
    from = sql`stats_forwarder s`;
    conds.push(sql`s.forwarder_org_id = ${scope.orgId}`);
    dep = ['null::int8 as departures', 'null::int8 as capacity_teu', 'null::int8 as held_teu'];
  } else {
    if (scope.kind === 'operator') conds.push(sql`s.operator_org_id = ${scope.orgId}`);
    const since = new Date((o.now ?? new Date()).getTime() - 2 * 86_400_000);
    from = sql`${corridorDayParts(f, since)} s`;
    dep = ['departures', 'capacity_teu', 'held_teu'].map((c) => `coalesce(sum(s.${c}), 0)::int8 as ${c}`);
  }
  // (a forwarder's departure figures stay null: sumsOf ignores them)
  const sums = (all ? ROLLUP_COLUMNS : SLIM_ROLLUP_COLUMNS).map((c) => `coalesce(sum(s.${c}), 0)::int8 as ${c}`);
  const base = sql`select ${sql.raw([...lv.inner, ...dep, ...sums].join(', '))}
      from ${from} ${sql.raw(lv.innerJoin ?? '')} where ${sql.join(conds, sql` and `)}
      ${lv.inner.length ? sql.raw(`group by ${lv.inner.map((k) => k.replace(/ as \w+$/, '')).join(', ')}`) : sql``}`;
  return {
    base,
    keys: lv.keys,
    sum: (c) => (lv.regroup ? `coalesce(sum(x.${c}), 0)::int8 as ${c}` : `x.${c}`),
    joins: lv.joins,
    regroup: lv.regroup,
    order: lv.order,
  };
}

/** The totals of `scope` over `f` (one group). */
export async function totalSums(db: Kysely<DB>, scope: StatsScope, f: StatsFilter, now?: Date): Promise<StatsSums> {
  const [r] = await groupedSums(db, scope, 'none', f, { limit: 1, ...(now ? { now } : {}) });
  return r?.sums ?? emptySums(scope.kind === 'forwarder');
}

/**
 * Scheduled departures whose cut-off is in (now, until] and whose booked TEU are below their minimum load,
 * by cut-off (index departures_cutoff_scheduled_idx).
 */
/** Which departures a statistic is about: one operator's, one corridor's, one cluster's, one mode's (none: all). */
export interface DepartureScopeFilter {
  operatorOrgId?: string | undefined;
  corridorId?: string | undefined;
  clusterId?: string | undefined;
  mode?: 'rail' | 'barge' | undefined;
}

/** The statistics' departure scope as one condition on `d` (departures) and `c` (its corridor); no filter: true. */
function departureScope(f: DepartureScopeFilter) {
  const parts: RawBuilder<unknown>[] = [sql`true`];
  if (f.operatorOrgId) parts.push(sql`d.operator_org_id = ${f.operatorOrgId}::uuid`);
  if (f.corridorId) parts.push(sql`d.corridor_id = ${f.corridorId}::uuid`);
  if (f.mode) parts.push(sql`c.mode = ${f.mode}`);
  if (f.clusterId) parts.push(sql`(c.from_cluster_id = ${f.clusterId}::uuid or c.to_cluster_id = ${f.clusterId}::uuid)`);
  return sql<boolean>`${sql.join(parts, sql` and `)}`;
}

export function departuresAtRisk(
  db: Kysely<DB>,
  o: { now: Date; until: Date; operatorOrgId?: string | undefined; corridorId?: string | undefined; clusterId?: string | undefined; mode?: 'rail' | 'barge' | undefined; limit: number },
) {
  const q = db
    .selectFrom('departures as d')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .innerJoin('clusters as o', 'o.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .innerJoin('organisations as op', 'op.id', 'd.operator_org_id')
    .select([
      'd.id', 'd.corridor_id', 'c.code as corridor_code', 'o.code as from_code', 't.code as to_code', 'c.mode', 'd.operator_org_id',
      'op.name as operator_name', 'd.asset_name', 'd.departs_at', 'd.cutoff_at', 'd.capacity_teu', 'd.booked_teu', 'd.held_teu', 'd.min_load_teu',
    ])
    // the optimiser's live proposal for the departure (issue 13: cancel an empty one, or merge it into another), if any
    // (at most one: proposals_live_departure_idx), with the merge's target as a scheduler reads it
    .leftJoin('proposals as p', (j) =>
      j.onRef('p.departure_id', '=', 'd.id').on('p.kind', '=', 'departure').on('p.status', 'in', ['open', 'consenting']),
    )
    .leftJoin('departures as md', 'md.id', 'p.merge_into_departure_id')
    .select([
      'p.id as proposal_id', 'p.action as proposal_action', 'p.status as proposal_status', 'p.merge_into_departure_id',
      'md.asset_name as merge_asset_name', 'md.departs_at as merge_departs_at',
    ])
    .where('d.status', '=', 'scheduled')
    .where('d.cutoff_at', '>', o.now)
    .where('d.cutoff_at', '<=', o.until)
    .whereRef('d.booked_teu', '<', 'd.min_load_teu');
  return q.where(departureScope(o)).orderBy('d.cutoff_at').orderBy('d.id').limit(o.limit).execute();
}

/** Does a corridor / operator organisation with this id exist; a cluster's id by its code. */
export async function corridorKnown(db: Kysely<DB>, id: string): Promise<boolean> {
  return !!(await db.selectFrom('corridors').select('id').where('id', '=', id).executeTakeFirst());
}
export async function operatorKnown(db: Kysely<DB>, id: string): Promise<boolean> {
  return !!(await db.selectFrom('organisations').select('id').where('id', '=', id).where('kind', '=', 'operator').executeTakeFirst());
}
export async function clusterIdOf(db: Kysely<DB>, code: string): Promise<string | undefined> {
  return (await db.selectFrom('clusters').select('id').where('code', '=', code).executeTakeFirst())?.id;
}

export interface SettledState {
  /** stats_settled_version's token (migration 20261203T1600); null: no row (a truncated table): nothing is kept. */
  token: string | null;
  /** The database's UTC day. */
  today: string;
  /** Corridor and cluster codes in the database's order (the answers' order by name). */
  corridorCodes: string[];
  clusterCodes: string[];
}

/** What a part of an answer kept in memory depends on, read in the caller's snapshot (one statement). */
export async function settledState(db: Kysely<DB>): Promise<SettledState> {
  const { rows } = await sql<{ token: string | null; today: string; corridors: string[]; clusters: string[] }>`
    select (select token::text from stats_settled_version where id = 1) as token, to_char(now() at time zone 'UTC', 'YYYY-MM-DD') as today,
           array(select code from corridors order by code) as corridors, array(select code from clusters order by code) as clusters`.execute(db);
  const r = rows[0]!;
  return { token: r.token, today: r.today, corridorCodes: r.corridors, clusterCodes: r.clusters };
}

/** What {@link marketActivity} reads: the scope and filters of the statistics, over (since, now]. */
export interface ActivityFilter extends DepartureScopeFilter {
  since: Date;
  now: Date;
}

/**
 * The market's recent activity: bookings made in (since, now] (by creation: index bookings_created_at_idx) with their
 * TEU and money, those won at auction, and the holds active at `now` (index holds_active_expiry_idx) — two statements.
 */
export async function marketActivity(db: Kysely<DB>, f: ActivityFilter) {
  const booked = db
    .selectFrom('bookings as b')
    .innerJoin('departures as d', 'd.id', 'b.departure_id')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .select([
      sql<number>`count(*)::int`.as('bookings'),
      sql<number>`coalesce(sum(b.teu), 0)::int`.as('teu'),
      sql<string>`coalesce(sum(b.total_cents), 0)::bigint`.as('revenue_cents'),
      sql<number>`(count(*) filter (where b.bid_id is not null))::int`.as('won_at_auction'),
    ])
    .where('b.created_at', '>', f.since)
    .where('b.created_at', '<=', f.now)
    .where(departureScope(f));
  const held = db
    .selectFrom('holds as h')
    .innerJoin('departures as d', 'd.id', 'h.departure_id')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .select([sql<number>`count(*)::int`.as('holds'), sql<number>`coalesce(sum(h.teu), 0)::int`.as('teu')])
    .where('h.status', '=', 'active')
    .where('h.expires_at', '>', f.now)
    .where(departureScope(f));
  const [b, h] = await Promise.all([booked.executeTakeFirstOrThrow(), held.executeTakeFirstOrThrow()]);
  return { bookings: b.bookings, bookedTeu: b.teu, revenueCents: Number(b.revenue_cents), wonAtAuction: b.won_at_auction, activeHolds: h.holds, heldTeu: h.teu };
}
