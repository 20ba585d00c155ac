import type { Db } from '../adapters/db/db.ts';
import { findDeparture, onSaleTermsOf, toDeparture, type OnSaleColumns } from '../adapters/db/departures-repo.ts';
import { toListing, type ListingRow } from '../adapters/db/listings-repo.ts';
import { allClusters, allCorridors, listingsOfDeparture, scheduledDepartures, type DepartureFilter } from '../adapters/db/network-repo.ts';
import { takesListings, unpromisedTeu } from '../core/capacity.ts';
import { onSaleAt } from '../core/on-sale.ts';
import { pageOf, timeIdCursor } from '../core/paging.ts';
import { notFound } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import type { Cluster, Corridor, Departure, DepartureWithListings } from '../domain/schemas/network.ts';
import type { AuctionView } from './auctions/reads.ts';

/** Auctions' live fields as `p` may see them (AuctionsService.views), in the listings' order: never others' sealed prices. */
export type AuctionViewer = (p: Principal, ls: readonly ListingRow[]) => Promise<AuctionView[]>;

/** GET /api/departures: rows per page by default, and at most. */
export const DEPARTURE_PAGE = 500;
export const DEPARTURE_PAGE_MAX = 1000;

/** Reference data and departure reads: clusters, corridors, departures. */
export class NetworkService {
  constructor(
    private readonly db: Db,
    private readonly auctionView?: AuctionViewer,
  ) {}

  async clusters(): Promise<Cluster[]> {
    const rows = await allClusters(this.db);
    return rows.map((c) => ({
      id: c.id, code: c.code, name: c.name, country: c.country, lat: c.lat, lon: c.lon, terminals: c.terminals, gateway: c.gateway,
    }));
  }

  async corridors(): Promise<Corridor[]> {
    const rows = await allCorridors(this.db);
    return rows.map((c) => ({
      id: c.id, code: c.code, fromClusterId: c.from_cluster_id, toClusterId: c.to_cluster_id, mode: c.mode, distanceKm: c.distance_km,
      origin: c.from_code, destination: c.to_code,
    }));
  }

  /**
   * GET /api/departures — departures matching the filter, each with what it has on sale now (without `after`, only
   * those not yet departed): a page of `limit` (default 500, at most 1,000) in (departure time, id) order; `next` is
   * the cursor of the following page (pass it as `cursor`), null at the end. An integrator's check found the list
   * silently cut at 500 with no way to the rest.
   */
  async departurePage(f: Omit<DepartureFilter, 'cursor'> & { cursor?: string }, now = new Date()): Promise<{ items: Departure[]; next: string | null }> {
    const limit = Math.min(f.limit ?? DEPARTURE_PAGE, DEPARTURE_PAGE_MAX);
    const rows = await scheduledDepartures(this.db, { ...f, limit: limit + 1, cursor: timeIdCursor(f.cursor) ?? undefined }, now);
    return pageOf(rows, limit, (last) => `${last.at_us}_${last.id}`, (r) => departureAt(r, now));
  }

  async departure(id: string, now = new Date()): Promise<Departure> {
    const row = await findDeparture(this.db, id, now);
    if (!row) throw notFound('departure');
    return departureAt(row, now);
  }

  /**
   * GET /api/departures/:id — each listing as GET /api/listings/:id shows it to `p`: an auction with its live price,
   * ladder or result (an integrator's check found them missing here, present there).
   */
  async departureWithListings(p: Principal, id: string, now = new Date()): Promise<DepartureWithListings> {
    const dep = await this.departure(id, now);
    const rows = await listingsOfDeparture(this.db, id);
    const auctions = rows.filter((l) => l.format === 'ascending' || l.format === 'sealed');
    const views = this.auctionView && auctions.length ? await this.auctionView(p, auctions) : [];
    const viewOf = new Map(auctions.map((l, i) => [l.id, views[i]] as const));
    return { ...dep, listings: rows.map((l) => ({ ...toListing(l, now), ...(viewOf.get(l.id) ?? {}) })) };
  }
}

/**
 * The public `Departure` of a row read with its on-sale aggregate: `onSale` priced at `now` by the pure core (a
 * falling listing's price steps with time).
 */
export function departureAt(r: Parameters<typeof toDeparture>[0] & OnSaleColumns, now: Date): Departure {
  // a departure that no longer sells (cancelled, past its cut-off) takes no new listing: nothing to list
  const unlistedTeu = takesListings({ status: r.status, cutoffAt: r.cutoff_at }, now) ? unpromisedTeu({ capacityTeu: r.capacity_teu, heldTeu: r.held_teu, bookedTeu: r.booked_teu, listedTeu: r.listed_teu ?? 0 }) : 0;
  return { ...toDeparture(r), unlistedTeu, onSale: onSaleAt(onSaleTermsOf(r), now) };
}
