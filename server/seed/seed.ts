import type { Db } from '../adapters/db/db.ts';
import { seedOperatingCosts } from '../adapters/db/departures-repo.ts';
import { insertDemoShipments } from '../adapters/db/shipments-repo.ts';
import { insertSeedUsers, organisationCount, upsertClusters, upsertCorridors, upsertOrganisations, upsertServices, userEmails } from '../adapters/db/seed-repo.ts';
import { hashPassword } from '../services/passwords.ts';
import { rollDepartures } from '../services/timetable.ts';
import { clusters, corridors, DEMO_PASSWORD, demoPool, demoUsers, organisations, serviceOperatingCosts, services } from './network.ts';

export type Progress = (step: string, done: number, total: number) => void;

/** True when the database has no organisations yet (the demo seed has never run). */
export async function isEmpty(db: Db): Promise<boolean> {
  return (await organisationCount(db)) === 0;
}

/**
 * Seeds the demo network: clusters, corridors, organisations, demo users (password `cluster-demo`),
 * weekly services with their operating costs and two weeks of departures with fixed-price listings (each
 * with its service's operating costs), and the demo pool of shipment requests. Idempotent: every row is keyed
 * by its natural key (code, slug, e-mail, service+time, forwarder+reference) and a second run changes nothing.
 */
export async function seedDemo(db: Db, now: Date, progress: Progress = () => {}, days = 14) {
  const steps = 7;
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

  // before the departures: a new departure of a service takes the service's operating costs (a trigger)
  const costed = await seedOperatingCosts(db, serviceOperatingCosts());

  progress('departures', 5, steps);
  const rolled = await rollDepartures(db, now, days);

  progress('pool', 6, steps);
  const pooled = await seedDemoPool(db, now, clusterIds, orgIds);
  progress('done', 7, steps);
  return {
    clusters: clusters.length,
    corridors: corridors.length,
    organisations: organisations.length,
    users: demoUsers.length,
    services: services.length,
    departuresCreated: rolled.created,
    listingsCreated: rolled.listings,
    departuresCosted: costed,
    shipmentsPooled: pooled,
  };
}

const HOUR_MS = 3_600_000;

/** The demo pool (network.ts demoPool), its times counted from `now` rounded down to the hour; those present are skipped. */
async function seedDemoPool(db: Db, now: Date, clusterIds: Map<string, string>, orgIds: Map<string, string>): Promise<number> {
  const hour = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  return insertDemoShipments(db, demoPool.map((s) => {
    const readyAt = new Date(hour + s.readyInHours * HOUR_MS);
    return {
      forwarderOrgId: orgIds.get(s.forwarderSlug)!, fromClusterId: clusterIds.get(s.from)!, toClusterId: clusterIds.get(s.to)!, teu: s.teu, tonnes: s.tonnes,
      readyAt, deliverBy: new Date(readyAt.getTime() + s.windowDays * 24 * HOUR_MS), maxTotalCents: s.maxTotalEur * 100,
      modes: (['rail', 'barge'] as const).filter((m) => s.modes.includes(m)), consolidate: s.consolidate, reference: s.reference,
    };
  }));
}
