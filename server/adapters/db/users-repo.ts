import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

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
