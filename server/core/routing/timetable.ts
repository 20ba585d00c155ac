import type { TimetableLeg } from './types.ts';

/**
 * The in-memory timetable of the route search: every open (departure, listing) leg, indexed for the search.
 *
 * - Legs are kept per origin cluster in an array sorted by (departsAt, listingId), so the search reaches the
 *   legs leaving a cluster after a given time by binary search.
 * - Capacity and price updates (`setDepartureFree`, `setListing`) change the stored legs in place: O(legs of
 *   that departure / listing). Inserting or removing a leg is a binary search plus one array splice in its
 *   origin's bucket.
 * - The timetable keeps its own copies: callers' objects are never aliased, and `legs()` / `leg()` return copies.
 *
 * Pure: no I/O, no clock.
 */

/** One stored leg with its cluster indices (internal to the routing core). */
export interface Entry {
  /** The stored copy (mutated in place by capacity / price updates). */
  leg: TimetableLeg;
  /** Origin cluster index. */
  o: number;
  /** Destination cluster index. */
  d: number;
  /** 0 = rail, 1 = barge. */
  m: number;
  /** 1 when the listing needs a bid (ascending, sealed). */
  bid: number;
  /** The leg breaks an assumption the search's pruning relies on (see {@link isRegular}). */
  irregular: boolean;
}

/**
 * Whether a leg satisfies what the search's pruning assumes: finite numbers, cutoffAt ≤ departsAt ≤ arrivesAt,
 * non-negative price and distance. (True of every real leg; the search falls back to the exhaustive reference
 * while the timetable holds a leg that is not.)
 */
export function isRegular(l: TimetableLeg): boolean {
  return (
    Number.isFinite(l.departsAt) &&
    Number.isFinite(l.arrivesAt) &&
    Number.isFinite(l.cutoffAt) &&
    Number.isFinite(l.unitPriceCents) &&
    Number.isFinite(l.distanceKm) &&
    l.cutoffAt <= l.departsAt &&
    l.departsAt <= l.arrivesAt &&
    l.unitPriceCents >= 0 &&
    l.distanceKm >= 0
  );
}

const copyLeg = (l: TimetableLeg): TimetableLeg => ({
  listingId: l.listingId,
  departureId: l.departureId,
  corridorId: l.corridorId,
  mode: l.mode,
  origin: l.origin,
  destination: l.destination,
  departsAt: l.departsAt,
  arrivesAt: l.arrivesAt,
  cutoffAt: l.cutoffAt,
  distanceKm: l.distanceKm,
  depFreeTeu: l.depFreeTeu,
  depFreeTonnes: l.depFreeTonnes,
  listingRemainingTeu: l.listingRemainingTeu,
  unitPriceCents: l.unitPriceCents,
  format: l.format,
});

/** Order of a bucket: departsAt, then listingId. */
const before = (a: TimetableLeg, departsAt: number, listingId: string) =>
  a.departsAt < departsAt || (a.departsAt === departsAt && a.listingId < listingId);

export class Timetable {
  /** Bumps on every change. */
  version = 0;
  /** @internal cluster code → index (indices are never reused). */
  readonly clusterIndex = new Map<string, number>();
  /** @internal cluster codes by index. */
  readonly clusterCodes: string[] = [];
  /** @internal legs leaving each cluster (by index), sorted by (departsAt, listingId). */
  readonly buckets: Entry[][] = [];
  /** @internal incoming legs per cluster: origin index → [rail legs, barge legs] (for the hop bound). */
  readonly incoming: Map<number, [number, number]>[] = [];
  /** @internal number of stored legs that are not {@link isRegular}. */
  irregularCount = 0;
  private readonly byListing = new Map<string, Entry>();
  private readonly byDeparture = new Map<string, Set<Entry>>();

  constructor(legs: TimetableLeg[] = []) {
    for (const l of legs) this.upsertLeg(l);
    this.version = 0;
  }

  /** Number of legs. */
  get size(): number {
    return this.byListing.size;
  }

  /** @internal index of a cluster code, or -1. */
  indexOf(code: string): number {
    return this.clusterIndex.get(code) ?? -1;
  }

  private cluster(code: string): number {
    let i = this.clusterIndex.get(code);
    if (i === undefined) {
      i = this.clusterCodes.length;
      this.clusterIndex.set(code, i);
      this.clusterCodes.push(code);
      this.buckets.push([]);
      this.incoming.push(new Map());
    }
    return i;
  }

