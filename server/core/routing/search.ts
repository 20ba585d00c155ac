import {
  beginSearch,
  count,
  lArr,
  lBid,
  lCluster,
  lCo2,
  lCost,
  lEntry,
  lFirstDep,
  lKilled,
  lMode,
  lParent,
  lVis,
  offerBag,
  offerRoot,
  offerTarget,
  onPath,
  push,
  target,
  targetPrunes,
} from './labels.ts';
import { compareAnswer, enumerateRoutes } from './plan.ts';
import { copyLeg, type Entry, type Timetable } from './timetable.ts';
import type { ItineraryPlan, PlannedTransfer, RouteQuery, RoutingParams, TimetableLeg } from './types.ts';

/**
 * Multi-criteria route search over the {@link Timetable}, of the McRAPTOR family.
 *
 * Round k extends the labels created in round k−1 by one leg, so a label of round k is a chain of exactly k
 * legs. A label is (totalCents, arrivesAt, co2eGrams, needsBid) plus what the rules and the tie-break need
 * (legs, first departure, visited clusters, parent). Labels live in a Pareto bag per (cluster, arrival mode):
 * the arrival mode matters because the minimum connection time depends on it. A candidate is dropped when
 *  - a label of its bag is no worse on all four and either cheaper or lower in CO2e (sums: that stays so
 *    whatever follows) or first in the contract's tie-break (arriving earlier at a transfer, or not needing a
 *    bid so far, is not enough on its own: both may go on with the same legs and end with the same vector),
 *    and — when the candidate still has ≥ 2 legs to go — visited no cluster the candidate did not (a chain
 *    must be a simple path, so a label that visited more clusters cannot stand in for one that did not);
 *  - the target bag (complete itineraries found so far) dominates every completion of it: each further leg
 *    adds at least the handling at this cluster, and arrivals only grow;
 *  - it exceeds maxTotalCents, or cannot reach the destination in the legs left (hop bound from a backward
 *    BFS over the cluster graph).
 * Legs are read per origin cluster from an array sorted by departsAt, starting (binary search) at the earliest
 * feasible departure and stopping at deliverBy. Labels are stored in reusable typed arrays (no allocation per
 * label, see `labels.ts`); a search runs synchronously, so one store serves every search of the process.
 *
 * The answer is exactly {@link enumerateRoutes}'s: one itinerary per non-dominated vector, same tie-break,
 * same order. The pruning assumes legs with cutoffAt ≤ departsAt ≤ arrivesAt, price and distance ≥ 0 and
 * transfer rules ≥ 0; while the timetable or the parameters break that, the search runs the enumeration.
 */


const MINUTE_MS = 60_000;

// ---- per-search scratch of the search itself ----
let mctMs = new Float64Array(0); // [cluster*4 + fromMode*2 + toMode]
let handC = new Float64Array(0); // handling cents × teu per cluster
let handG = new Float64Array(0); // handling grams × teu per cluster
let hop = new Int32Array(0);
let toIdx = 0;
let fromIdx = 0;
let maxLegs = 0;

function ensureClusters(n: number): void {
  if (hop.length >= n) return;
  const m = Math.max(64, n * 2);
  mctMs = new Float64Array(m * 4);
  handC = new Float64Array(m);
  handG = new Float64Array(m);
  hop = new Int32Array(m);
}

