import { sql, type Insertable } from 'kysely';
import type { Db, Tx } from './db.ts';
import type { WebhookEndpointsTable } from './schema.ts';

/**
 * Webhook endpoints (issue 15). Secrets are read only by `insertEndpoint`'s caller (shown once) and the delivery
 * claim (webhook-events-repo.ts); the list and detail reads never select them.
 */

const PUBLIC_COLUMNS = [
  'id', 'org_id', 'url', 'events', 'description', 'enabled', 'disabled_reason', 'disabled_at', 'previous_secret_expires_at',
  'consecutive_failures', 'failing_since', 'created_at', 'updated_at',
] as const;

export type EndpointRow = Awaited<ReturnType<typeof endpointOfOrg>> & {};

export function insertEndpoint(tx: Tx, values: Insertable<WebhookEndpointsTable>) {
  return tx.insertInto('webhook_endpoints').values(values).returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow();
}

export async function countEndpointsOfOrg(db: Db | Tx, orgId: string): Promise<number> {
  const r = await db.selectFrom('webhook_endpoints').select(sql<number>`count(*)::int`.as('n')).where('org_id', '=', orgId).executeTakeFirstOrThrow();
  return r.n;
}

/** An organisation's endpoints, oldest first (no secrets). */
export function endpointsOfOrg(db: Db, orgId: string) {
  return db.selectFrom('webhook_endpoints').select(PUBLIC_COLUMNS).where('org_id', '=', orgId).orderBy('created_at').orderBy('id').execute();
}

/** One endpoint of an organisation (no secrets), or undefined (none, or another organisation's). */
export function endpointOfOrg(db: Db | Tx, id: string, orgId: string) {
  return db.selectFrom('webhook_endpoints').select(PUBLIC_COLUMNS).where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
}

/** The same, locked for a change. */
export function lockEndpointOfOrg(tx: Tx, id: string, orgId: string) {
  return tx.selectFrom('webhook_endpoints').select(PUBLIC_COLUMNS).where('id', '=', id).where('org_id', '=', orgId).forUpdate().executeTakeFirst();
}

export interface EndpointChange {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}

/** Applies a change (enabling clears the failure count and the reason it was disabled). */
export function updateEndpoint(tx: Tx, id: string, c: EndpointChange) {
  const set: Record<string, unknown> = { updated_at: sql`now()` };
  if (c.url !== undefined) set.url = c.url;
  if (c.events !== undefined) set.events = c.events;
  if (c.description !== undefined) set.description = c.description;
  if (c.enabled === true) Object.assign(set, { enabled: true, disabled_reason: null, disabled_at: null, consecutive_failures: 0, failing_since: null });
  if (c.enabled === false) Object.assign(set, { enabled: false, disabled_reason: 'admin', disabled_at: sql`now()` });
  return tx.updateTable('webhook_endpoints').set(set as never).where('id', '=', id).returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow();
}

/** Replaces the secret; the old one keeps signing until `previousExpiresAt` (null: at once no more). */
export function rotateSecret(tx: Tx, id: string, secret: string, previousExpiresAt: Date | null) {
  return tx
    .updateTable('webhook_endpoints')
    .set({
      previous_secret: previousExpiresAt ? sql<string>`secret` : null,
      previous_secret_expires_at: previousExpiresAt,
      secret,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirstOrThrow();
}

/** Deletes an endpoint and its delivery log; false when the organisation has no such endpoint. */
export async function deleteEndpoint(tx: Tx, id: string, orgId: string): Promise<boolean> {
  const r = await tx.deleteFrom('webhook_endpoints').where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** A successful attempt: the failure streak ends. */
export async function endpointSucceeded(tx: Tx, id: string): Promise<void> {
  await tx.updateTable('webhook_endpoints').set({ consecutive_failures: 0, failing_since: null }).where('id', '=', id).where('consecutive_failures', '<>', 0).execute();
}

/** A failed attempt: one more in the streak (which started at `failing_since`); the endpoint's state after it. */
export function endpointFailed(tx: Tx, id: string) {
  return tx
    .updateTable('webhook_endpoints')
    .set({ consecutive_failures: sql`consecutive_failures + 1`, failing_since: sql`coalesce(failing_since, now())` })
    .where('id', '=', id)
    .returning(['id', 'org_id', 'url', 'enabled', 'consecutive_failures', 'failing_since', sql<Date>`now()`.as('now')])
    .executeTakeFirst();
}

/** Disables an endpoint that kept failing (true if this call disabled it). */
export async function disableFailingEndpoint(tx: Tx, id: string): Promise<boolean> {
  const r = await tx
    .updateTable('webhook_endpoints')
    .set({ enabled: false, disabled_reason: 'failing', disabled_at: sql`now()`, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('enabled', '=', true)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
