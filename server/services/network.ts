import type { Db } from '../adapters/db/db.ts';
import { departureQuery, toDeparture, type Departure } from '../adapters/db/departures-repo.ts';
import type { Mode } from '../domain/enums.ts';
import { toListing } from '../adapters/db/listings-repo.ts';
import { notFound } from '../domain/errors.ts';

export interface DepartureFilter {
  from?: string;
  to?: string;
  mode?: Mode;
  after?: Date;
  before?: Date;
  limit?: number;
}

/** Reference data and departure reads: clusters, corridors, departures. */
export class NetworkService {
  constructor(private readonly db: Db) {}

  async clusters() {
    const rows = await this.db.selectFrom('clusters').selectAll().orderBy('gateway').orderBy('code').execute();
    return rows.map((c) => ({
      id: c.id, code: c.code, name: c.name, country: c.country, lat: c.lat, lon: c.lon, terminals: c.terminals, gateway: c.gateway,
    }));
  }

  async corridors() {
    const rows = await this.db
      .selectFrom('corridors as c')
      .innerJoin('clusters as f', 'f.id', 'c.from_cluster_id')
      .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
      .select(['c.id', 'c.code', 'c.from_cluster_id', 'c.to_cluster_id', 'c.mode', 'c.distance_km', 'f.code as from_code', 't.code as to_code'])
      .orderBy('c.code')
      .execute();
    return rows.map((c) => ({
      id: c.id, code: c.code, fromClusterId: c.from_cluster_id, toClusterId: c.to_cluster_id, mode: c.mode, distanceKm: c.distance_km,
      origin: c.from_code, destination: c.to_code,
    }));
  }

  /** Departures matching the filter, sorted by departure time. Without `after`, only those not yet departed. */
  async departures(f: DepartureFilter, now = new Date()): Promise<Departure[]> {
    let q = departureQuery(this.db).where('d.status', '=', 'scheduled');
    if (f.from) q = q.where('o.code', '=', f.from);
    if (f.to) q = q.where('t.code', '=', f.to);
    if (f.mode) q = q.where('c.mode', '=', f.mode);
    q = q.where('d.departs_at', '>=', f.after ?? now);
    if (f.before) q = q.where('d.departs_at', '<', f.before);
    const rows = await q.orderBy('d.departs_at').orderBy('d.id').limit(f.limit ?? 500).execute();
    return rows.map(toDeparture);
  }

  async departure(id: string): Promise<Departure> {
    const row = await departureQuery(this.db).where('d.id', '=', id).executeTakeFirst();
    if (!row) throw notFound('departure');
    return toDeparture(row);
  }

  async departureWithListings(id: string, now = new Date()) {
    const dep = await this.departure(id);
    const listings = await this.db
      .selectFrom('listings')
      .selectAll()
      .where('departure_id', '=', id)
      .where('status', '!=', 'cancelled')
      .orderBy('created_at')
      .execute();
    return { ...dep, listings: listings.map((l) => toListing(l, now)) };
  }
}
