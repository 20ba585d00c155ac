import { sql, type Kysely } from 'kysely';
import { minAcceptableBid, type AuctionBid, type AuctionConfig } from '../../core/auction.ts';
import { fallingPrice, MIN_UNIT_PRICE_CENTS, type FallingSchedule } from '../../core/pricing.ts';
import type { TimetableLeg } from '../../core/routing.ts';
import type { DB } from './schema.ts';
import { departureQuery } from './departures-repo.ts';

/**
 * The route search's reads (issue 12): every open listing on a departure that still sells, as the legs of
 * the in-memory timetable (server/services/routes.ts). One query for all legs (or those of some departures,
 * some listings, or those created or opened since an instant); ascending auctions get their live bids in a second one.
 */

/** A leg as loaded, with what keeps it current: its departure's `seq` and, for a falling listing, its schedule. */
export interface LoadedLeg {
  leg: TimetableLeg;
  /** The departure's `seq` when read (the version `departure:availability` events carry). */
  departureSeq: number;
  /** A falling listing's price schedule (its price steps with time), else null. */
  falling: FallingSchedule | null;
}

export interface LegFilter {
  departureIds?: string[];
  listingIds?: string[];
  /**
   * Only listings new to the search since this instant: created, or opened (their `opensAt` reached), at or after it
   * (the periodic pick-up of new listings).
   */
  newSince?: Date;
}

/** Open listings (their opensAt reached) of scheduled departures whose cut-off is after `now`, with their departure and corridor. */
function legQuery(db: Kysely<DB>, now: Date, f: LegFilter) {
  let q = departureQuery(db)
    .innerJoin('listings as l', 'l.departure_id', 'd.id')
    .select([
      'l.id as listing_id', 'l.format', 'l.teu as listing_teu', 'l.remaining_teu', 'l.unit_price_cents', 'l.reserve_price_cents',
      'l.min_increment_cents', 'l.floor_price_cents', 'l.step_cents', 'l.step_every_minutes', 'l.opens_at', 'l.closes_at',
      'l.max_close_at', 'l.created_at as listing_created_at',
    ])
    .where('l.status', '=', 'open')
    .where('d.status', '=', 'scheduled')
    .where('d.cutoff_at', '>', now)
    // a listing not open yet sells nothing (holds and bids are refused before its opensAt): searched from then on
    .where((eb) => eb.or([eb('l.opens_at', 'is', null), eb('l.opens_at', '<=', now)]))
    // an auction past its (latest) close takes no more bids, even before the close job has run
    .where((eb) => eb.or([
      eb('l.format', 'in', ['fixed', 'falling']),
      eb(sql`least(l.closes_at, coalesce(l.max_close_at, l.closes_at))`, '>', now),
    ]));
  if (f.departureIds) q = q.where('d.id', 'in', f.departureIds.length ? f.departureIds : ['00000000-0000-0000-0000-000000000000']);
  if (f.listingIds) q = q.where('l.id', 'in', f.listingIds.length ? f.listingIds : ['00000000-0000-0000-0000-000000000000']);
  const since = f.newSince;
  if (since) q = q.where((eb) => eb.or([eb('l.created_at', '>=', since), eb('l.opens_at', '>=', since)]));
  return q;
}

type LegRow = Awaited<ReturnType<ReturnType<typeof legQuery>['execute']>>[number];

/** The schedule `currentUnitPrice` (listings-repo) prices a falling listing with, with the same defaults. */
function scheduleOf(r: LegRow): FallingSchedule | null {
  if (r.format !== 'falling' || r.unit_price_cents === null) return null;
  return {
    startPriceCents: r.unit_price_cents,
    floorPriceCents: r.floor_price_cents ?? r.unit_price_cents,
    stepCents: r.step_cents ?? 0,
    stepEveryMinutes: r.step_every_minutes ?? 60,
    startsAt: r.opens_at ?? r.listing_created_at,
  };
}

