import { candidateCents, penalties } from './costs.ts';
import type { Candidate, CostOptions, PoolDeparture, PoolInstance, PoolPlan } from './types.ts';

/**
 * The mixed-integer program of an instance, written as CPLEX LP text for HiGHS.
 *
 * Columns: x{i} ∈ {0,1} — request rides candidate i (index into inst.candidates); u{j} ∈ [0,1] — request j is
 * unplaced (integral through its row, so continuous); y{e} ∈ {0,1} — departure e runs; w{e} see below. A mustRun departure has
 * no y column: it runs, its fixed cost is a constant, its rows use y = 1.
 * Rows, with z[r,d] = Σ x over r's candidates that use departure d:
 *  - assignment, per request with candidates: Σk x[r,k] + u[r] = 1;
 *  - TEU and tonnes per departure: Σ teu_r z[r,d] − free_d·y[d] ≤ 0 (free = capacity − used, ≥ 0);
 *  - linking, per (request, departure not mustRun): z[r,d] − y[d] ≤ 0 (tightens the LP; stronger than x ≤ y
 *    per candidate because a request rides at most one candidate);
 *  - listing TEU, when a listing's remaining TEU could be exceeded: Σ teu_r x over candidates using it ≤ remaining;
 *  - no consolidation (modelled in the MIP, not by restricting candidates: such a request may still ride a
 *    departure alone): where a request with consolidate = false may use d and so may someone else, a column
 *    w{e} ∈ {0,1} — d is reserved for one such request — with Σ_{r may not consolidate} z[r,d] − w[d] ≤ 0,
 *    w[d] − y[d] ≤ 0, and for the others z[r',d] + w[d] − y[d] ≤ 0 (in place of their linking row). As tight
 *    as the pairwise rows z[r,d] + z[r',d] ≤ y[d], with one row per (request, departure) instead of per pair.
 * Objective (cents): Σ fixed_d y_d + Σ (costCents + CO2e charge) x + Σ penalty_r u_r, plus `constant`
 * (mustRun fixed costs, penalties of requests without candidates). Every coefficient is an integer.
 */

export interface PoolModel {
  /** The MIP (relax = false) or its LP relaxation (relax = true) in LP format. */
  lp(relax?: boolean): string;
  /** Objective part that is no column's: add it to the solver's objective. */
  constant: number;
  columns: number;
  rows: number;
  /** The plan of a solution (running = mustRun ∪ departures that carry a pooled request). */
  decode(values: Record<string, number>): PoolPlan;
  /** Column values of a plan (a MIP start). */
  encode(plan: PoolPlan): Record<string, number>;
  /** The x value of each (request id, candidate key) in a solution (0 when absent), e.g. of the LP relaxation. */
  weights(values: Record<string, number>): (requestId: string, key: string) => number;
}

const LINE = 12; // terms per LP line

function expr(terms: [number, string][]): string {
  const parts: string[] = [];
  terms.forEach(([c, v], i) => {
    const sign = c < 0 ? '-' : '+';
    const a = Math.abs(c);
    const t = `${i === 0 ? (c < 0 ? '-' : '') : sign + ' '}${a === 1 ? '' : `${a} `}${v}`;
    parts.push(i > 0 && i % LINE === 0 ? `\n  ${t}` : t);
  });
  return parts.join(' ');
}

