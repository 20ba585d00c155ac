import type { Entry } from './timetable.ts';

/**
 * The label store of the route search (see `search.ts`): labels in reusable typed arrays (structure of arrays,
 * no allocation per label), Pareto bags per (cluster, arrival mode) as linked lists, the target bag, and the
 * dominance and tie-break rules between labels. A search runs synchronously, so one store serves every search
 * of the process. Internal to the routing core.
 */

// ---- scratch label store (structure of arrays) ----
let cap = 0;
export let lCost = new Float64Array(0);
export let lArr = new Float64Array(0);
export let lCo2 = new Float64Array(0);
export let lFirstDep = new Float64Array(0);
export let lBid = new Uint8Array(0);
export let lLegs = new Uint8Array(0);
export let lMode = new Uint8Array(0);
export let lKilled = new Uint8Array(0); // round in which the label left its bag, 0 = still in it
export let lCluster = new Int32Array(0);
export let lParent = new Int32Array(0);
export let lVis = new Int32Array(0); // visited clusters as bits (index & 31): exact when the timetable has ≤ 32 clusters
export let lNext = new Int32Array(0); // next label of the same bag
export const lEntry: Entry[] = [];
export let count = 0;

function grow(min: number): void {
  let n = Math.max(1024, cap * 2);
  while (n < min) n *= 2;
  const f = (a: Float64Array) => {
    const b = new Float64Array(n);
    b.set(a);
    return b;
  };
  const u = (a: Uint8Array) => {
    const b = new Uint8Array(n);
    b.set(a);
    return b;
  };
  const i = (a: Int32Array) => {
    const b = new Int32Array(n);
    b.set(a);
    return b;
  };
  lCost = f(lCost);
  lArr = f(lArr);
  lCo2 = f(lCo2);
  lFirstDep = f(lFirstDep);
  lBid = u(lBid);
  lLegs = u(lLegs);
  lMode = u(lMode);
  lKilled = u(lKilled);
  lCluster = i(lCluster);
  lParent = i(lParent);
  lVis = i(lVis);
  lNext = i(lNext);
  cap = n;
}

// ---- per-search state of the label store (set by beginSearch) ----
let bagHead = new Int32Array(0); // first label of each (cluster, mode) bag, -1 = empty
/** Labels of complete itineraries (at the destination), the current Pareto set. */
export const target: number[] = [];
let exactVis = true;
let fromIdx = 0;
let maxLegs = 0;

/** Empties the store for a search over `clusters` clusters from cluster `from` with at most `legs` legs. */
export function beginSearch(clusters: number, from: number, legs: number): void {
  if (bagHead.length < clusters * 2) bagHead = new Int32Array(Math.max(128, clusters * 4));
  bagHead.fill(-1, 0, clusters * 2);
  exactVis = clusters <= 32;
  fromIdx = from;
  maxLegs = legs;
  target.length = 0;
  count = 0;
}

export function onPath(i: number, c: number): boolean {
  if ((lVis[i]! & (1 << (c & 31))) === 0) return false;
  if (exactVis) return true;
  if (c === fromIdx) return true;
  for (let j = i; j >= 0; j = lParent[j]!) if (lCluster[j] === c) return true;
  return false;
}

/** Whether every cluster on the path of `a` is on the path of `b`. */
function subsetPath(a: number, b: number): boolean {
  if ((lVis[a]! & ~lVis[b]!) !== 0) return false;
  if (exactVis) return true;
  for (let j = a; j >= 0; j = lParent[j]!) if (!onPath(b, lCluster[j]!)) return false;
  return true;
}

function keyOf(i: number): string {
  const ids: string[] = [];
  for (let j = i; j >= 0; j = lParent[j]!) ids.push(lEntry[j]!.leg.listingId);
  return ids.reverse().join(',');
}

/**
 * Tie-break between labels of the same vector: fewer legs, earlier first departure, smaller key. With
 * `stable`, only when the order survives appending the same legs to both (a key that is a prefix of the other
 * is only "smaller" after extension if the other's next character sorts after ',').
 */
function tieBefore(a: number, b: number, stable: boolean): boolean {
  if (lLegs[a] !== lLegs[b]) return lLegs[a]! < lLegs[b]!;
  if (lFirstDep[a] !== lFirstDep[b]) return lFirstDep[a]! < lFirstDep[b]!;
  const ka = keyOf(a);
  const kb = keyOf(b);
  if (!(ka < kb)) return false;
  if (!stable || !kb.startsWith(ka)) return true;
  return kb.charCodeAt(ka.length) > 44;
}

/** A new label; returns its index. */
export function push(
  cost: number,
  arr: number,
  co2: number,
  bid: number,
  legs: number,
  firstDep: number,
  mode: number,
  cluster: number,
  parent: number,
  vis: number,
  entry: Entry,
): number {
  if (count >= cap) grow(count + 1);
  const i = count++;
  lCost[i] = cost;
  lArr[i] = arr;
  lCo2[i] = co2;
  lBid[i] = bid;
  lLegs[i] = legs;
  lFirstDep[i] = firstDep;
  lMode[i] = mode;
  lCluster[i] = cluster;
  lParent[i] = parent;
  lVis[i] = vis;
  lKilled[i] = 0;
  lNext[i] = -1;
  lEntry[i] = entry;
  return i;
}

