import { sql, type Kysely } from 'kysely';
import type { Role } from '../../domain/enums.ts';
import type { DB } from './schema.ts';
import { epochMicros, fromEpochMicros, type Tx } from './db.ts';

/** The columns of a member as the team page shows them, with the last sign-in (sessions are indexed by user). */
function members(db: Kysely<DB>, orgId: string) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select((eb) => [
      'u.id',
      'u.email',
      'u.name',
      'm.role',
      'u.disabled_at',
      'm.created_at',
      eb.selectFrom('sessions as s').select((s) => s.fn.max('s.created_at').as('at')).whereRef('s.user_id', '=', 'u.id').as('last_sign_in_at'),
    ])
    .where('m.org_id', '=', orgId);
}

/** An organisation's members (people, not API keys): admins first, then by name. */
export function membersOfOrg(db: Kysely<DB>, orgId: string) {
  return members(db, orgId).orderBy('m.role', 'asc').orderBy('u.name', 'asc').orderBy('u.id', 'asc').execute();
}

/** One member of the organisation (undefined for anyone else's user). */
export function memberOfOrg(db: Kysely<DB>, orgId: string, userId: string) {
  return members(db, orgId).where('u.id', '=', userId).executeTakeFirst();
}

/**
 * One team change at a time per organisation: locks the organisation's row (FOR NO KEY UPDATE, which sign-ins and
 * other inserts referencing it do not wait for), then reads every membership with whether its user is enabled, in
 * a statement that starts after the lock — so it sees what the change before committed. Two admins changing each
 * other at once are serialised here, and "one enabled admin stays" holds under concurrency. (Locking the membership
 * rows alone would not do: disabling changes the user's row, and a waiter on an unchanged membership row would go on
 * with the stale `disabled_at` it read.)
 */
export async function lockTeamOfOrg(tx: Tx, orgId: string) {
  await tx.selectFrom('organisations').select('id').where('id', '=', orgId).forNoKeyUpdate().execute();
  return tx
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id', 'm.role', 'u.disabled_at'])
    .where('m.org_id', '=', orgId)
    .orderBy('m.user_id')
    .execute();
}

/** Whether any user has this (normalised, lower-case) e-mail, in any organisation. */
export async function emailTaken(db: Kysely<DB>, email: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('id').where((eb) => eb(eb.fn('lower', ['email']), '=', email)).executeTakeFirst();
  return !!row;
}

/** A new user and its membership; null when the e-mail was taken meanwhile (the unique index on lower(email)). */
export async function insertMember(tx: Tx, m: { email: string; name: string; passwordHash: string; orgId: string; role: Role }): Promise<{ id: string } | null> {
  const user = await tx
    .insertInto('users')
    .values({ email: m.email, name: m.name, password_hash: m.passwordHash })
    .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!user) return null;
  await tx.insertInto('memberships').values({ user_id: user.id, org_id: m.orgId, role: m.role }).execute();
  return user;
}

export async function setMemberRole(tx: Tx, orgId: string, userId: string, role: Role): Promise<void> {
  await tx.updateTable('memberships').set({ role }).where('org_id', '=', orgId).where('user_id', '=', userId).execute();
}

export async function setUserDisabled(tx: Tx, userId: string, at: Date | null): Promise<void> {
  await tx.updateTable('users').set({ disabled_at: at }).where('id', '=', userId).execute();
}

export async function setUserPasswordHash(tx: Tx, userId: string, passwordHash: string): Promise<void> {
  await tx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
}

export function passwordHashOf(db: Kysely<DB>, userId: string) {
  return db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirst();
}

/** Ends every live session of the user at `now` (but `keep`, the caller's own); answers the ids ended. */
export async function revokeSessionsOfUser(tx: Tx, userId: string, now: Date, keep?: string): Promise<string[]> {
  let q = tx.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', now);
  if (keep) q = q.where('id', '<>', keep);
  return (await q.returning('id').execute()).map((r) => r.id);
}

/**
 * A page of the organisation's audit log (what its people and keys did), newest first, before the cursor
 * `(at, id)`: keyset paging on the index (actor_org_id, at). Optionally one action, or actions under a prefix
 * (`session.` matches `session.sign_in`).
 */
export function auditOfOrg(db: Kysely<DB>, orgId: string, o: { before?: { atUs: number; id: number }; limit: number; action?: string }) {
  let q = db
    .selectFrom('audit_log as a')
    .leftJoin('users as u', 'u.id', 'a.actor_user_id')
    .leftJoin('api_keys as k', 'k.id', 'a.api_key_id')
    .select(epochMicros('a.at').as('at_us'))
    .select(['a.id', 'a.at', 'a.action', 'a.entity_type', 'a.entity_id', 'a.data', 'a.ip', 'a.actor_user_id', 'u.name as user_name', 'u.email as user_email', 'a.api_key_id', 'k.name as key_name'])
    .where('a.actor_org_id', '=', orgId);
  if (o.before) {
    const { atUs, id } = o.before;
    q = q.where(sql<boolean>`(a.at, a.id) < (${fromEpochMicros(atUs)}, ${id}::bigint)`);
  }
  if (o.action) q = o.action.endsWith('.') ? q.where('a.action', 'like', `${o.action.replace(/[\\%_]/g, '\\$&')}%`) : q.where('a.action', '=', o.action);
  return q.orderBy('a.at', 'desc').orderBy('a.id', 'desc').limit(o.limit).execute();
}
