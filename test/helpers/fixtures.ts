import { sql } from 'kysely';
import type { Db } from '../../server/adapters/db/db.ts';
import { hashPassword } from '../../server/services/passwords.ts';

let hash: Promise<string> | undefined;

/** Creates `n` forwarder organisations, each with one admin user (password cluster-demo). */
export async function createForwarders(db: Db, n: number, tag: string): Promise<{ email: string; orgId: string }[]> {
  hash ??= hashPassword('cluster-demo');
  const h = await hash;
  const out: { email: string; orgId: string }[] = [];
  for (let i = 0; i < n; i++) {
    const org = await db
      .insertInto('organisations')
      .values({ slug: `${tag}-fwd-${i}`, name: `${tag} Forwarder ${i}`, kind: 'forwarder' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const email = `${tag}-fwd-${i}@test.test`;
    const u = await db.insertInto('users').values({ email, name: `Forwarder ${i}`, password_hash: h }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('memberships').values({ user_id: u.id, org_id: org.id, role: 'admin' }).execute();
    out.push({ email, orgId: org.id });
  }
  return out;
}

/** A departure on a seeded corridor (default Duisburg → Bologna rail) with one open fixed listing. */
export async function createDepartureWithListing(
  db: Db,
  o: { capacityTeu: number; capacityTonnes: number; listedTeu?: number; unitPriceCents?: number; corridorCode?: string; cutoffInMs?: number; format?: 'fixed' | 'falling' },
) {
  const corridor = await db.selectFrom('corridors').select('id').where('code', '=', o.corridorCode ?? 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
  const op = await db.selectFrom('organisations').select('id').where('kind', '=', 'operator').orderBy('slug').executeTakeFirstOrThrow();
  const now = Date.now();
  const cutoff = new Date(now + (o.cutoffInMs ?? 2 * 86_400_000));
  const dep = await db
    .insertInto('departures')
    .values({
      corridor_id: corridor.id,
      operator_org_id: op.id,
      asset_name: 'Test Shuttle',
      departs_at: new Date(cutoff.getTime() + 4 * 3_600_000),
      arrives_at: new Date(cutoff.getTime() + 34 * 3_600_000),
      cutoff_at: cutoff,
      capacity_teu: o.capacityTeu,
      capacity_tonnes: o.capacityTonnes,
    })
    .returning(['id', 'corridor_id', 'operator_org_id'])
    .executeTakeFirstOrThrow();
  const teu = o.listedTeu ?? o.capacityTeu;
  const listing = await db
    .insertInto('listings')
    .values({
      departure_id: dep.id,
      format: o.format ?? 'fixed',
      teu,
      remaining_teu: teu,
      unit_price_cents: o.unitPriceCents ?? 50_000,
      ...(o.format === 'falling' ? { floor_price_cents: 10_000, step_cents: 1_000, step_every_minutes: 60, opens_at: new Date(now) } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { departureId: dep.id, corridorId: dep.corridor_id, operatorOrgId: dep.operator_org_id, listingId: listing.id };
}

export async function departureState(db: Db, id: string) {
  return db
    .selectFrom('departures')
    .select(['held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes', 'capacity_teu', 'capacity_tonnes', 'seq'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

export async function activeHolds(db: Db, departureId: string) {
  const r = await db
    .selectFrom('holds')
    .select([sql<number>`count(*)::int`.as('n'), sql<number>`coalesce(sum(teu),0)::int`.as('teu'), sql<number>`coalesce(sum(tonnes),0)::int`.as('tonnes')])
    .where('departure_id', '=', departureId)
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  return r;
}

/** An open ascending auction (default: closes in an hour, reserve €100, step €5) on a departure of the seeded Duisburg → Bologna rail corridor. */
export async function createAscendingAuction(db: Db, o: { teu: number; reservePriceCents?: number; minIncrementCents?: number; closesInMs?: number }) {
  const corridor = await db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
  const op = await db.selectFrom('organisations').select('id').where('kind', '=', 'operator').orderBy('slug').executeTakeFirstOrThrow();
  const now = Date.now();
  const cutoff = new Date(now + 2 * 86_400_000);
  const d = await db
    .insertInto('departures')
    .values({
      corridor_id: corridor.id, operator_org_id: op.id, asset_name: 'Auction Shuttle', departs_at: new Date(cutoff.getTime() + 3_600_000),
      arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: o.teu + 10, capacity_tonnes: (o.teu + 10) * 20,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const l = await db
    .insertInto('listings')
    .values({
      departure_id: d.id, format: 'ascending', teu: o.teu, remaining_teu: o.teu, reserve_price_cents: o.reservePriceCents ?? 10_000,
      min_increment_cents: o.minIncrementCents ?? 500, opens_at: new Date(now - 1000), closes_at: new Date(now + (o.closesInMs ?? 3_600_000)), max_close_at: cutoff,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { departureId: d.id, listingId: l.id };
}