function lowerBound(bucket: Entry[], t: number): number {
  let lo = 0;
  let hi = bucket.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bucket[mid]!.leg.departsAt < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Itinerary of target label `t`. */
function planOf(t: number, tt: Timetable): ItineraryPlan {
  const chain: TimetableLeg[] = [];
  for (let j = t; j >= 0; j = lParent[j]!) chain.push(copyLeg(lEntry[j]!.leg));
  chain.reverse();
  const transfers: PlannedTransfer[] = [];
  for (let i = 1; i < chain.length; i++) {
    const c = tt.indexOf(chain[i]!.origin);
    transfers.push({
      at: chain[i]!.origin,
      waitMinutes: Math.round((chain[i]!.departsAt - chain[i - 1]!.arrivesAt) / MINUTE_MS),
      handlingCents: handC[c]!,
    });
  }
  return {
    legs: chain,
    transfers,
    totalCents: lCost[t]!,
    co2eGrams: lCo2[t]!,
    departsAt: chain[0]!.departsAt,
    arrivesAt: lArr[t]!,
    bookable: lBid[t] === 0,
  };
}

/**
 * Loads the transfer rules of every cluster into the scratch arrays; false when a value the pruning needs
 * non-negative is not (a rule, an emission factor, teu or tonnes).
 */
function loadTransfers(tt: Timetable, q: RouteQuery, params: RoutingParams): boolean {
  if (!(q.teu >= 0 && q.tonnes >= 0 && params.gramsPerTonneKm.rail >= 0 && params.gramsPerTonneKm.barge >= 0)) return false;
  const n = tt.clusterCodes.length;
  for (let c = 0; c < n; c++) {
    const rule = params.transfer(tt.clusterCodes[c]!);
    const m = rule.minConnectionMinutes;
    const v = [m['rail-rail'], m['rail-barge'], m['barge-rail'], m['barge-barge']];
    for (let k = 0; k < 4; k++) {
      if (!(v[k]! >= 0)) return false;
      mctMs[c * 4 + k] = v[k]! * MINUTE_MS;
    }
    if (!(rule.handlingCentsPerTeu >= 0) || !(rule.handlingCo2eGramsPerTeu >= 0)) return false;
    handC[c] = rule.handlingCentsPerTeu * q.teu;
    handG[c] = rule.handlingCo2eGramsPerTeu * q.teu;
  }
  return true;
}

/** Fewest legs from every cluster to the destination over the allowed modes (a lower bound, paths not simple). */
function hopBound(tt: Timetable, railOk: boolean, bargeOk: boolean): void {
  const n = tt.clusterCodes.length;
  hop.fill(1 << 20, 0, n);
  hop[toIdx] = 0;
  let frontier = [toIdx];
  for (let d = 1; d <= maxLegs && frontier.length > 0; d++) {
    const next: number[] = [];
    for (const v of frontier) {
      for (const [o, counts] of tt.incoming[v]!) {
        if (hop[o]! <= d) continue;
        if ((railOk && counts[0] > 0) || (bargeOk && counts[1] > 0)) {
          hop[o] = d;
          next.push(o);
        }
      }
    }
    frontier = next;
  }
}

/**
 * The Pareto set of itineraries for a request (see the contract): equal to {@link enumerateRoutes} over the
 * timetable's legs, in the same order with the same tie-break.
 */
export function searchRoutes(tt: Timetable, q: RouteQuery, params: RoutingParams): ItineraryPlan[] {
  fromIdx = tt.indexOf(q.from);
  toIdx = tt.indexOf(q.to);
  // leg i (0-based) is allowed while i < maxLegs; a simple path has at most (clusters − 1) legs
  maxLegs = Math.min(255, tt.clusterCodes.length - 1, Math.ceil(q.maxLegs));
  if (fromIdx < 0 || toIdx < 0 || fromIdx === toIdx || !(maxLegs >= 1)) return [];
  const railOk = q.modes.includes('rail');
  const bargeOk = q.modes.includes('barge');
  if (!railOk && !bargeOk) return [];
  const n = tt.clusterCodes.length;
  ensureClusters(n);
  if (tt.irregularCount > 0 || !loadTransfers(tt, q, params)) return enumerateRoutes(tt.legs(), q, params);
  hopBound(tt, railOk, bargeOk);
  if (hop[fromIdx]! > maxLegs) return [];
  beginSearch(n, fromIdx, maxLegs);

  const { teu, tonnes, now, readyAt, deliverBy } = q;
  const budget = q.maxTotalCents ?? Infinity;
  const gRail = params.gramsPerTonneKm.rail;
  const gBarge = params.gramsPerTonneKm.barge;

  // round 1: legs out of the origin (cutoffAt ≤ departsAt, so departsAt ≥ readyAt)
  const root = -1;
  const rootVis = 1 << (fromIdx & 31);
  {
    const bucket = tt.buckets[fromIdx]!;
    for (let p = lowerBound(bucket, readyAt); p < bucket.length; p++) {
      const e = bucket[p]!;
      const leg = e.leg;
      if (leg.departsAt > deliverBy) break;
      if (e.m === 0 ? !railOk : !bargeOk) continue;
      if (!(now < leg.cutoffAt) || !(readyAt <= leg.cutoffAt) || leg.arrivesAt > deliverBy) continue;
      if (!(teu <= leg.depFreeTeu && teu <= leg.listingRemainingTeu && tonnes <= leg.depFreeTonnes)) continue;
      const d = e.d;
      if (d === fromIdx || hop[d]! > maxLegs - 1) continue;
      const cost = leg.unitPriceCents * teu;
      if (cost > budget) continue;
      const co2 = Math.round(tonnes * leg.distanceKm * (e.m === 0 ? gRail : gBarge));
      if (d === toIdx) {
        offerTarget(push(cost, leg.arrivesAt, co2, e.bid, 1, leg.departsAt, e.m, d, root, rootVis | (1 << (d & 31)), e));
        continue;
      }
      if (cost + handC[d]! > budget) continue;
      if (targetPrunes(cost + handC[d]!, leg.arrivesAt, co2 + handG[d]!, e.bid, 1)) continue;
      // round-1 labels have no parent: offerBag reads the parent's visited bits, so store them directly
      offerRoot(cost, leg.arrivesAt, co2, e.bid, leg.departsAt, e.m, d, rootVis, e);
    }
  }

  let start = 0;
  for (let round = 2; round <= maxLegs; round++) {
    const end = count;
    if (start >= end) break;
    const legsLeft = maxLegs - round; // after the new leg
    for (let i = start; i < end; i++) {
      const v = lCluster[i]!;
      if (v === toIdx) continue;
      const killed = lKilled[i]!;
      if (killed !== 0 && killed < round) continue;
      const cost0 = lCost[i]! + handC[v]!;
      const co20 = lCo2[i]! + handG[v]!;
      const arr = lArr[i]!;
      const bid0 = lBid[i]!;
      if (cost0 > budget || targetPrunes(cost0, arr, co20, bid0, round - 1)) continue;
      const base = v * 4 + lMode[i]! * 2;
      const mRail = mctMs[base]!;
      const mBarge = mctMs[base + 1]!;
      const minWait = railOk && bargeOk ? Math.min(mRail, mBarge) : railOk ? mRail : mBarge;
      const bucket = tt.buckets[v]!;
      const firstDep = lFirstDep[i]!;
      for (let p = lowerBound(bucket, arr + minWait); p < bucket.length; p++) {
        const e = bucket[p]!;
        const leg = e.leg;
        if (leg.departsAt > deliverBy) break;
        if (e.m === 0 ? !railOk : !bargeOk) continue;
        if (leg.arrivesAt > deliverBy || !(now < leg.cutoffAt) || arr > leg.cutoffAt) continue;
        if (arr + (e.m === 0 ? mRail : mBarge) > leg.departsAt) continue;
        if (!(teu <= leg.depFreeTeu && teu <= leg.listingRemainingTeu && tonnes <= leg.depFreeTonnes)) continue;
        const d = e.d;
        if (hop[d]! > legsLeft || d === fromIdx || onPath(i, d)) continue;
        const cost = cost0 + leg.unitPriceCents * teu;
        if (cost > budget) continue;
        const co2 = co20 + Math.round(tonnes * leg.distanceKm * (e.m === 0 ? gRail : gBarge));
        const bid = bid0 | e.bid;
        if (d === toIdx) {
          offerTarget(push(cost, leg.arrivesAt, co2, bid, round, firstDep, e.m, d, i, lVis[i]! | (1 << (d & 31)), e));
          continue;
        }
        const hc = handC[d]!;
        if (cost + hc > budget || targetPrunes(cost + hc, leg.arrivesAt, co2 + handG[d]!, bid, round)) continue;
        offerBag(cost, leg.arrivesAt, co2, bid, round, firstDep, e.m, d, i, e);
      }
    }
    start = end;
  }

  const plans = target.map((t) => planOf(t, tt));
  return plans.sort(compareAnswer);
}

/** Round-1 variant of offerBag (the parent is the origin, whose visited set is `rootVis`). */