import { sql, type Insertable, type Kysely } from 'kysely';
import type { OnSaleTerms, SaleFormat } from '../../core/on-sale.ts';
import type { Scope } from '../../domain/principal.ts';
import type { DB, DeparturesTable } from './schema.ts';
import type { Tx } from './db.ts';
import { departureJoins } from './departure-brief.ts';

/** Reusable query fragment: a departure with its corridor ends, mode and operator name. */
export function departureQuery(db: Kysely<DB>) {
  return departureJoins(db).select([
      'd.id', 'd.corridor_id', 'd.operator_org_id', 'd.service_id', 'd.asset_name', 'd.departs_at', 'd.arrives_at',
      'd.cutoff_at', 'd.capacity_teu', 'd.capacity_tonnes', 'd.held_teu', 'd.held_tonnes', 'd.booked_teu',
      'd.booked_tonnes', 'd.seq', 'd.status', 'd.reefer_plugs', 'd.dangerous_goods', 'd.min_load_teu',
      'c.mode', 'c.code as corridor_code', 'c.distance_km', 'o.code as origin', 't.code as destination', 'op.name as operator_name',
    ]);
}

type DepartureJoined = Awaited<ReturnType<ReturnType<typeof departureQuery>['executeTakeFirstOrThrow']>>;

/** The public `Departure` shape of API.md (plus a few extra fields). */
export function toDeparture(r: DepartureJoined) {
  return {
    id: r.id,
    corridorId: r.corridor_id,
    corridorCode: r.corridor_code,
    mode: r.mode,
    origin: r.origin,
    destination: r.destination,
    distanceKm: r.distance_km,
    departsAt: r.departs_at.toISOString(),
    arrivesAt: r.arrives_at.toISOString(),
    cutoffAt: r.cutoff_at.toISOString(),
    capacityTeu: r.capacity_teu,
    capacityTonnes: r.capacity_tonnes,
    freeTeu: r.capacity_teu - r.held_teu - r.booked_teu,
    freeTonnes: r.capacity_tonnes - r.held_tonnes - r.booked_tonnes,
    heldTeu: r.held_teu,
    bookedTeu: r.booked_teu,
    seq: Number(r.seq),
    status: r.status,
    operatorOrgId: r.operator_org_id,
    operatorName: r.operator_name,
    assetName: r.asset_name,
    reeferPlugs: r.reefer_plugs,
    dangerousGoods: r.dangerous_goods,
    minLoadTeu: r.min_load_teu,
  };
}

/** A falling listing's price schedule as the on-sale aggregate returns it (JSON: its start as epoch milliseconds). */
interface FallingTermsJson {
  start: number;
  floor: number | null;
  step: number | null;
  every: number | null;
  startsAtMs: number;
}

/**
 * Reusable query fragment: {@link departureQuery} with the aggregate of what the departure has ON SALE at `now` —
 * its listings open now: status `open` with TEU left, opened (`opensAt` not in the future), auctions not past their
 * (latest) close, on a scheduled departure before its cut-off. One lateral aggregate per departure in the same
 * statement (no query per row); columns `on_sale_*`. A falling listing's price depends on the time, so the aggregate
 * returns its schedule and the service prices it with the pure core (server/core/on-sale.ts).
 */
export function departureOnSaleQuery(db: Kysely<DB>, now: Date) {
  // one pass over the departure's open listings: what is on sale now (opened, TEU left, an auction not closed, the
  // departure still selling) in FILTERed aggregates, and what they all still offer, opened or not (listed_teu: a new
  // listing may offer only what is left, unpromisedTeu)
  const onSale = sql<boolean>`(ls.remaining_teu > 0
    and (ls.opens_at is null or ls.opens_at <= ${now})
    and (ls.format in ('fixed', 'falling') or least(ls.closes_at, coalesce(ls.max_close_at, ls.closes_at)) > ${now})
    and d.status = 'scheduled' and d.cutoff_at > ${now})`;
  return departureQuery(db)
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('listings as ls')
          .select([
            sql<number>`coalesce(sum(ls.remaining_teu) filter (where ${onSale}), 0)::int`.as('teu'),
            sql<number | null>`min(ls.unit_price_cents) filter (where ${onSale} and ls.format = 'fixed')`.as('fixed_min_cents'),
            sql<FallingTermsJson[] | null>`jsonb_agg(jsonb_build_object(
              'start', ls.unit_price_cents, 'floor', ls.floor_price_cents, 'step', ls.step_cents, 'every', ls.step_every_minutes,
              'startsAtMs', floor(extract(epoch from coalesce(ls.opens_at, ls.created_at)) * 1000)::bigint
            )) filter (where ${onSale} and ls.format = 'falling' and ls.unit_price_cents is not null)`.as('falling'),
            sql<string[] | null>`array_agg(distinct ls.format::text order by ls.format::text) filter (where ${onSale})`.as('formats'),
            sql<Date | null>`min(least(ls.closes_at, coalesce(ls.max_close_at, ls.closes_at))) filter (where ${onSale} and ls.format in ('ascending', 'sealed'))`.as('next_close_at'),
            sql<number>`coalesce(sum(ls.remaining_teu), 0)::int`.as('listed_teu'),
          ])
          .whereRef('ls.departure_id', '=', 'd.id')
          .where('ls.status', '=', 'open')
          .as('os'),
      (join) => join.onTrue(),
    )
    .select([
      'os.teu as on_sale_teu', 'os.fixed_min_cents as on_sale_fixed_min_cents', 'os.falling as on_sale_falling', 'os.formats as on_sale_formats',
      'os.next_close_at as on_sale_next_close_at', 'os.listed_teu as listed_teu',
    ]);
}

