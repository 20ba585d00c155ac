import { sql, type Kysely } from 'kysely';
import { totalCents } from '../../core/pricing.ts';
import type { Hold, HoldWithDeparture, OperatorHold } from '../../domain/schemas/trade.ts';
import type { Scope } from '../../domain/principal.ts';
import { departureBriefs, toDepartureBrief } from './departure-brief.ts';
import type { DepartureLoad } from './departures-repo.ts';
import type { DB } from './schema.ts';
import type { Tx } from './db.ts';

const HOLD_COLUMNS = ['id', 'listing_id', 'departure_id', 'teu', 'tonnes', 'unit_price_cents', 'status', 'expires_at', 'created_at'] as const;

type HoldRow = {
  id: string;
  listing_id: string;
  departure_id: string;
  teu: number;
  tonnes: number;
  unit_price_cents: number;
  status: string;
  expires_at: Date;
  created_at: Date;
};

/** The public `Hold` shape of API.md. */
export function toHold(h: HoldRow): Hold {
  return {
    id: h.id,
    listingId: h.listing_id,
    departureId: h.departure_id,
    teu: h.teu,
    tonnes: h.tonnes,
    unitPriceCents: h.unit_price_cents,
    totalCents: totalCents(h.unit_price_cents, h.teu),
    status: h.status,
    expiresAt: h.expires_at.toISOString(),
    createdAt: h.created_at.toISOString(),
  };
}

/** One hold to place, as cx_place_holds_multi takes it (ids of the actor: '' when there is none). */
export interface HoldItem {
  listingId: string;
  teu: number;
  tonnes: number;
  unitPriceCents: number;
  /** Only a fallback of the SQL function: the expiry is the database clock at commit + the TTL. */
  expiresAt: string;
  orgId: string;
  userId: string;
  apiKeyId: string;
}
/** One item's decision. `expiresAt`: set by the database clock at commit (the TTL from then), not by the request's start. */
export type HoldItemResult = { status: string; id?: string; listingRemaining?: number; expiresAt?: string };
/** The decisions of one departure's items (in their order) and the departure's load after them. */
type DepartureHoldResults = { departureId: string; results: HoldItemResult[]; departure: DepartureLoad };

/**
 * Places holds on any number of departures in ONE statement (cx_place_holds_multi, migration 20261203T0900):
 * departures locked in id order, each decided on its own (capacity in TEU and tonnes, cut-off, ≥ 1 t per TEU,
 * the per-organisation held share), holds and audit entries inserted. A refusal is a result, never an error.
 */
export async function placeHoldsMulti(
  db: Kysely<DB>,
  batches: { departureId: string; items: HoldItem[] }[],
  at: Date,
  ttlMs: number,
  maxSharePct: number,
): Promise<DepartureHoldResults[]> {
  const r = await sql<{ r: { departureId: string; r: { results: HoldItemResult[]; departure: DepartureLoad } }[] }>`select cx_place_holds_multi(${JSON.stringify(batches)}::jsonb, ${at}, ${ttlMs}::bigint, ${maxSharePct}::int) as r`.execute(db);
  return r.rows[0]!.r.map(({ departureId, r: res }) => ({ departureId, results: res.results, departure: res.departure }));
}

/** A hold's owner, state, departure and itinerary (undefined: no such hold). */
export function findHold(db: Kysely<DB>, id: string) {
  return db.selectFrom('holds').select(['org_id', 'status', 'expires_at', 'departure_id', 'itinerary_id']).where('id', '=', id).executeTakeFirst();
}

/**
 * Ends an active hold (the caller has locked its departure): `expired` only once it is due, `released` only
 * by `ownerOrgId` when given. Undefined when nothing matched.
 */
export function endActiveHold(tx: Tx, id: string, how: 'released' | 'expired' | 'cancelled', now: Date, ownerOrgId?: string) {
  let q = tx.updateTable('holds').set({ status: how, ended_at: now }).where('id', '=', id).where('status', '=', 'active');
  if (how === 'expired') q = q.where('expires_at', '<=', now);
  if (ownerOrgId !== undefined) q = q.where('org_id', '=', ownerOrgId);
  return q.returning([...HOLD_COLUMNS, 'org_id']).executeTakeFirst();
}

