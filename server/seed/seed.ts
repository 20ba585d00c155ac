import { sql } from 'kysely';
import type { Db } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { hashPassword } from '../services/passwords.ts';
import { rollDepartures } from '../services/timetable.ts';
import { clusters, corridors, DEMO_PASSWORD, demoUsers, organisations, services } from './network.ts';

export type Progress = (step: string, done: number, total: number) => void;

/** True when the database has no organisations yet (the demo seed has never run). */
export async function isEmpty(db: Db): Promise<boolean> {
  const r = await db.selectFrom('organisations').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return r.n === 0;
}

/**
 * Seeds the demo network: clusters, corridors, organisations, demo users (password `cluster-demo`),
 * weekly services and two weeks of departures with fixed-price listings. Idempotent: every row is keyed
 * by its natural key (code, slug, e-mail, service+time) and a second run changes nothing.
 */
export async function seedDemo(db: Db, now: Date, progress: Progress = () => {}, days = 14) {
  const steps = 6;
  progress('clusters', 0, steps);
  await db
    .insertInto('clusters')
    .values(clusters.map((c) => ({ code: c.code, name: c.name, country: c.country, lat: c.lat, lon: c.lon, terminals: c.terminals, gateway: c.gateway })))
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();
  const clusterIds = new Map((await db.selectFrom('clusters').select(['id', 'code']).execute()).map((c) => [c.code, c.id]));

  progress('corridors', 1, steps);
  await db
    .insertInto('corridors')
    .values(
      corridors.map((c) => ({
        code: c.code,
        from_cluster_id: clusterIds.get(c.from)!,
        to_cluster_id: clusterIds.get(c.to)!,
        mode: c.mode,
        distance_km: c.distanceKm,
      })),
    )
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();
  const corridorIds = new Map((await db.selectFrom('corridors').select(['id', 'code']).execute()).map((c) => [c.code, c.id]));

  progress('organisations', 2, steps);
  await db
    .insertInto('organisations')
    .values(organisations.map((o) => ({ slug: o.slug, name: o.name, kind: o.kind })))
    .onConflict((oc) => oc.column('slug').doNothing())
    .execute();
  const orgIds = new Map((await db.selectFrom('organisations').select(['id', 'slug']).execute()).map((o) => [o.slug, o.id]));

  progress('demo users', 3, steps);
  const existing = new Set((await db.selectFrom('users').select('email').execute()).map((u) => u.email.toLowerCase()));
  const missing = demoUsers.filter((u) => !existing.has(u.email.toLowerCase()));
  if (missing.length > 0) {
    const hash = await hashPassword(DEMO_PASSWORD); // one hash (random salt) shared by the demo accounts
    await db.transaction().execute(async (tx) => {
      for (const u of missing) {
        const user = await tx.insertInto('users').values({ email: u.email, name: u.name, password_hash: hash }).returning('id').executeTakeFirstOrThrow();
        await tx.insertInto('memberships').values({ user_id: user.id, org_id: orgIds.get(u.orgSlug)!, role: u.role }).execute();
        await audit(tx, null, 'user.seed', { type: 'user', id: user.id }, { email: u.email });
      }
    });
  }

  progress('services', 4, steps);
  await db
    .insertInto('services')
    .values(
      services.map((s) => ({
        code: s.code,
        operator_org_id: orgIds.get(s.operatorSlug)!,
        corridor_id: corridorIds.get(s.corridorCode)!,
        asset_name: s.assetName,
        weekdays: s.weekdays,
        depart_time_utc: s.departTimeUtc,
        transit_minutes: s.transitMinutes,
        cutoff_minutes_before: s.cutoffMinutesBefore,
        capacity_teu: s.capacityTeu,
        capacity_tonnes: s.capacityTonnes,
        listed_teu: s.listedTeu,
        unit_price_cents: s.unitPriceCents,
      })),
    )
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();

  progress('departures', 5, steps);
  const rolled = await rollDepartures(db, now, days);
  progress('done', 6, steps);
  return {
    clusters: clusters.length,
    corridors: corridors.length,
    organisations: organisations.length,
    users: demoUsers.length,
    services: services.length,
    departuresCreated: rolled.created,
    listingsCreated: rolled.listings,
  };
}