/** The on-sale columns of a row of {@link departureOnSaleQuery}. */
export interface OnSaleColumns {
  on_sale_teu: number | null;
  on_sale_fixed_min_cents: number | null;
  on_sale_falling: FallingTermsJson[] | null;
  on_sale_formats: string[] | null;
  on_sale_next_close_at: Date | null;
  listed_teu: number | null;
}

/**
 * The terms of a departure's on-sale summary from a row of {@link departureOnSaleQuery}; a falling listing's schedule
 * with the defaults `currentUnitPrice` (listings-repo) prices it with.
 */
export function onSaleTermsOf(r: OnSaleColumns): OnSaleTerms {
  return {
    teu: r.on_sale_teu ?? 0,
    fixedMinCents: r.on_sale_fixed_min_cents ?? null,
    falling: (r.on_sale_falling ?? []).map((f) => ({
      startPriceCents: Number(f.start),
      floorPriceCents: Number(f.floor ?? f.start),
      stepCents: Number(f.step ?? 0),
      stepEveryMinutes: Number(f.every ?? 60),
      startsAt: new Date(Number(f.startsAtMs)),
    })),
    formats: (r.on_sale_formats ?? []) as SaleFormat[],
    nextCloseAt: r.on_sale_next_close_at ?? null,
  };
}

/** The departure row columns that describe its load (availability), as the conditional updates return them. */
export type DepartureLoad = {
  id: string;
  corridor_id: string;
  operator_org_id: string;
  seq: number;
  capacity_teu: number;
  capacity_tonnes: number;
  held_teu: number;
  held_tonnes: number;
  booked_teu: number;
  booked_tonnes: number;
};
const DEPARTURE_LOAD = [
  'id', 'corridor_id', 'operator_org_id', 'seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes',
] as const;

/** One departure by id, with its joins and what it has on sale at `now` (the public shape's source). */
export function findDeparture(db: Kysely<DB>, id: string, now: Date) {
  return departureOnSaleQuery(db, now).where('d.id', '=', id).executeTakeFirst();
}

/**
 * Departures from `since` on, in departure order, with what they have on sale at `now`; a non-`all` scope sees only
 * those its organisation operates.
 */
export function departuresOfScope(db: Kysely<DB>, scope: Scope, since: Date, now: Date, limit = 500) {
  let q = departureOnSaleQuery(db, now).where('d.departs_at', '>=', since);
  if (scope.kind !== 'all') q = q.where('d.operator_org_id', '=', scope.orgId);
  return q.orderBy('d.departs_at').limit(limit).execute();
}

