import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { DepartureFacts, PooledShipment, WatchCriteria, WatchMode } from '../../core/watches.ts';
import type { JobDataMap } from '../queue/jobs.ts';
import type { DB, WatchesTable, WatchMatchesTable } from './schema.ts';
import { listingsOnDepartures } from './listings-repo.ts';
import type { Tx } from './db.ts';

export type WatchRow = Selectable<WatchesTable>;
export type WatchMatchRow = Selectable<WatchMatchesTable>;

/** A watch row as the pure core reads it. */
export function toCriteria(w: WatchRow): WatchCriteria {
  return {
    id: w.id,
    orgId: w.org_id,
    from: w.from_code,
    to: w.to_code,
    corridorId: w.corridor_id,
    modes: (w.modes as WatchMode[] | null) ?? null,
    departsAfter: w.departs_after,
    departsBefore: w.departs_before,
    minTeu: w.min_teu,
    minTonnes: w.min_tonnes,
    maxUnitPriceCents: w.max_unit_price_cents,
    createdAt: w.created_at,
  };
}

export function insertWatch(db: Kysely<DB>, values: Insertable<WatchesTable>): Promise<WatchRow> {
  return db.insertInto('watches').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function countActiveWatches(db: Kysely<DB>, orgId: string): Promise<number> {
  const r = await db.selectFrom('watches').select(sql<number>`count(*)::int`.as('n')).where('org_id', '=', orgId).where('status', '=', 'active').executeTakeFirstOrThrow();
  return r.n;
}

/** An organisation's active watches, newest first. */
export function activeWatchesOfOrg(db: Kysely<DB>, orgId: string): Promise<WatchRow[]> {
  return db.selectFrom('watches').selectAll().where('org_id', '=', orgId).where('status', '=', 'active').orderBy('created_at', 'desc').execute();
}

/** The latest `perWatch` matches of each watch, newest first. */
export async function latestMatches(db: Kysely<DB>, watchIds: string[], perWatch = 20): Promise<WatchMatchRow[]> {
  if (watchIds.length === 0) return [];
  const r = await sql<WatchMatchRow>`
    select * from (
      select m.*, row_number() over (partition by m.watch_id order by m.created_at desc, m.id) as n
        from watch_matches m where m.watch_id = any(${watchIds}::uuid[])
    ) x where x.n <= ${perWatch} order by x.created_at desc, x.id`.execute(db);
  return r.rows.map((row) => ({ ...row, created_at: new Date(row.created_at) }));
}

/** Marks an organisation's active watch deleted; undefined when there is none such. */
export function deleteWatchOfOrg(db: Kysely<DB>, id: string, orgId: string, now: Date) {
  return db
    .updateTable('watches')
    .set({ status: 'deleted', deleted_at: now })
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .returning('id')
    .executeTakeFirst();
}

/** Active watches that may cover a departure (route prefilter in SQL; the core decides the rest). */
export async function candidateWatches(db: Kysely<DB>, d: Pick<DepartureFacts, 'corridorId' | 'origin' | 'destination'>): Promise<WatchCriteria[]> {
  const rows = await db
    .selectFrom('watches')
    .selectAll()
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('corridor_id', 'is', null), eb('corridor_id', '=', d.corridorId)]))
    .where((eb) => eb.or([eb('from_code', 'is', null), eb('from_code', '=', d.origin)]))
    .where((eb) => eb.or([eb('to_code', 'is', null), eb('to_code', '=', d.destination)]))
    .orderBy('created_at')
    .limit(5000)
    .execute();
  return rows.map(toCriteria);
}

/** A departure with what watches look at (ends, mode, times) and its load. */
export function departureForWatches(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('departures as d')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .innerJoin('clusters as o', 'o.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .select([
      'd.id', 'd.corridor_id', 'd.departs_at', 'd.cutoff_at', 'd.arrives_at', 'd.status', 'd.seq', 'd.capacity_teu', 'd.capacity_tonnes', 'd.held_teu',
      'd.held_tonnes', 'd.booked_teu', 'd.booked_tonnes', 'c.mode', 'o.code as origin', 't.code as destination',
    ])
    .where('d.id', '=', id)
    .executeTakeFirst();
}
export type DepartureForWatches = NonNullable<Awaited<ReturnType<typeof departureForWatches>>>;

export function factsOf(d: Pick<DepartureForWatches, 'corridor_id' | 'origin' | 'destination' | 'mode' | 'departs_at' | 'cutoff_at' | 'arrives_at'>): DepartureFacts {
  return { corridorId: d.corridor_id, origin: d.origin, destination: d.destination, mode: d.mode, departsAt: d.departs_at, cutoffAt: d.cutoff_at, arrivesAt: d.arrives_at };
}

/**
 * Shipments waiting in the pool (pooled or unplaced, not yet proposed) between a departure's ends, by its mode, still
 * deliverable: the route prefilter in SQL, the core decides the rest (issue 14: pooled shipments are offered freed
 * capacity like watches).
 */