  /** Position of the first entry of `bucket` not before (departsAt, listingId). */
  private static lowerBound(bucket: Entry[], departsAt: number, listingId: string): number {
    let lo = 0;
    let hi = bucket.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(bucket[mid]!.leg, departsAt, listingId)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private countEdge(e: Entry, delta: number): void {
    const inc = this.incoming[e.d]!;
    let c = inc.get(e.o);
    if (!c) inc.set(e.o, (c = [0, 0]));
    c[e.m]! += delta;
    if (c[0] === 0 && c[1] === 0) inc.delete(e.o);
  }

  /** Adds a leg, or replaces the stored leg of the same listing. */
  upsertLeg(leg: TimetableLeg): void {
    const old = this.byListing.get(leg.listingId);
    if (old) this.detach(old);
    const copy = copyLeg(leg);
    const e: Entry = {
      leg: copy,
      o: this.cluster(copy.origin),
      d: this.cluster(copy.destination),
      m: copy.mode === 'barge' ? 1 : 0,
      bid: copy.format === 'ascending' || copy.format === 'sealed' ? 1 : 0,
      irregular: !isRegular(copy),
    };
    const bucket = this.buckets[e.o]!;
    bucket.splice(Timetable.lowerBound(bucket, copy.departsAt, copy.listingId), 0, e);
    this.byListing.set(copy.listingId, e);
    let dep = this.byDeparture.get(copy.departureId);
    if (!dep) this.byDeparture.set(copy.departureId, (dep = new Set()));
    dep.add(e);
    this.countEdge(e, 1);
    if (e.irregular) this.irregularCount++;
    this.version++;
  }

  private detach(e: Entry): void {
    const bucket = this.buckets[e.o]!;
    const i = Timetable.lowerBound(bucket, e.leg.departsAt, e.leg.listingId);
    if (bucket[i] === e) bucket.splice(i, 1);
    this.byListing.delete(e.leg.listingId);
    const dep = this.byDeparture.get(e.leg.departureId);
    if (dep) {
      dep.delete(e);
      if (dep.size === 0) this.byDeparture.delete(e.leg.departureId);
    }
    this.countEdge(e, -1);
    if (e.irregular) this.irregularCount--;
  }

  /** Removes the leg of a listing (no-op if unknown). */
  removeListing(listingId: string): void {
    const e = this.byListing.get(listingId);
    if (!e) return;
    this.detach(e);
    this.version++;
  }

  /** Sets the free TEU and tonnes of a departure on all its legs: O(legs of that departure). */
  setDepartureFree(departureId: string, freeTeu: number, freeTonnes: number): void {
    const dep = this.byDeparture.get(departureId);
    if (!dep) return;
    for (const e of dep) {
      e.leg.depFreeTeu = freeTeu;
      e.leg.depFreeTonnes = freeTonnes;
    }
    this.version++;
  }

  /** Updates a listing's remaining TEU and/or price; `open: false` removes it. O(1). */
  setListing(listingId: string, patch: { remainingTeu?: number; unitPriceCents?: number; open?: boolean }): void {
    const e = this.byListing.get(listingId);
    if (!e) return;
    if (patch.open === false) {
      this.removeListing(listingId);
      return;
    }
    if (patch.remainingTeu !== undefined) e.leg.listingRemainingTeu = patch.remainingTeu;
    if (patch.unitPriceCents !== undefined) {
      e.leg.unitPriceCents = patch.unitPriceCents;
      const irregular = !isRegular(e.leg);
      if (irregular !== e.irregular) this.irregularCount += irregular ? 1 : -1;
      e.irregular = irregular;
    }
    this.version++;
  }

  /** Drops every leg whose cut-off has passed (`cutoffAt ≤ now`). O(size). */
  pruneBefore(now: number): void {
    let dropped = 0;
    for (let c = 0; c < this.buckets.length; c++) {
      const bucket = this.buckets[c]!;
      let w = 0;
      for (let r = 0; r < bucket.length; r++) {
        const e = bucket[r]!;
        if (e.leg.cutoffAt > now) bucket[w++] = e;
        else {
          dropped++;
          this.byListing.delete(e.leg.listingId);
          const dep = this.byDeparture.get(e.leg.departureId);
          if (dep) {
            dep.delete(e);
            if (dep.size === 0) this.byDeparture.delete(e.leg.departureId);
          }
          this.countEdge(e, -1);
          if (e.irregular) this.irregularCount--;
        }
      }
      bucket.length = w;
    }
    if (dropped > 0) this.version++;
  }

  /** Copies of all legs, by origin cluster then departure time. */
  legs(): TimetableLeg[] {
    const out: TimetableLeg[] = [];
    for (const bucket of this.buckets) for (const e of bucket) out.push(copyLeg(e.leg));
    return out;
  }

  /** A copy of the leg of a listing. */
  leg(listingId: string): TimetableLeg | undefined {
    const e = this.byListing.get(listingId);
    return e ? copyLeg(e.leg) : undefined;
  }
}

export { copyLeg };
