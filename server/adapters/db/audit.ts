import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.ts';
import type { Principal } from '../../domain/principal.ts';

/** Appends one entry to the append-only audit log, inside the caller's transaction. */
export async function audit(
  db: Kysely<DB>,
  actor: Pick<Principal, 'userId' | 'orgId' | 'apiKeyId'> | null,
  action: string,
  entity: { type: string; id?: string | null },
  data?: Record<string, unknown>,
  ip?: string | null,
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor_user_id: actor?.userId ?? null,
      actor_org_id: actor?.orgId ?? null,
      api_key_id: actor?.apiKeyId ?? null,
      action,
      entity_type: entity.type,
      entity_id: entity.id ?? null,
      data: data ? JSON.stringify(data) : null,
      ip: ip ?? null,
    })
    .execute();
}

/** Appends one entry per entity (no actor: the system acts), with one statement, inside the caller's transaction. */
export async function auditMany(db: Kysely<DB>, action: string, entityType: string, entries: { id: string; data: Record<string, unknown> }[]): Promise<void> {
  if (entries.length === 0) return;
  // per-row values as arrays (unnest): three parameters however many entries
  await sql`
    insert into audit_log (action, entity_type, entity_id, data)
    select ${action}, ${entityType}, id, data::jsonb from unnest(${entries.map((a) => a.id)}::text[], ${entries.map((a) => JSON.stringify(a.data))}::text[]) as v(id, data)`.execute(db);
}

/** Which of these entities already have an entry with this action. */
export async function auditedIds(db: Kysely<DB>, action: string, entityType: string, ids: string[]): Promise<Set<string>> {
  const rows = await db.selectFrom('audit_log').select('entity_id').where('action', '=', action).where('entity_type', '=', entityType).where('entity_id', 'in', ids).execute();
  return new Set(rows.map((r) => r.entity_id).filter((id): id is string => id !== null));
}

