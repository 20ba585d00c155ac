import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';
import type { Tx } from './db.ts';

/** A user by (normalised, lower-case) e-mail, with its membership and organisation: what a sign-in checks. */
export function userForSignIn(db: Kysely<DB>, email: string) {
  return db
    .selectFrom('users as u')
    .innerJoin('memberships as m', 'm.user_id', 'u.id')
    .innerJoin('organisations as o', 'o.id', 'm.org_id')
    .select(['u.id', 'u.email', 'u.name', 'u.password_hash', 'u.disabled_at', 'm.role', 'o.id as org_id', 'o.name as org_name', 'o.kind as org_kind'])
    .where((eb) => eb(eb.fn('lower', ['u.email']), '=', email))
    .executeTakeFirst();
}

/**
 * Whether the user still has this password hash and access (share-locks the row until the caller's commit, so a
 * password change or a withdrawal waits for it): a sign-in checks this in the transaction that creates the session.
 */
export async function credentialsUnchanged(tx: Tx, userId: string, passwordHash: string): Promise<boolean> {
  const row = await tx.selectFrom('users').select('id').where('id', '=', userId).where('password_hash', '=', passwordHash).where('disabled_at', 'is', null).forShare().executeTakeFirst();
  return !!row;
}
