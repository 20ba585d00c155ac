import { departureMap } from './costs.ts';
import { planLoads } from './verify.ts';
import type { PoolInstance, PoolPlan } from './types.ts';

/**
 * Decomposition of an instance so that every part solves within its time limit.
 *
 * 1. {@link components}: connected components of the graph requests ↔ departures (an edge when a candidate of
 *    the request uses the departure). Components share nothing — no capacity, no consolidation rule, no
 *    departure — so solving them apart and stitching the plans is exact: the sum of their optima is the optimum.
 *    Requests without candidates and departures no candidate uses are in no component (unplaced / run iff
 *    mustRun).
 * 2. {@link splitByTime}: a component with more than `maxColumns` candidate columns is cut into chunks of
 *    requests ordered by their earliest candidate departure (a rolling horizon). Chunks do share departures,
 *    so they are solved one after the other, each on {@link residual}: the departures with what earlier chunks
 *    put on them counted as used (and kept running). This is a heuristic — the sum of chunk optima is not the
 *    component's optimum, and chunk bounds are no bound of it (the component's LP relaxation is).
 */

export interface Part {
  requestIds: string[];
  departureIds: string[];
  /** Candidate columns (x) of the part. */
  columns: number;
}

/** Connected components, largest first (ties: first request id). */
export function components(inst: PoolInstance): Part[] {
  const parent = new Map<string, string>();
  const find = (a: string): string => {
    let r = a;
    while (parent.get(r) !== r) r = parent.get(r)!;
    for (let c = a; c !== r; ) {
      const n = parent.get(c)!;
      parent.set(c, r);
      c = n;
    }
    return r;
  };
  const reqs = new Set(inst.requests.map((r) => r.id));
  const deps = departureMap(inst);
  const cols = new Map<string, number>();
  for (const k of inst.candidates) {
    if (!reqs.has(k.requestId) || !k.legs.every((l) => deps.has(l.departureId))) continue;
    const rn = `r:${k.requestId}`;
    if (!parent.has(rn)) parent.set(rn, rn);
    cols.set(k.requestId, (cols.get(k.requestId) ?? 0) + 1);
    for (const l of k.legs) {
      const dn = `d:${l.departureId}`;
      if (!parent.has(dn)) parent.set(dn, dn);
      const a = find(rn);
      const b = find(dn);
      if (a !== b) parent.set(a, b);
    }
  }
  const parts = new Map<string, Part>();
  const partOf = (node: string) => {
    const root = find(node);
    let p = parts.get(root);
    if (!p) parts.set(root, (p = { requestIds: [], departureIds: [], columns: 0 }));
    return p;
  };
  for (const r of inst.requests) {
    if (!cols.has(r.id)) continue;
    const p = partOf(`r:${r.id}`);
    p.requestIds.push(r.id);
    p.columns += cols.get(r.id)!;
  }
  for (const d of inst.departures) if (parent.has(`d:${d.id}`)) partOf(`d:${d.id}`).departureIds.push(d.id);
  return [...parts.values()].sort((a, b) => b.columns - a.columns || (a.requestIds[0]! < b.requestIds[0]! ? -1 : 1));
}

/** The sub-instance of some requests and departures (candidates of those requests over those departures). */
export function restrict(inst: PoolInstance, requestIds: readonly string[], departureIds: readonly string[]): PoolInstance {
  const rs = new Set(requestIds);
  const ds = new Set(departureIds);
  return {
    now: inst.now,
    requests: inst.requests.filter((r) => rs.has(r.id)),
    departures: inst.departures.filter((d) => ds.has(d.id)),
    legs: inst.legs.filter((l) => ds.has(l.departureId)),
    candidates: inst.candidates.filter((k) => rs.has(k.requestId) && k.legs.every((l) => ds.has(l.departureId))),
    road: inst.road,
  };
}

/** Chunks of a part's request ids of at most `maxColumns` columns each (at least one request per chunk). */
export function splitByTime(inst: PoolInstance, part: Part, maxColumns: number): string[][] {
  if (part.columns <= maxColumns) return [part.requestIds];
  const first = new Map<string, number>();
  const cols = new Map<string, number>();
  for (const k of inst.candidates) {
    first.set(k.requestId, Math.min(first.get(k.requestId) ?? Infinity, k.departsAt));
    cols.set(k.requestId, (cols.get(k.requestId) ?? 0) + 1);
  }
  const order = [...part.requestIds].sort((a, b) => first.get(a)! - first.get(b)! || (a < b ? -1 : 1));
  const chunks: string[][] = [];
  let cur: string[] = [];
  let n = 0;
  for (const id of order) {
    const c = cols.get(id) ?? 0;
    if (cur.length > 0 && n + c > maxColumns) {
      chunks.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(id);
    n += c;
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}

/**
 * The sub-instance of a chunk after `done` (the plan of earlier chunks, over the same instance): what those put
 * on a departure counts as used and the departure must run; a departure carrying a request that may not be
 * consolidated is full; requests that may not be consolidated lose candidates over departures that carry
 * pooled cargo already; listings keep what is left of them.
 */
export function residual(inst: PoolInstance, requestIds: readonly string[], departureIds: readonly string[], done: PoolPlan): PoolInstance {
  const sub = restrict(inst, requestIds, departureIds);
  const loads = planLoads(inst, done);
  const reqs = new Map(inst.requests.map((r) => [r.id, r]));
  const listingUsed = new Map<string, number>();
  const cands = new Map(inst.candidates.map((k) => [`${k.requestId}|${k.key}`, k]));
  for (const [rid, key] of Object.entries(done.assignment)) {
    const k = key == null ? undefined : cands.get(`${rid}|${key}`);
    for (const l of k?.legs ?? []) listingUsed.set(l.listingId, (listingUsed.get(l.listingId) ?? 0) + reqs.get(rid)!.teu);
  }
  const departures = sub.departures.map((d) => {
    const load = loads.get(d.id);
    if (!load) return d;
    const exclusive = load.riders.some((id) => !reqs.get(id)!.consolidate);
    return {
      ...d,
      usedTeu: exclusive ? d.capacityTeu : d.usedTeu + load.teu,
      usedTonnes: exclusive ? d.capacityTonnes : d.usedTonnes + load.tonnes,
      mustRun: true,
    };
  });
  const taken = new Set(loads.keys());
  const legs = sub.legs.map((l) => {
    const used = listingUsed.get(l.listingId) ?? 0;
    return used > 0 ? { ...l, listingRemainingTeu: l.listingRemainingTeu - used } : l;
  });
  const candidates = sub.candidates.filter((k) => reqs.get(k.requestId)!.consolidate || k.legs.every((l) => !taken.has(l.departureId)));
  return { ...sub, departures, legs, candidates };
}
