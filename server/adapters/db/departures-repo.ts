import type { Kysely } from 'kysely';
import type { DB } from './schema.ts';

/** Reusable query fragment: a departure with its corridor ends, mode and operator name. */
export function departureQuery(db: Kysely<DB>) {
  return db
    .selectFrom('departures as d')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .innerJoin('clusters as o', 'o.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .innerJoin('organisations as op', 'op.id', 'd.operator_org_id')
    .select([
      'd.id', 'd.corridor_id', 'd.operator_org_id', 'd.service_id', 'd.asset_name', 'd.departs_at', 'd.arrives_at',
      'd.cutoff_at', 'd.capacity_teu', 'd.capacity_tonnes', 'd.held_teu', 'd.held_tonnes', 'd.booked_teu',
      'd.booked_tonnes', 'd.seq', 'd.status', 'd.reefer_plugs', 'd.dangerous_goods',
      'c.mode', 'c.code as corridor_code', 'c.distance_km', 'o.code as origin', 't.code as destination', 'op.name as operator_name',
    ]);
}

export type DepartureJoined = Awaited<ReturnType<ReturnType<typeof departureQuery>['executeTakeFirstOrThrow']>>;

/** The public `Departure` shape of API.md (plus a few extra fields). */
export function toDeparture(r: DepartureJoined) {
  return {
    id: r.id,
    corridorId: r.corridor_id,
    corridorCode: r.corridor_code,
    mode: r.mode,
    origin: r.origin,
    destination: r.destination,
    distanceKm: r.distance_km,
    departsAt: r.departs_at.toISOString(),
    arrivesAt: r.arrives_at.toISOString(),
    cutoffAt: r.cutoff_at.toISOString(),
    capacityTeu: r.capacity_teu,
    capacityTonnes: r.capacity_tonnes,
    freeTeu: r.capacity_teu - r.held_teu - r.booked_teu,
    freeTonnes: r.capacity_tonnes - r.held_tonnes - r.booked_tonnes,
    heldTeu: r.held_teu,
    bookedTeu: r.booked_teu,
    seq: Number(r.seq),
    status: r.status,
    operatorOrgId: r.operator_org_id,
    operatorName: r.operator_name,
    assetName: r.asset_name,
    reeferPlugs: r.reefer_plugs,
    dangerousGoods: r.dangerous_goods,
  };
}
export type Departure = ReturnType<typeof toDeparture>;
