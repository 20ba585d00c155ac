import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { DB, OptimisationsTable, ProposalsTable } from './schema.ts';
import type { Tx } from './db.ts';

/**
 * The optimiser's tables (issue 13, migration 20261203T1800): optimisations, the one-row lease that lets one of
 * them at a time write a plan, and the proposals a plan is split into. Also what an optimisation reads: the open
 * shipments and the departures they could ride, with their operating costs.
 */

export type OptimisationRow = Selectable<OptimisationsTable>;
export type ProposalRow = Selectable<ProposalsTable>;

export function insertOptimisation(db: Kysely<DB>, values: Insertable<OptimisationsTable>): Promise<OptimisationRow> {
  return db.insertInto('optimisations').values(values).returningAll().executeTakeFirstOrThrow();
}

export function findOptimisation(db: Kysely<DB>, id: string): Promise<OptimisationRow | undefined> {
  return db.selectFrom('optimisations').selectAll().where('id', '=', id).executeTakeFirst();
}

export function recentOptimisations(db: Kysely<DB>, limit: number): Promise<OptimisationRow[]> {
  return db.selectFrom('optimisations').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
}

/** A queued or solving optimisation, if any (the schedule does not pile up runs behind one). */
export function pendingOptimisation(db: Kysely<DB>): Promise<OptimisationRow | undefined> {
  return db.selectFrom('optimisations').selectAll().where('status', 'in', ['queued', 'solving']).orderBy('created_at').limit(1).executeTakeFirst();
}

export async function updateOptimisation(db: Kysely<DB> | Tx, id: string, values: Partial<Insertable<OptimisationsTable>>): Promise<void> {
  await db.updateTable('optimisations').set(values).where('id', '=', id).execute();
}

// ---- the lease ------------------------------------------------------------------------------------------