/** Whether a target label dominates every completion of a label at a non-target cluster with these bounds. */
export function targetPrunes(cost: number, arr: number, co2: number, bid: number, legs: number): boolean {
  for (let t = 0; t < target.length; t++) {
    const j = target[t]!;
    if (lCost[j]! <= cost && lArr[j]! <= arr && lCo2[j]! <= co2 && lBid[j]! <= bid) {
      if (lCost[j]! < cost || lArr[j]! < arr || lCo2[j]! < co2 || lBid[j]! < bid || lLegs[j]! <= legs) return true;
    }
  }
  return false;
}

/** Merges complete label `c` into the target bag (exact Pareto, contract tie-break). */
export function offerTarget(c: number): void {
  const cost = lCost[c]!;
  const arr = lArr[c]!;
  const co2 = lCo2[c]!;
  const bid = lBid[c]!;
  for (let t = 0; t < target.length; t++) {
    const j = target[t]!;
    if (lCost[j]! <= cost && lArr[j]! <= arr && lCo2[j]! <= co2 && lBid[j]! <= bid) {
      const equal = lCost[j] === cost && lArr[j] === arr && lCo2[j] === co2 && lBid[j] === bid;
      if (!equal || !tieBefore(c, j, false)) {
        count--; // c is the label pushed last
        return;
      }
    }
  }
  let w = 0;
  for (let t = 0; t < target.length; t++) {
    const j = target[t]!;
    const dominated = cost <= lCost[j]! && arr <= lArr[j]! && co2 <= lCo2[j]! && bid <= lBid[j]!;
    if (!dominated) target[w++] = j;
  }
  target.length = w;
  target.push(c);
}

/**
 * Offers a candidate (not yet stored) to the bag of (cluster, mode); stores it and returns true when it
 * survives. `round` = its number of legs.
 */
export function offerBag(
  cost: number,
  arr: number,
  co2: number,
  bid: number,
  round: number,
  firstDep: number,
  mode: number,
  cluster: number,
  parent: number,
  entry: Entry,
): boolean {
  const slot = cluster * 2 + mode;
  const needSubset = maxLegs - round >= 2;
  const vis = lVis[parent]! | (1 << (cluster & 31));
  // the candidate is stored first (tie-break and path checks read it), and dropped again if beaten
  const c = push(cost, arr, co2, bid, round, firstDep, mode, cluster, parent, vis, entry);
  for (let j = bagHead[slot]!; j >= 0; j = lNext[j]!) {
    if (lCost[j]! <= cost && lArr[j]! <= arr && lCo2[j]! <= co2 && lBid[j]! <= bid) {
      if ((lCost[j]! < cost || lCo2[j]! < co2 || tieBefore(j, c, true)) && (!needSubset || subsetPath(j, c))) {
        count--;
        return false;
      }
    }
  }
  let prev = -1;
  for (let j = bagHead[slot]!; j >= 0; j = lNext[j]!) {
    let drop = false;
    if (cost <= lCost[j]! && arr <= lArr[j]! && co2 <= lCo2[j]! && bid <= lBid[j]!) {
      drop =
        (cost < lCost[j]! || co2 < lCo2[j]! || tieBefore(c, j, true)) &&
        (lLegs[j]! < round || !needSubset || subsetPath(c, j));
    }
    if (drop) {
      lKilled[j] = round;
      if (prev < 0) bagHead[slot] = lNext[j]!;
      else lNext[prev] = lNext[j]!;
    } else prev = j;
  }
  lNext[c] = bagHead[slot]!;
  bagHead[slot] = c;
  return true;
}

export function offerRoot(
  cost: number,
  arr: number,
  co2: number,
  bid: number,
  firstDep: number,
  mode: number,
  cluster: number,
  rootVis: number,
  entry: Entry,
): void {
  // all round-1 labels at a cluster visited the same clusters (origin, cluster), so no path condition is needed
  const slot = cluster * 2 + mode;
  const c = push(cost, arr, co2, bid, 1, firstDep, mode, cluster, -1, rootVis | (1 << (cluster & 31)), entry);
  for (let j = bagHead[slot]!; j >= 0; j = lNext[j]!) {
    if (lCost[j]! <= cost && lArr[j]! <= arr && lCo2[j]! <= co2 && lBid[j]! <= bid) {
      if (lCost[j]! < cost || lCo2[j]! < co2 || tieBefore(j, c, true)) {
        count--;
        return;
      }
    }
  }
  let prev = -1;
  for (let j = bagHead[slot]!; j >= 0; j = lNext[j]!) {
    let drop = false;
    if (cost <= lCost[j]! && arr <= lArr[j]! && co2 <= lCo2[j]! && bid <= lBid[j]!) {
      drop = cost < lCost[j]! || co2 < lCo2[j]! || tieBefore(c, j, true);
    }
    if (drop) {
      lKilled[j] = 1;
      if (prev < 0) bagHead[slot] = lNext[j]!;
      else lNext[prev] = lNext[j]!;
    } else prev = j;
  }
  lNext[c] = bagHead[slot]!;
  bagHead[slot] = c;
}
