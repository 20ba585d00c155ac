import { sql, type Insertable, type Kysely } from 'kysely';
import type { ApiKeysTable, DB } from './schema.ts';
import type { Tx } from './db.ts';

export function insertApiKey(tx: Tx, values: Insertable<ApiKeysTable>) {
  return tx.insertInto('api_keys').values(values).returning(['id', 'created_at']).executeTakeFirstOrThrow();
}

/** An organisation's API keys, newest first (never their hashes). */
export function apiKeysOfOrg(db: Kysely<DB>, orgId: string) {
  return db
    .selectFrom('api_keys')
    .select(['id', 'name', 'prefix', 'role', 'created_at', 'revoked_at', 'last_used_at'])
    .where('org_id', '=', orgId)
    .orderBy('created_at', 'desc')
    .execute();
}

/** Revokes an organisation's active key; false when it has no such key (or it was revoked already). */
export async function revokeApiKey(tx: Tx, id: string, orgId: string, now: Date): Promise<boolean> {
  const res = await tx
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** An active key by the SHA-256 of its secret, with its organisation. */
export function activeApiKeyByHash(db: Kysely<DB>, keyHash: string) {
  return db
    .selectFrom('api_keys as k')
    .innerJoin('organisations as o', 'o.id', 'k.org_id')
    .select(['k.id', 'k.role', 'o.id as org_id', 'o.name as org_name', 'o.kind as org_kind'])
    .where('k.key_hash', '=', keyHash)
    .where('k.revoked_at', 'is', null)
    .executeTakeFirst();
}

/** The role of an organisation's key if it is still active (not revoked), read in the caller's transaction. */
export async function activeKeyRole(tx: Tx, id: string, orgId: string): Promise<string | null> {
  const row = await tx.selectFrom('api_keys').select('role').where('id', '=', id).where('org_id', '=', orgId).where('revoked_at', 'is', null).executeTakeFirst();
  return row?.role ?? null;
}

/** Records that a key signed a request now — at most once a minute per key (the write is skipped when recent). */
export async function touchApiKey(db: Kysely<DB>, id: string): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ last_used_at: sql`now()` })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
    .execute();
}