/** Takes the lease for `ttlMs` when it is free or expired (or already ours); true when taken. */
export async function takeLease(db: Kysely<DB>, token: string, optimisationId: string, ttlMs: number): Promise<boolean> {
  const r = await db
    .updateTable('optimiser_lease')
    .set({ token, optimisation_id: optimisationId, expires_at: sql`now() + ${`${ttlMs} milliseconds`}::interval` })
    .where('id', '=', 1)
    .where((eb) => eb.or([eb('expires_at', '<', sql<Date>`now()`), eb('token', '=', token)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Extends our lease; false when it is no longer ours (expired and taken by another). */
export async function renewLease(db: Kysely<DB>, token: string, ttlMs: number): Promise<boolean> {
  const r = await db
    .updateTable('optimiser_lease')
    .set({ expires_at: sql`now() + ${`${ttlMs} milliseconds`}::interval` })
    .where('id', '=', 1)
    .where('token', '=', token)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function releaseLease(db: Kysely<DB>, token: string): Promise<void> {
  await db.updateTable('optimiser_lease').set({ token: null, expires_at: sql`'-infinity'` }).where('id', '=', 1).where('token', '=', token).execute();
}

/** In the plan's transaction: locks the lease row and says whether it is still ours and unexpired (the fence). */
export async function holdsLease(tx: Tx, token: string): Promise<boolean> {
  const r = await tx
    .selectFrom('optimiser_lease')
    .select(['token', sql<boolean>`expires_at > now()`.as('alive')])
    .where('id', '=', 1)
    .forUpdate()
    .executeTakeFirst();
  return !!r && r.token === token && r.alive;
}

// ---- what an optimisation reads -----------------------------------------------------------------------

/** Shipments the optimiser places: pooled, unplaced or proposed (re-planned), not yet due, oldest deadline first. */
export function openShipments(db: Kysely<DB>, now: Date, limit: number) {
  return db
    .selectFrom('shipments as s')
    .innerJoin('clusters as o', 'o.id', 's.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 's.to_cluster_id')
    .select([
      's.id', 's.forwarder_org_id', 'o.code as from_code', 't.code as to_code', 's.teu', 's.tonnes', 's.ready_at', 's.deliver_by', 's.max_total_cents',
      's.modes', 's.consolidate', 's.status', 's.version',
    ])
    .where('s.status', 'in', ['pooled', 'unplaced', 'proposed'])
    .where('s.deliver_by', '>', now)
    // a shipment whose proposal is being accepted is not re-planned meanwhile
    .where((eb) => eb.not(eb.exists(eb.selectFrom('proposals as p').select('p.id').whereRef('p.shipment_id', '=', 's.id').where('p.status', '=', 'accepting'))))
    .orderBy('s.deliver_by')
    .orderBy('s.id')
    .limit(limit)
    .execute();
}
export type OpenShipmentRow = Awaited<ReturnType<typeof openShipments>>[number];

/**
 * Scheduled departures whose cut-off is after `now` and that leave before `until`, with their load, operating
 * costs (null: not stated) and minimum load.
 */
export function poolDepartures(db: Kysely<DB>, now: Date, until: Date) {
  return db
    .selectFrom('departures as d')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .innerJoin('clusters as o', 'o.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .select([
      'd.id', 'd.operator_org_id', 'd.corridor_id', 'c.mode', 'o.code as origin', 't.code as destination', 'd.departs_at', 'd.arrives_at', 'd.cutoff_at',
      'd.capacity_teu', 'd.capacity_tonnes', 'd.held_teu', 'd.held_tonnes', 'd.booked_teu', 'd.booked_tonnes', 'd.fixed_cost_cents',
      'd.variable_cost_cents_per_teu', 'd.min_load_teu', 'c.distance_km',
    ])
    .where('d.status', '=', 'scheduled')
    .where('d.cutoff_at', '>', now)
    .where('d.departs_at', '<', until)
    .orderBy('d.departs_at')
    .orderBy('d.id')
    .execute();
}
export type PoolDepartureRow = Awaited<ReturnType<typeof poolDepartures>>[number];

// ---- writing a plan ----------------------------------------------------------------------------------

/** The next plan version (under the lease: one writer at a time). */
export async function nextPlanVersion(tx: Tx): Promise<number> {
  const r = await tx.selectFrom('optimisations').select(sql<number>`coalesce(max(plan_version), 0) + 1`.as('v')).executeTakeFirstOrThrow();
  return Number(r.v);
}

/** The open proposals of older plans (under the lease: only the plan being written may change them). */
export function openProposals(tx: Tx): Promise<ProposalRow[]> {
  return tx.selectFrom('proposals').selectAll().where('status', '=', 'open').orderBy('created_at').orderBy('id').execute();
}

/**
 * These proposals → superseded, if still open (one being accepted meanwhile is left to its accept); their shipments
 * back to pooled. Returns the organisations each superseded proposal was addressed to.
 */
export async function supersedeProposals(tx: Tx, ids: string[], now: Date): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await tx
    .updateTable('proposals')
    .set({ status: 'superseded', decided_at: now })
    .where('id', 'in', ids)
    .where('status', '=', 'open')
    .returning(['shipment_id', 'forwarder_org_id', 'operator_org_id'])
    .execute();
  const shipments = rows.map((r) => r.shipment_id).filter((id): id is string => id !== null);
  if (shipments.length) {
    await tx.updateTable('shipments').set({ status: 'pooled', updated_at: now, version: sql`version + 1` }).where('id', 'in', shipments).where('status', '=', 'proposed').execute();
  }
  return rows.map((r) => (r.forwarder_org_id ?? r.operator_org_id)!);
}

/** Lists proposals (new ones and those carried over) as a plan's. */
export async function addToPlan(tx: Tx, optimisationId: string, proposalIds: string[]): Promise<void> {
  for (let i = 0; i < proposalIds.length; i += 1000) {
    await tx.insertInto('plan_proposals').values(proposalIds.slice(i, i + 1000).map((proposal_id) => ({ optimisation_id: optimisationId, proposal_id }))).onConflict((oc) => oc.doNothing()).execute();
  }
}

export async function insertProposals(tx: Tx, rows: Insertable<ProposalsTable>[]): Promise<ProposalRow[]> {
  const out: ProposalRow[] = [];
  for (let i = 0; i < rows.length; i += 500) out.push(...(await tx.insertInto('proposals').values(rows.slice(i, i + 500)).returningAll().execute()));
  return out;
}

/** Shipments' statuses after a plan: proposed (a proposal), unplaced (none) — only those still open. */
export async function setShipmentStatuses(tx: Tx, proposed: string[], unplaced: string[], now: Date): Promise<void> {
  const open = ['pooled', 'unplaced', 'proposed'] as const;
  for (const [status, ids] of [['proposed', proposed], ['unplaced', unplaced]] as const) {
    for (let i = 0; i < ids.length; i += 1000) {
      await tx
        .updateTable('shipments')
        .set({ status, updated_at: now, version: sql`version + 1` })
        .where('id', 'in', ids.slice(i, i + 1000))
        .where('status', 'in', [...open])
        .execute();
    }
  }
}

// ---- proposals --------------------------------------------------------------------------------------------

export function proposalsOf(db: Kysely<DB>, who: { forwarderOrgId?: string; operatorOrgId?: string }, limit: number) {
  let q = db.selectFrom('proposals').selectAll();
  if (who.forwarderOrgId) q = q.where('forwarder_org_id', '=', who.forwarderOrgId);
  if (who.operatorOrgId) q = q.where('operator_org_id', '=', who.operatorOrgId);
  return q.orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
}

export function findProposal(db: Kysely<DB> | Tx, id: string): Promise<ProposalRow | undefined> {
  return db.selectFrom('proposals').selectAll().where('id', '=', id).executeTakeFirst();
}

export function lockProposal(tx: Tx, id: string): Promise<ProposalRow | undefined> {
  return tx.selectFrom('proposals').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Decides a proposal that is open (or being accepted: `from`); false when it was not in that state any more. */
export async function decideProposal(
  tx: Tx,
  id: string,
  v: { status: 'accepted' | 'declined' | 'stale'; by: string | null; now: Date; itineraryId?: string | null; reason?: string | null; from?: ('open' | 'accepting')[] },
): Promise<boolean> {
  const r = await tx
    .updateTable('proposals')
    .set({ status: v.status, decided_at: v.now, decided_by: v.by, itinerary_id: v.itineraryId ?? null, reason: v.reason ?? null })
    .where('id', '=', id)
    .where('status', 'in', v.from ?? ['open'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** An open proposal claimed by an accept (under the proposal's row lock); false when it was not open. */
export async function claimProposal(tx: Tx, id: string): Promise<boolean> {
  const r = await tx.updateTable('proposals').set({ status: 'accepting' }).where('id', '=', id).where('status', '=', 'open').executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * The shipment, locked (after its proposal: the accept path's lock order), with what the accept checks. FOR NO KEY
 * UPDATE, as every shipment lock: the foreign-key checks of rows naming it (offers, proposals) never wait for it.
 */
export function lockShipmentForProposal(tx: Tx, id: string) {
  return tx.selectFrom('shipments').select(['id', 'status', 'version', 'max_total_cents', 'forwarder_org_id']).where('id', '=', id).forNoKeyUpdate().executeTakeFirst();
}

/** Is the shipment's proposal being accepted (its itinerary being booked)? */
export async function beingAccepted(tx: Tx, shipmentId: string): Promise<boolean> {
  return !!(await tx.selectFrom('proposals').select('id').where('shipment_id', '=', shipmentId).where('status', '=', 'accepting').executeTakeFirst());
}


// ---- accepting --------------------------------------------------------------------------------------------

/** A proposed shipment booked as `itineraryId` (only from proposed). */
export async function markShipmentBooked(tx: Tx, id: string, itineraryId: string, now: Date): Promise<boolean> {
  const r = await tx
    .updateTable('shipments')
    .set({ status: 'booked', itinerary_id: itineraryId, updated_at: now, version: sql`version + 1` })
    .where('id', '=', id)
    .where('status', '=', 'proposed')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** A declined or stale proposal's shipment back to the pool (only from proposed). */
export async function returnShipmentToPool(tx: Tx, id: string, now: Date): Promise<void> {
  await tx.updateTable('shipments').set({ status: 'pooled', updated_at: now, version: sql`version + 1` }).where('id', '=', id).where('status', '=', 'proposed').execute();
}

/**
 * Cancels a scheduled departure that nobody is on (no booking, no hold), with its open listings, in the caller's
 * transaction (row locked first). Returns its corridor, or null when it is not empty or not scheduled any more.
 */
export async function cancelEmptyDeparture(tx: Tx, id: string): Promise<{ corridorId: string } | null> {
  const d = await tx.selectFrom('departures').select(['corridor_id', 'status', 'held_teu', 'booked_teu']).where('id', '=', id).forUpdate().executeTakeFirst();
  if (!d || d.status !== 'scheduled' || d.held_teu > 0 || d.booked_teu > 0) return null;
  await tx.updateTable('departures').set({ status: 'cancelled', updated_at: new Date() }).where('id', '=', id).execute();
  await tx.updateTable('listings').set({ status: 'cancelled' }).where('departure_id', '=', id).where('status', '=', 'open').execute();
  return { corridorId: d.corridor_id };
}

/** The shipments a plan is about to propose, locked, with their version and status now. */
export function lockShipments(tx: Tx, ids: string[]) {
  if (ids.length === 0) return Promise.resolve([]);
  return tx.selectFrom('shipments').select(['id', 'version', 'status']).where('id', 'in', ids).orderBy('id').forNoKeyUpdate().execute();
}

/**
 * The proposals of some optimisations (an operator: its own only), oldest first per optimisation, each with the plan
 * it is listed for (`plan_id`): a proposal carried over by later plans is listed for each of them.
 */
export function proposalsOfOptimisations(db: Kysely<DB>, ids: string[], operatorOrgId?: string) {
  if (ids.length === 0) return Promise.resolve([]);
  let q = db
    .selectFrom('plan_proposals as pp')
    .innerJoin('proposals as p', 'p.id', 'pp.proposal_id')
    .selectAll('p')
    .select('pp.optimisation_id as plan_id')
    .where('pp.optimisation_id', 'in', ids);
  if (operatorOrgId) q = q.where('p.operator_org_id', '=', operatorOrgId);
  return q.orderBy('pp.optimisation_id').orderBy('p.created_at').orderBy('p.id').execute();
}

/**
 * A shipment's open proposal closed by its forwarder's own act, in the same transaction: `superseded` when the
 * shipment was changed (the plan no longer applies), `stale` when it was withdrawn.
 */
export async function closeProposalOf(tx: Tx, shipmentId: string, status: 'superseded' | 'stale', now: Date, reason: string): Promise<void> {
  await tx.updateTable('proposals').set({ status, decided_at: now, reason }).where('shipment_id', '=', shipmentId).where('status', '=', 'open').execute();
}