/** What a new listing needs to know about its departure. */
export function departureForListing(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('departures')
    .select(['id', 'operator_org_id', 'corridor_id', 'cutoff_at', 'capacity_teu', 'status'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/**
 * Takes the departure's row lock: the first step of every capacity path (lock order: departure, then
 * listing), so concurrent changes of one departure's load are serialised.
 */
export async function lockDeparture(tx: Tx, id: string): Promise<void> {
  await tx.selectFrom('departures').select('id').where('id', '=', id).forUpdate().execute();
}

/** Locks the departure and reads the terms of what it has promised (capacity, booked, held TEU). */
export function lockDepartureLoad(tx: Tx, id: string) {
  return tx.selectFrom('departures').select(['capacity_teu', 'booked_teu', 'held_teu']).where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
}

export async function insertDeparture(tx: Tx, values: Insertable<DeparturesTable>): Promise<string> {
  const d = await tx.insertInto('departures').values(values).returning('id').executeTakeFirstOrThrow();
  return d.id;
}

/**
 * Gives held or booked capacity back to the departure (the caller's transaction has already locked it) and
 * bumps its `seq`. Returns its new load.
 */
export function releaseLoad(tx: Tx, kind: 'held' | 'booked', departureId: string, teu: number, tonnes: number, now: Date): Promise<DepartureLoad> {
  return tx
    .updateTable('departures')
    .set(
      kind === 'held'
        ? { held_teu: sql`held_teu - ${teu}`, held_tonnes: sql`held_tonnes - ${tonnes}`, seq: sql`seq + 1`, updated_at: now }
        : { booked_teu: sql`booked_teu - ${teu}`, booked_tonnes: sql`booked_tonnes - ${tonnes}`, seq: sql`seq + 1`, updated_at: now },
    )
    .where('id', '=', departureId)
    .returning(DEPARTURE_LOAD)
    .executeTakeFirstOrThrow();
}

/** A confirmation: held capacity becomes booked (the departure's load is unchanged, so is its `seq`). */
export function moveHeldToBooked(tx: Tx, departureId: string, teu: number, tonnes: number, now: Date) {
  return tx
    .updateTable('departures')
    .set({
      held_teu: sql`held_teu - ${teu}`,
      held_tonnes: sql`held_tonnes - ${tonnes}`,
      booked_teu: sql`booked_teu + ${teu}`,
      booked_tonnes: sql`booked_tonnes + ${tonnes}`,
      updated_at: now,
    })
    .where('id', '=', departureId)
    .returning(['operator_org_id', 'corridor_id'])
    .executeTakeFirstOrThrow();
}

/** A departure's operator organisation. */
export async function departureOperator(db: Kysely<DB>, id: string): Promise<string> {
  return (await db.selectFrom('departures').select('operator_org_id').where('id', '=', id).executeTakeFirstOrThrow()).operator_org_id;
}

export async function corridorExists(db: Kysely<DB>, id: string): Promise<boolean> {
  return !!(await db.selectFrom('corridors').select('id').where('id', '=', id).executeTakeFirst());
}

/** A corridor's mode, distance and the coordinates of its two clusters (for CO2e figures). */
export function corridorRoute(db: Kysely<DB>, corridorId: string) {
  return db
    .selectFrom('corridors as c')
    .innerJoin('clusters as f', 'f.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .select(['c.mode', 'c.distance_km', 'f.lat as flat', 'f.lon as flon', 't.lat as tlat', 't.lon as tlon'])
    .where('c.id', '=', corridorId)
    .executeTakeFirstOrThrow();
}

/** What the availability cache holds of a departure: its load and its open fixed / falling listings. */
export async function availabilitySnapshot(db: Kysely<DB>, departureId: string) {
  const dep = await db
    .selectFrom('departures')
    .select(['seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes', 'cutoff_at', 'status'])
    .where('id', '=', departureId)
    .executeTakeFirst();
  if (!dep) return undefined;
  const listings = await db
    .selectFrom('listings')
    .select(['id', 'remaining_teu'])
    .where('departure_id', '=', departureId)
    .where('status', '=', 'open')
    .where('format', 'in', ['fixed', 'falling'])
    .execute();
  return { dep, listings };
}

// --- operating costs (issue 13, the pool) -----------------------------------------------------------------

/** A departure's operating costs, minimum load and what bounds them (its operator, capacity, status). */
export function departureCosts(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('departures')
    .select(['id', 'operator_org_id', 'capacity_teu', 'status', 'min_load_teu', 'fixed_cost_cents', 'variable_cost_cents_per_teu'])
    .where('id', '=', id)
    .executeTakeFirst();
}
export type DepartureCostsRow = NonNullable<Awaited<ReturnType<typeof departureCosts>>>;

/** Row-locks a departure and reads its operating costs (undefined: no such departure). */
export function lockDepartureCosts(tx: Tx, id: string) {
  return tx
    .selectFrom('departures')
    .select(['id', 'operator_org_id', 'capacity_teu', 'status', 'min_load_teu', 'fixed_cost_cents', 'variable_cost_cents_per_teu'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** States a (locked) departure's operating costs and minimum load. Its load and `seq` are untouched. */
export function setOperatingCosts(tx: Tx, id: string, c: { fixedCostCents: number; variableCostCentsPerTeu: number; minLoadTeu: number }, now: Date) {
  return tx
    .updateTable('departures')
    .set({ fixed_cost_cents: c.fixedCostCents, variable_cost_cents_per_teu: c.variableCostCentsPerTeu, min_load_teu: c.minLoadTeu, updated_at: now })
    .where('id', '=', id)
    .returning(['id', 'operator_org_id', 'capacity_teu', 'status', 'min_load_teu', 'fixed_cost_cents', 'variable_cost_cents_per_teu'])
    .executeTakeFirstOrThrow();
}

/**
 * The demo seed: gives weekly services their operating costs where none are stated yet, then every departure of
 * such a service that has none its service's figures (new departures get them from a trigger, migration
 * 20261203T1700). Idempotent: stated figures are never overwritten. Returns how many departures it filled.
 */
export async function seedOperatingCosts(db: Kysely<DB>, rows: { code: string; fixedCostCents: number; variableCostCentsPerTeu: number }[]): Promise<number> {
  if (rows.length === 0) return 0;
  await sql`
    update services s set fixed_cost_cents = v.fixed, variable_cost_cents_per_teu = v.variable
      from unnest(${rows.map((r) => r.code)}::text[], ${rows.map((r) => r.fixedCostCents)}::bigint[], ${rows.map((r) => r.variableCostCentsPerTeu)}::int[])
           as v(code, fixed, variable)
     where s.code = v.code and s.fixed_cost_cents is null and s.variable_cost_cents_per_teu is null`.execute(db);
  const r = await sql`
    update departures d set fixed_cost_cents = s.fixed_cost_cents, variable_cost_cents_per_teu = s.variable_cost_cents_per_teu
      from services s
     where d.service_id = s.id and d.fixed_cost_cents is null and d.variable_cost_cents_per_teu is null
       and s.fixed_cost_cents is not null and s.variable_cost_cents_per_teu is not null`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