/** Builds the MIP of an instance; `pen` (request id → penalty) defaults to the instance's penalties. */
export function buildModel(inst: PoolInstance, opts: CostOptions = {}, pen = penalties(inst, opts)): PoolModel {
  const reqIdx = new Map(inst.requests.map((r, j) => [r.id, j]));
  const depIdx = new Map(inst.departures.map((d, e) => [d.id, e]));
  const legs = new Map(inst.legs.map((l) => [l.listingId, l]));
  // usable candidates: known request, departures and listings
  const cands: [number, Candidate][] = [];
  inst.candidates.forEach((k, i) => {
    if (reqIdx.has(k.requestId) && k.legs.every((l) => depIdx.has(l.departureId) && legs.has(l.listingId))) cands.push([i, k]);
  });
  const byReq = new Map<number, [number, Candidate][]>();
  const zOf = new Map<string, number[]>(); // `${j}|${e}` → candidate indices
  const onDep = new Map<number, Set<number>>(); // e → request indices
  const onListing = new Map<string, [number, number][]>(); // listing → [candidate index, teu]
  for (const [i, k] of cands) {
    const j = reqIdx.get(k.requestId)!;
    const r = inst.requests[j]!;
    add(byReq, j, [i, k]);
    for (const l of k.legs) {
      const e = depIdx.get(l.departureId)!;
      add(zOf, `${j}|${e}`, i);
      if (!onDep.has(e)) onDep.set(e, new Set());
      onDep.get(e)!.add(j);
      add(onListing, l.listingId, [i, r.teu]);
    }
  }
  const x = (i: number) => `x${i}`;
  const u = (j: number) => `u${j}`;
  const y = (e: number) => `y${e}`;
  const free = (d: PoolDeparture, what: 'teu' | 'tonnes') =>
    Math.max(0, what === 'teu' ? d.capacityTeu - d.usedTeu : d.capacityTonnes - d.usedTonnes);

  let constant = 0;
  const obj: [number, string][] = [];
  const rows: string[] = [];
  const ints: string[] = [];
  const conts: string[] = [];
  inst.departures.forEach((d, e) => {
    if (d.mustRun) constant += d.fixedCostCents;
    else if (onDep.has(e)) {
      if (d.fixedCostCents !== 0) obj.push([d.fixedCostCents, y(e)]);
      ints.push(y(e));
    }
  });
  inst.requests.forEach((r, j) => {
    const ks = byReq.get(j);
    if (!ks) {
      constant += pen.get(r.id) ?? 0;
      return;
    }
    for (const [i, k] of ks) {
      const c = candidateCents(k, opts);
      if (c !== 0) obj.push([c, x(i)]);
      ints.push(x(i));
    }
    obj.push([pen.get(r.id) ?? 0, u(j)]);
    conts.push(u(j));
    rows.push(`${expr([...ks.map(([i]): [number, string] => [1, x(i)]), [1, u(j)]])} = 1`);
  });
  const zTerms = (j: number, e: number, coef: number): [number, string][] => (zOf.get(`${j}|${e}`) ?? []).map((i) => [coef, x(i)]);
  for (const [e, js] of onDep) {
    const d = inst.departures[e]!;
    for (const what of ['teu', 'tonnes'] as const) {
      const cap = free(d, what);
      const terms = [...js].flatMap((j) => zTerms(j, e, what === 'teu' ? inst.requests[j]!.teu : inst.requests[j]!.tonnes));
      const most = terms.reduce((s, [c]) => s + c, 0); // ≥ the most the departure could carry
      if (d.mustRun) {
        if (most > cap) rows.push(`${expr(terms)} <= ${cap}`);
      } else rows.push(`${expr([...terms, [-cap, y(e)] as [number, string]].filter(([c]) => c !== 0))} <= 0`);
    }
    // w{e}: d carries one request that may not be consolidated, and then nobody else
    const excl = [...js].filter((j) => !inst.requests[j]!.consolidate);
    const w = excl.length > 0 && js.size > 1 ? `w${e}` : null;
    if (w) {
      ints.push(w);
      rows.push(`${expr([...excl.flatMap((j) => zTerms(j, e, 1)), [-1, w]])} <= 0`);
      if (!d.mustRun) rows.push(`${w} - ${y(e)} <= 0`);
    }
    for (const j of js) {
      const z = zTerms(j, e, 1);
      if (w && inst.requests[j]!.consolidate) rows.push(d.mustRun ? `${expr([...z, [1, w]])} <= 1` : `${expr([...z, [1, w], [-1, y(e)]])} <= 0`);
      else if (!w && !d.mustRun) rows.push(`${expr([...z, [-1, y(e)]])} <= 0`);
    }
  }
  for (const [id, terms] of onListing) {
    const cap = Math.max(0, legs.get(id)!.listingRemainingTeu);
    if (terms.reduce((s, [, t]) => s + t, 0) > cap) rows.push(`${expr(terms.map(([i, t]): [number, string] => [t, x(i)]))} <= ${cap}`);
  }

  const lp = (relax = false) =>
    [
      'Minimize',
      ` obj: ${obj.length > 0 ? expr(obj) : `0 ${[...ints, ...conts][0] ?? ''}`}`,
      'Subject To',
      ...rows.map((row, n) => ` c${n}: ${row}`),
      'Bounds',
      ...[...ints, ...conts].map((v) => ` 0 <= ${v} <= 1`),
      ...(!relax && ints.length > 0 ? ['Binaries', ...chunk(ints)] : []),
      'End',
      '',
    ].join('\n');

  const keyOf = new Map(cands.map(([i, k]) => [x(i), k]));
  const decode = (values: Record<string, number>): PoolPlan => {
    const assignment: Record<string, string | null> = Object.fromEntries(inst.requests.map((r) => [r.id, null]));
    for (const [name, v] of Object.entries(values)) {
      const k = keyOf.get(name);
      if (k && v > 0.5 && assignment[k.requestId] === null) assignment[k.requestId] = k.key;
    }
    return { assignment, running: runningOf(inst, assignment) };
  };
  const encode = (plan: PoolPlan): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [i, k] of cands) out[x(i)] = plan.assignment[k.requestId] === k.key ? 1 : 0;
    for (const j of byReq.keys()) out[u(j)] = plan.assignment[inst.requests[j]!.id] == null ? 1 : 0;
    const run = new Set(plan.running);
    for (const e of onDep.keys()) if (!inst.departures[e]!.mustRun) out[y(e)] = run.has(inst.departures[e]!.id) ? 1 : 0;
    const reserved = new Set(cands.filter(([, k]) => plan.assignment[k.requestId] === k.key && !inst.requests[reqIdx.get(k.requestId)!]!.consolidate).flatMap(([, k]) => k.legs.map((l) => depIdx.get(l.departureId)!)));
    for (const name of ints) if (name.startsWith('w')) out[name] = reserved.has(Number(name.slice(1))) ? 1 : 0;
    return out;
  };
  const weights = (values: Record<string, number>) => {
    const w = new Map(cands.map(([i, k]) => [`${k.requestId}|${k.key}`, values[x(i)] ?? 0]));
    return (requestId: string, key: string) => w.get(`${requestId}|${key}`) ?? 0;
  };
  return { lp, constant, columns: ints.length + conts.length, rows: rows.length, decode, encode, weights };
}

function add<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function chunk(names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < names.length; i += 20) out.push(` ${names.slice(i, i + 20).join(' ')}`);
  return out;
}

/** mustRun departures and every departure an assigned candidate uses. */
export function runningOf(inst: PoolInstance, assignment: Record<string, string | null>): string[] {
  const run = new Set(inst.departures.filter((d) => d.mustRun).map((d) => d.id));
  const cands = new Map(inst.candidates.map((k) => [`${k.requestId}|${k.key}`, k]));
  for (const [rid, key] of Object.entries(assignment)) {
    if (key == null) continue;
    for (const l of cands.get(`${rid}|${key}`)?.legs ?? []) run.add(l.departureId);
  }
  return inst.departures.filter((d) => run.has(d.id)).map((d) => d.id);
}