/** The departure, listing and itinerary of an organisation's hold (undefined: not its hold). */
export function holdRefOfOrg(tx: Tx, id: string, orgId: string) {
  return tx.selectFrom('holds').select(['departure_id', 'listing_id', 'itinerary_id']).where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
}

/** Marks an organisation's active, not yet due hold confirmed; undefined when it is not (any more). */
export function confirmActiveHold(tx: Tx, id: string, orgId: string, now: Date) {
  return tx
    .updateTable('holds')
    .set({ status: 'confirmed', ended_at: now })
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .where('expires_at', '>', now)
    .returning(['id', 'listing_id', 'departure_id', 'teu', 'tonnes', 'unit_price_cents'])
    .executeTakeFirst();
}

/** An organisation's active holds that are not yet due, soonest expiry first, each with its departure. */
export async function activeHoldsOfOrg(db: Kysely<DB>, orgId: string, now: Date): Promise<HoldWithDeparture[]> {
  const rows = await db
    .selectFrom('holds as h')
    .innerJoin(departureBriefs(db).as('dep'), 'dep.dep_id', 'h.departure_id')
    .select(HOLD_COLUMNS.map((c) => `h.${c}` as const))
    .selectAll('dep')
    .where('h.org_id', '=', orgId)
    .where('h.status', '=', 'active')
    .where('h.expires_at', '>', now)
    .orderBy('h.expires_at')
    .execute();
  return rows.map((r) => ({ ...toHold(r), departure: toDepartureBrief(r) }));
}

/**
 * Active, not yet due holds on the departures a scope sees (a non-`all` scope: those its organisation operates),
 * soonest expiry first, with the holder's organisation and the departure.
 */
export async function activeHoldsOnDepartures(db: Kysely<DB>, scope: Scope, now: Date, limit = 500): Promise<OperatorHold[]> {
  let q = db
    .selectFrom('holds as h')
    .innerJoin(departureBriefs(db).as('dep'), 'dep.dep_id', 'h.departure_id')
    .innerJoin('organisations as f', 'f.id', 'h.org_id')
    .select(['h.id', 'h.departure_id', 'h.listing_id', 'h.teu', 'h.tonnes', 'h.unit_price_cents', 'h.expires_at', 'h.created_at', 'h.org_id', 'f.name as org_name'])
    .selectAll('dep')
    .where('h.status', '=', 'active')
    .where('h.expires_at', '>', now);
  if (scope.kind !== 'all') q = q.where('dep.dep_operator_org_id', '=', scope.orgId);
  const rows = await q.orderBy('h.expires_at').limit(limit).execute();
  return rows.map((h) => ({
    id: h.id,
    departureId: h.departure_id,
    listingId: h.listing_id,
    teu: h.teu,
    tonnes: h.tonnes,
    expiresAt: h.expires_at.toISOString(),
    forwarderOrgId: h.org_id,
    forwarderOrgName: h.org_name,
    unitPriceCents: h.unit_price_cents,
    totalCents: totalCents(h.unit_price_cents, h.teu),
    createdAt: h.created_at.toISOString(),
    departure: toDepartureBrief(h),
  }));
}

export function activeHoldIdsOfListing(db: Kysely<DB>, listingId: string) {
  return db.selectFrom('holds').select('id').where('listing_id', '=', listingId).where('status', '=', 'active').execute();
}

/** Active holds past their time, oldest due first, leaving out `skip`. */
export function dueHoldIds(db: Kysely<DB>, now: Date, skip: string[], limit = 1000) {
  let q = db.selectFrom('holds').select('id').where('status', '=', 'active').where('expires_at', '<=', now);
  if (skip.length) q = q.where('id', 'not in', skip);
  return q.orderBy('expires_at').limit(limit).execute();
}
