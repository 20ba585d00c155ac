import { sql } from 'kysely';
import type { Db } from './db.ts';
import { audit } from './audit.ts';
import type { Mode, OrgKind, Role } from '../../domain/enums.ts';

/**
 * The demo seed's writes. Every insert is keyed by its natural key (code, slug, e-mail) and skips rows
 * that exist, so seeding twice changes nothing. Each returns the ids by natural key.
 */

export async function organisationCount(db: Db): Promise<number> {
  const r = await db.selectFrom('organisations').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return r.n;
}

export async function upsertClusters(
  db: Db,
  rows: { code: string; name: string; country: string; lat: number; lon: number; terminals: string[]; gateway: boolean }[],
): Promise<Map<string, string>> {
  await db.insertInto('clusters').values(rows).onConflict((oc) => oc.column('code').doNothing()).execute();
  return new Map((await db.selectFrom('clusters').select(['id', 'code']).execute()).map((c) => [c.code, c.id]));
}

export async function upsertCorridors(
  db: Db,
  rows: { code: string; from_cluster_id: string; to_cluster_id: string; mode: Mode; distance_km: number }[],
): Promise<Map<string, string>> {
  await db.insertInto('corridors').values(rows).onConflict((oc) => oc.column('code').doNothing()).execute();
  return new Map((await db.selectFrom('corridors').select(['id', 'code']).execute()).map((c) => [c.code, c.id]));
}

export async function upsertOrganisations(db: Db, rows: { slug: string; name: string; kind: OrgKind }[]): Promise<Map<string, string>> {
  await db.insertInto('organisations').values(rows).onConflict((oc) => oc.column('slug').doNothing()).execute();
  return new Map((await db.selectFrom('organisations').select(['id', 'slug']).execute()).map((o) => [o.slug, o.id]));
}

/** E-mails (lower case) of every user. */
export async function userEmails(db: Db): Promise<Set<string>> {
  return new Set((await db.selectFrom('users').select('email').execute()).map((u) => u.email.toLowerCase()));
}

/** Users with one membership each, in one transaction, each audited as `user.seed`. */
export async function insertSeedUsers(db: Db, users: { email: string; name: string; passwordHash: string; orgId: string; role: Role }[]): Promise<void> {
  await db.transaction().execute(async (tx) => {
    for (const u of users) {
      const user = await tx.insertInto('users').values({ email: u.email, name: u.name, password_hash: u.passwordHash }).returning('id').executeTakeFirstOrThrow();
      await tx.insertInto('memberships').values({ user_id: user.id, org_id: u.orgId, role: u.role }).execute();
      await audit(tx, null, 'user.seed', { type: 'user', id: user.id }, { email: u.email });
    }
  });
}

export async function upsertServices(
  db: Db,
  rows: {
    code: string; operator_org_id: string; corridor_id: string; asset_name: string; weekdays: number[]; depart_time_utc: string;
    transit_minutes: number; cutoff_minutes_before: number; capacity_teu: number; capacity_tonnes: number; listed_teu: number; unit_price_cents: number;
  }[],
): Promise<void> {
  await db.insertInto('services').values(rows).onConflict((oc) => oc.column('code').doNothing()).execute();
}
