import { sql, type Insertable, type Kysely } from 'kysely';
import type { Role } from '../../domain/enums.ts';
import type { DB, SessionsTable } from './schema.ts';
import type { Tx } from './db.ts';

export async function insertSession(tx: Tx, values: Insertable<SessionsTable>): Promise<void> {
  await tx.insertInto('sessions').values(values).execute();
}

export async function revokeSession(tx: Tx, id: string, now: Date): Promise<void> {
  await tx.updateTable('sessions').set({ revoked_at: now }).where('id', '=', id).execute();
}

/** A session still valid at `now` (not revoked, not expired, its user not disabled), with its user, role and organisation. */
export function validSession(db: Kysely<DB>, id: string, now: Date) {
  return db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .innerJoin('memberships as m', (j) => j.onRef('m.user_id', '=', 's.user_id').onRef('m.org_id', '=', 's.org_id'))
    .innerJoin('organisations as o', 'o.id', 's.org_id')
    .select(['s.id', 's.csrf_token', 's.expires_at', 'u.id as user_id', 'u.email', 'u.name', 'm.role', 'o.id as org_id', 'o.name as org_name', 'o.kind as org_kind'])
    .where('s.id', '=', id)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('u.disabled_at', 'is', null)
    .executeTakeFirst();
}

/**
 * Of these sessions and API keys, the ones still valid at `now` — with ONE query — by their live rooms
 * (`session:<id>` / `apikey:<id>`), with their current role, organisation and session expiry. `keyIds` must
 * be UUIDs.
 */
export async function validLiveRooms(db: Kysely<DB>, sessionIds: string[], keyIds: string[], now: Date) {
  const r = await sql<{ room: string; role: Role; org_id: string; expires_at: Date | null }>`
    select 'session:' || s.id as room, m.role, s.org_id, s.expires_at
      from sessions s
      join users u on u.id = s.user_id
      join memberships m on m.user_id = s.user_id and m.org_id = s.org_id
     where s.id = any(${sessionIds}::text[]) and s.revoked_at is null and s.expires_at > ${now} and u.disabled_at is null
    union all
    select 'apikey:' || k.id::text, k.role, k.org_id, null
      from api_keys k
     where k.id = any(${keyIds}::uuid[]) and k.revoked_at is null`.execute(db);
  return r.rows;
}

/** Whether a session is still live at `now` (not revoked, not expired), inside the caller's transaction. */
export async function sessionLive(tx: Tx, id: string, now: Date): Promise<boolean> {
  const row = await tx.selectFrom('sessions').select('id').where('id', '=', id).where('revoked_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
  return !!row;
}
