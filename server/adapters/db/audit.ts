import type { Kysely } from 'kysely';
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
