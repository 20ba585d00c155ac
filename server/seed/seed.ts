import type { Db } from '../adapters/db/db.ts';
import { insertSeedUsers, organisationCount, upsertClusters, upsertCorridors, upsertOrganisations, upsertServices, userEmails } from '../adapters/db/seed-repo.ts';
import { hashPassword } from '../services/passwords.ts';
import { rollDepartures } from '../services/timetable.ts';
import { clusters, corridors, DEMO_PASSWORD, demoUsers, organisations, services } from './network.ts';

export type Progress = (step: string, done: number, total: number) => void;

/** True when the database has no organisations yet (the demo seed has never run). */
export async function isEmpty(db: Db): Promise<boolean> {
  return (await organisationCount(db)) === 0;
}

/**
 * Seeds the demo network: clusters, corridors, organisations, demo users (password `cluster-demo`),
 * weekly services and two weeks of departures with fixed-price listings. Idempotent: every row is keyed
 * by its natural key (code, slug, e-mail, service+time) and a second run changes nothing.
 */
export async function seedDemo(db: Db, now: Date, progress: Progress = () => {}, days = 14) {
  const steps = 6;
  progress('clusters', 0, steps);
  const clusterIds = await upsertClusters(
    db,
    clusters.map((c) => ({ code: c.code, name: c.name, country: c.country, lat: c.lat, lon: c.lon, terminals: c.terminals, gateway: c.gateway })),
  );

  progress('corridors', 1, steps);
  const corridorIds = await upsertCorridors(
    db,
    corridors.map((c) => ({ code: c.code, from_cluster_id: clusterIds.get(c.from)!, to_cluster_id: clusterIds.get(c.to)!, mode: c.mode, distance_km: c.distanceKm })),
  );

  progress('organisations', 2, steps);
  const orgIds = await upsertOrganisations(db, organisations.map((o) => ({ slug: o.slug, name: o.name, kind: o.kind })));

  progress('demo users', 3, steps);
  const existing = await userEmails(db);
  const missing = demoUsers.filter((u) => !existing.has(u.email.toLowerCase()));
  if (missing.length > 0) {
    const hash = await hashPassword(DEMO_PASSWORD); // one hash (random salt) shared by the demo accounts
    await insertSeedUsers(db, missing.map((u) => ({ email: u.email, name: u.name, passwordHash: hash, orgId: orgIds.get(u.orgSlug)!, role: u.role })));
  }

  progress('services', 4, steps);
  await upsertServices(
    db,
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
  );

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
