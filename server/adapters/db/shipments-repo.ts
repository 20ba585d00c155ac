import { sql, type Insertable, type Kysely, type Selectable, type Updateable } from 'kysely';
import type { Mode } from '../../domain/enums.ts';
import type { Scope } from '../../domain/principal.ts';
import type { DB, ShipmentsTable } from './schema.ts';
import type { Tx } from './db.ts';

export type ShipmentRow = Selectable<ShipmentsTable>;
type ShipmentStatus = ShipmentRow['status'];

/** A shipment with its clusters' codes (the public shape's source). */
function shipmentQuery(db: Kysely<DB>) {
  return db
    .selectFrom('shipments as s')
    .innerJoin('clusters as o', 'o.id', 's.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 's.to_cluster_id')
    .selectAll('s')
    .select(['o.code as from_code', 't.code as to_code']);
}
export type ShipmentJoined = Awaited<ReturnType<ReturnType<typeof shipmentQuery>['executeTakeFirstOrThrow']>>;

/** The ids of these cluster codes (a code that is no cluster is missing from the map). */
export async function clusterIdsByCode(db: Kysely<DB>, codes: string[]): Promise<Map<string, string>> {
  if (codes.length === 0) return new Map();
  const rows = await db.selectFrom('clusters').select(['id', 'code']).where('code', 'in', [...new Set(codes)]).execute();
  return new Map(rows.map((r) => [r.code, r.id]));
}

export async function insertShipment(tx: Tx, values: Insertable<ShipmentsTable>): Promise<ShipmentJoined> {
  const { id } = await tx.insertInto('shipments').values(values).returning('id').executeTakeFirstOrThrow();
  return shipmentQuery(tx).where('s.id', '=', id).executeTakeFirstOrThrow();
}

/**
 * Row-locks an organisation's shipment (undefined: not its own, or no such shipment). FOR NO KEY UPDATE, as every
 * shipment lock: the foreign-key checks of rows naming it (offers, proposals) never wait for it.
 */
export function lockShipmentOfOrg(tx: Tx, id: string, orgId: string) {
  return tx.selectFrom('shipments').selectAll().where('id', '=', id).where('forwarder_org_id', '=', orgId).forNoKeyUpdate().executeTakeFirst();
}

/** Changes a (locked) shipment and bumps its version. */
export async function updateShipment(
  tx: Tx,
  id: string,
  patch: Omit<Updateable<ShipmentsTable>, 'id' | 'version' | 'forwarder_org_id' | 'created_at'>,
): Promise<ShipmentJoined> {
  await tx.updateTable('shipments').set({ ...patch, version: sql`version + 1` }).where('id', '=', id).execute();
  return shipmentQuery(tx).where('s.id', '=', id).executeTakeFirstOrThrow();
}

/**
 * A pooled shipment whose offer its forwarder accepted leaves the pool (status `withdrawn`, version + 1). The caller
 * holds its row lock ({@link lockShipmentOfOrg}, taken before the departure's) and has checked its status.
 */
export async function takeOutOfPool(tx: Tx, id: string, now: Date): Promise<void> {
  await tx.updateTable('shipments').set({ status: 'withdrawn', version: sql`version + 1`, updated_at: now }).where('id', '=', id).execute();
}

// --- reads ----------------------------------------------------------------------------------------------

/** Shipments a scope sees, newest first: all (the platform) or its organisation's own; optionally of one status. */
export function shipmentsOfScope(db: Kysely<DB>, scope: Scope, o: { status?: ShipmentStatus; limit?: number } = {}) {
  let q = shipmentQuery(db);
  if (scope.kind !== 'all') q = q.where('s.forwarder_org_id', '=', scope.orgId);
  if (o.status) q = q.where('s.status', '=', o.status);
  return q.orderBy('s.created_at', 'desc').orderBy('s.id').limit(o.limit ?? 200).execute();
}

export function findShipment(db: Kysely<DB>, id: string) {
  return shipmentQuery(db).where('s.id', '=', id).executeTakeFirst();
}

/**
 * What the optimiser plans with: every shipment still to be placed (pooled, unplaced, or proposed but not yet
 * accepted) whose deadline is after `now`, oldest first — in the shape of the core's `PoolRequest` (epoch ms).
 */
export async function openPoolRequests(db: Kysely<DB>, now: Date, limit = 50_000) {
  const rows = await shipmentQuery(db)
    .where('s.status', 'in', ['pooled', 'unplaced', 'proposed'])
    .where('s.deliver_by', '>', now)
    .orderBy('s.created_at')
    .orderBy('s.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    forwarderOrgId: r.forwarder_org_id,
    from: r.from_code,
    to: r.to_code,
    teu: r.teu,
    tonnes: r.tonnes,
    readyAt: r.ready_at.getTime(),
    deliverBy: r.deliver_by.getTime(),
    maxTotalCents: Number(r.max_total_cents),
    modes: r.modes,
    consolidate: r.consolidate,
    status: r.status,
    version: r.version,
  }));
}

// --- demo seed -------------------------------------------------------------------------------------------

export interface DemoShipment {
  forwarderOrgId: string;
  fromClusterId: string;
  toClusterId: string;
  teu: number;
  tonnes: number;
  readyAt: Date;
  deliverBy: Date;
  maxTotalCents: number;
  modes: Mode[];
  consolidate: boolean;
  reference: string;
}

/**
 * Inserts the demo pool's shipments that do not exist yet (keyed by forwarder and reference), in one statement.
 * Returns how many it inserted.
 */
export async function insertDemoShipments(db: Kysely<DB>, rows: DemoShipment[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await sql`
    insert into shipments (forwarder_org_id, from_cluster_id, to_cluster_id, teu, tonnes, ready_at, deliver_by, max_total_cents, modes, consolidate, reference)
    select v.org, v.from_id, v.to_id, v.teu, v.tonnes, v.ready_at, v.deliver_by, v.max_total, string_to_array(v.modes, ','), v.consolidate, v.reference
      from unnest(${rows.map((x) => x.forwarderOrgId)}::uuid[], ${rows.map((x) => x.fromClusterId)}::uuid[], ${rows.map((x) => x.toClusterId)}::uuid[],
                  ${rows.map((x) => x.teu)}::int[], ${rows.map((x) => x.tonnes)}::int[], ${rows.map((x) => x.readyAt.toISOString())}::timestamptz[],
                  ${rows.map((x) => x.deliverBy.toISOString())}::timestamptz[], ${rows.map((x) => x.maxTotalCents)}::bigint[],
                  ${rows.map((x) => x.modes.join(','))}::text[], ${rows.map((x) => x.consolidate)}::boolean[], ${rows.map((x) => x.reference)}::text[])
           as v(org, from_id, to_id, teu, tonnes, ready_at, deliver_by, max_total, modes, consolidate, reference)
     where not exists (select 1 from shipments s where s.forwarder_org_id = v.org and s.reference = v.reference)`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
