import type { Kysely } from 'kysely';
import type { DepartureBrief } from '../../domain/schemas/trade.ts';
import type { DB } from './schema.ts';

/**
 * The joins that name a departure: `d` departures, `c` its corridor, `o` / `t` the corridor's origin and destination
 * clusters, `op` its operator. Each query over departures starts here and selects its own columns.
 */
export function departureJoins(db: Kysely<DB>) {
  return db
    .selectFrom('departures as d')
    .innerJoin('corridors as c', 'c.id', 'd.corridor_id')
    .innerJoin('clusters as o', 'o.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .innerJoin('organisations as op', 'op.id', 'd.operator_org_id');
}

/**
 * Reusable query fragment: every departure with what names it for people (route, mode, operator, asset, times),
 * its columns prefixed `dep_`. Join it as a derived table, e.g.
 * `.innerJoin(departureBriefs(db).as('dep'), 'dep.dep_id', 'h.departure_id').selectAll('dep')`: Postgres pulls
 * the simple subquery up into the join, so the list answers name their departures in the same statement (no
 * request per row).
 */
export function departureBriefs(db: Kysely<DB>) {
  return departureJoins(db).select([
      'd.id as dep_id', 'd.operator_org_id as dep_operator_org_id', 'c.code as dep_corridor_code', 'o.code as dep_origin', 'o.name as dep_origin_name',
      't.code as dep_destination', 't.name as dep_destination_name', 'c.mode as dep_mode', 'op.name as dep_operator_name',
      'd.asset_name as dep_asset_name', 'd.departs_at as dep_departs_at', 'd.arrives_at as dep_arrives_at', 'd.cutoff_at as dep_cutoff_at',
    ]);
}

export type DepartureBriefRow = Awaited<ReturnType<ReturnType<typeof departureBriefs>['executeTakeFirstOrThrow']>>;

/** The public `DepartureBrief` of a row that selected `departureBriefs`' columns. */
export function toDepartureBrief(r: DepartureBriefRow): DepartureBrief {
  return {
    corridorCode: r.dep_corridor_code,
    origin: r.dep_origin,
    originName: r.dep_origin_name,
    destination: r.dep_destination,
    destinationName: r.dep_destination_name,
    mode: r.dep_mode,
    operatorName: r.dep_operator_name,
    assetName: r.dep_asset_name,
    departsAt: r.dep_departs_at.toISOString(),
    arrivesAt: r.dep_arrives_at.toISOString(),
    cutoffAt: r.dep_cutoff_at.toISOString(),
  };
}