export async function candidateShipments(db: Kysely<DB>, d: Pick<DepartureFacts, 'origin' | 'destination' | 'mode'>, now: Date): Promise<PooledShipment[]> {
  const rows = await db
    .selectFrom('shipments as s')
    .innerJoin('clusters as o', 'o.id', 's.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 's.to_cluster_id')
    .select(['s.id', 's.forwarder_org_id', 's.teu', 's.tonnes', 's.ready_at', 's.deliver_by', 's.max_total_cents', 's.modes', 's.created_at', 'o.code as from_code', 't.code as to_code'])
    .where('s.status', 'in', ['pooled', 'unplaced'])
    .where('o.code', '=', d.origin)
    .where('t.code', '=', d.destination)
    .where(sql<boolean>`${d.mode} = any(s.modes)`)
    .where('s.deliver_by', '>', now)
    // one lot at a time: a shipment with an open offer is not offered another (claimShipmentForOffer decides)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('offers as o').select('o.id').whereRef('o.shipment_id', '=', 's.id').where('o.status', '=', 'open'))))
    .orderBy('s.created_at')
    .limit(5000)
    .execute();
  return rows.map((r) => ({
    id: r.id, orgId: r.forwarder_org_id, from: r.from_code, to: r.to_code, modes: r.modes, teu: r.teu, tonnes: r.tonnes, readyAt: r.ready_at,
    deliverBy: r.deliver_by, maxTotalCents: Number(r.max_total_cents), createdAt: r.created_at,
  }));
}

/**
 * Open fixed and falling listings, already open, on departures still selling that a watch's route, mode and window
 * cover and that could satisfy its size and price (the SQL prefilter: enough TEU left on the listing and free on the
 * departure, enough tonnes free, a fixed price or a falling floor within its maximum; the core decides at today's
 * price): each with its departure's facts and load. At most `limit`, soonest first.
 */
export function openListingsForWatch(db: Kysely<DB>, w: WatchCriteria, now: Date, limit: number) {
  let q = listingsOnDepartures(db)
    .where('l.status', '=', 'open')
    .where('l.format', 'in', ['fixed', 'falling'])
    .where((eb) => eb.or([eb('l.opens_at', 'is', null), eb('l.opens_at', '<=', now)]))
    .where('d.status', '=', 'scheduled')
    .where('d.cutoff_at', '>', now);
  if (w.corridorId !== null) q = q.where('d.corridor_id', '=', w.corridorId);
  if (w.from !== null) q = q.where('o.code', '=', w.from);
  if (w.to !== null) q = q.where('t.code', '=', w.to);
  if (w.modes !== null && w.modes.length > 0) q = q.where('c.mode', 'in', [...w.modes]);
  if (w.departsAfter !== null) q = q.where('d.departs_at', '>=', w.departsAfter);
  if (w.departsBefore !== null) q = q.where('d.departs_at', '<=', w.departsBefore);
  q = q.where('l.remaining_teu', '>=', w.minTeu).where(sql<boolean>`d.capacity_teu - d.held_teu - d.booked_teu >= ${w.minTeu}`);
  if (w.minTonnes !== null) q = q.where(sql<boolean>`d.capacity_tonnes - d.held_tonnes - d.booked_tonnes >= ${w.minTonnes}`);
  if (w.maxUnitPriceCents !== null) {
    const max = w.maxUnitPriceCents;
    q = q.where((eb) => eb.or([
      eb.and([eb('l.format', '=', 'fixed'), eb('l.unit_price_cents', '<=', max)]),
      eb.and([eb('l.format', '=', 'falling'), eb(sql`coalesce(l.floor_price_cents, l.unit_price_cents)`, '<=', max)]),
    ]));
  }
  return q.orderBy('d.departs_at').orderBy('l.id').limit(limit).execute();
}

/** The departure's open fixed and falling listings (those a forwarder can hold on). */
export function openHoldableListings(db: Kysely<DB>, departureId: string) {
  return db.selectFrom('listings').selectAll().where('departure_id', '=', departureId).where('status', '=', 'open').where('format', 'in', ['fixed', 'falling']).execute();
}

/** Inserts matches, each once per (watch, departure, listing, key): returns only the rows this call inserted. */
export function insertMatches(db: Kysely<DB>, rows: Insertable<WatchMatchesTable>[]): Promise<WatchMatchRow[]> {
  if (rows.length === 0) return Promise.resolve([]);
  return db
    .insertInto('watch_matches')
    .values(rows)
    .onConflict((oc) => oc.constraint('watch_matches_once_key').doNothing())
    .returningAll()
    .execute();
}

/**
 * Asks for a `watches.match` job in the caller's transaction (job outbox), only when some watch is active: one cheap
 * statement, and nothing at all while nobody watches (unless the job is due later: a watch may be saved meanwhile). `jobId` from the change (departure + seq, listing, price); `runAt`
 * delays it (a new listing that opens later is news when it opens).
 */
export async function queueWatchMatch(db: Kysely<DB> | Tx, data: JobDataMap['watches.match'], jobId: string, runAt?: Date | null): Promise<void> {
  await sql`
    insert into outbox (job_name, job_id, data, run_at)
    select 'watches.match', ${jobId}, ${JSON.stringify(data)}::jsonb, coalesce(${runAt ?? null}::timestamptz, now())
     where exists (select 1 from watches where status = 'active')
        or ${runAt ?? null}::timestamptz > now() -- a watch may be saved before the job is due
    on conflict (job_id) do nothing`.execute(db);
}