/** The pure core's view of an ascending auction (only the fields the minimum bid depends on matter). */
function auctionOf(r: LegRow): AuctionConfig {
  const closesAt = r.closes_at ?? r.listing_created_at;
  return {
    format: r.format as 'ascending' | 'sealed',
    teu: r.listing_teu,
    reservePriceCents: r.reserve_price_cents ?? 0,
    minIncrementCents: r.min_increment_cents ?? 1,
    opensAt: r.opens_at ?? r.listing_created_at,
    closesAt,
    softCloseWindowMs: 0,
    softCloseExtendMs: 0,
    maxCloseAt: r.max_close_at ?? closesAt,
  };
}

/**
 * The unit price a leg is searched with: fixed, its price; falling, its price at `now`; an auction, the lowest
 * bid that would be accepted now (the core's `minAcceptableBid`: sealed, the reserve; ascending, the reserve
 * while TEU are unallocated, else the lowest winning bid + the minimum increment — the `minNextBidCents` its
 * live ladder shows), never below the lowest price anything sells at.
 */
function unitPriceOf(r: LegRow, bids: AuctionBid[] | undefined, now: Date): number {
  if (r.format === 'fixed') return r.unit_price_cents ?? MIN_UNIT_PRICE_CENTS;
  if (r.format === 'falling') {
    const s = scheduleOf(r);
    return s ? fallingPrice(s, now) : MIN_UNIT_PRICE_CENTS;
  }
  return Math.max(MIN_UNIT_PRICE_CENTS, minAcceptableBid(auctionOf(r), bids ?? []));
}

/** Active bids of the open ascending auctions among `rows`, by listing. */
async function ascendingBids(db: Kysely<DB>, rows: LegRow[]): Promise<Map<string, AuctionBid[]>> {
  const ids = rows.filter((r) => r.format === 'ascending').map((r) => r.listing_id);
  const out = new Map<string, AuctionBid[]>();
  for (let i = 0; i < ids.length; i += 1000) {
    const bids = await db
      .selectFrom('bids')
      .select(['id', 'listing_id', 'org_id', 'teu', 'unit_price_cents', 'all_or_nothing', 'seq', 'placed_at', 'replaces_bid_id'])
      .where('listing_id', 'in', ids.slice(i, i + 1000))
      .where('status', '=', 'active')
      .execute();
    for (const b of bids) {
      const list = out.get(b.listing_id) ?? [];
      list.push({
        id: b.id, bidderId: b.org_id, teu: b.teu, unitPriceCents: b.unit_price_cents, allOrNothing: b.all_or_nothing, seq: Number(b.seq),
        placedAt: b.placed_at, ...(b.replaces_bid_id ? { replacesBidId: b.replaces_bid_id } : {}),
      });
      out.set(b.listing_id, list);
    }
  }
  return out;
}

/**
 * The legs of the route search at `now`: every open listing (fixed, falling, ascending, sealed) on a scheduled
 * departure whose cut-off is after `now` (auctions: also before their close), narrowed by `f`. Free capacity
 * is the departure's (capacity − held − booked), per TEU and tonne; the listing's remaining TEU beside it.
 */
export async function loadLegs(db: Kysely<DB>, now: Date, f: LegFilter = {}): Promise<LoadedLeg[]> {
  const rows = await legQuery(db, now, f).orderBy('d.id').orderBy('l.id').execute();
  const bids = await ascendingBids(db, rows);
  return rows.map((r) => ({
    leg: {
      listingId: r.listing_id,
      departureId: r.id,
      corridorId: r.corridor_id,
      mode: r.mode,
      origin: r.origin,
      destination: r.destination,
      departsAt: r.departs_at.getTime(),
      arrivesAt: r.arrives_at.getTime(),
      cutoffAt: r.cutoff_at.getTime(),
      distanceKm: r.distance_km,
      depFreeTeu: Math.max(0, r.capacity_teu - r.held_teu - r.booked_teu),
      depFreeTonnes: Math.max(0, r.capacity_tonnes - r.held_tonnes - r.booked_tonnes),
      listingRemainingTeu: r.remaining_teu,
      unitPriceCents: unitPriceOf(r, bids.get(r.listing_id), now),
      format: r.format,
    },
    departureSeq: Number(r.seq),
    falling: scheduleOf(r),
  }));
}

/** The clusters legs may start or end at: code and coordinates (for the road alternative). */
export function clusterPoints(db: Kysely<DB>) {
  return db.selectFrom('clusters').select(['code', 'lat', 'lon']).orderBy('code').execute();
}
