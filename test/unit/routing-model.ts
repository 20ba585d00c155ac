/**
 * Test helpers of the route search (issue 12): random small networks for fast-check, and an independent
 * check of the contract's rules and Pareto answer, written apart from server/core/routing (no shared code).
 */
import fc from 'fast-check';
import type {
  ItineraryPlan,
  LegFormat,
  RouteMode,
  RouteQuery,
  RoutingParams,
  TimetableLeg,
  TransferRule,
} from '../../server/core/routing.ts';

export const H = 3_600_000;
export const T0 = Date.UTC(2026, 0, 5);
const CODES = ['A', 'B', 'C', 'D', 'E', 'F'];
/** Listing ids, some a prefix of others and some with characters sorting before ',' (tie-break edge cases). */
export const ID_POOL = 'abcdefgh'.split('').flatMap((x) => [x, `${x}a`, `${x}!`, `${x}z`]);

export const legArb = (n: number, deep = false) =>
  fc.record({
    o: fc.integer({ min: 0, max: n - 1 }),
    // destination = (o + step) % n; step 0 (rarely) makes a loop leg, which is never valid
    step: fc.oneof({ arbitrary: fc.integer({ min: 1, max: n - 1 }), weight: 15 }, { arbitrary: fc.constant(0), weight: 1 }),
    mode: fc.constantFrom<RouteMode>('rail', 'barge'),
    dep: fc.integer({ min: 0, max: 72 }),
    dur: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 12 }), weight: 10 }, { arbitrary: fc.constant(0), weight: 1 }),
    cutBefore: fc.integer({ min: 0, max: 6 }),
    km: fc.constantFrom<number>(0, 50, 120, 300),
    price: fc.constantFrom<number>(0, 100, 200, 300, 500),
    freeTeu: fc.oneof({ arbitrary: fc.constantFrom(0, 2), weight: 1 }, { arbitrary: fc.constant(9), weight: 25 }),
    freeTonnes: fc.oneof({ arbitrary: fc.constantFrom(0, 10), weight: 1 }, { arbitrary: fc.constant(80), weight: 25 }),
    remaining: fc.oneof({ arbitrary: fc.constantFrom(0, 2), weight: 1 }, { arbitrary: fc.constant(9), weight: 25 }),
    format: fc.constantFrom<LegFormat>('fixed', 'fixed', 'falling', 'ascending', 'sealed'),
    departure: fc.integer({ min: 0, max: 7 }),
    // often a leg continues an earlier one from that leg's destination (see buildLegs)
    link: fc.oneof({ arbitrary: fc.constant(undefined), weight: 1 }, { arbitrary: fc.nat(), weight: deep ? 8 : 4 }),
    gap: fc.integer({ min: 0, max: 8 }),
    // or repeats an earlier leg's service (same corridor, mode, distance, price, duration) `shift` hours later
    twin: fc.oneof({ arbitrary: fc.constant(undefined), weight: deep ? 6 : 2 }, { arbitrary: fc.nat(), weight: 1 }),
    shift: fc.integer({ min: -10, max: 10 }),
  });
/** One generated leg before it becomes a {@link TimetableLeg}. */
export type LegIn = ReturnType<typeof legArb> extends fc.Arbitrary<infer T> ? T : never;

/** Index of the leg that spec i continues, or -1 (see {@link buildLegs}). */
export const linkOf = (specs: LegIn[], i: number): number =>
  i === 0 || specs[i]!.twin !== undefined || specs[i]!.link === undefined ? -1 : specs[i]!.link! % i;

/**
 * The legs of a network: spec i with a `twin` repeats leg (twin mod i); else with a `link` it continues leg
 * (link mod i) from that leg's destination, mostly to a cluster not yet on that chain of links.
 */
export function buildLegs(specs: LegIn[], n: number, ids: string[]): TimetableLeg[] {
  const legs: TimetableLeg[] = [];
  specs.forEach((s, i) => {
    if (s.twin !== undefined && i > 0) {
      const t = legs[s.twin % i]!;
      const o = CODES.indexOf(t.origin);
      legs.push(
        toLeg(
          {
            ...s,
            o,
            step: (CODES.indexOf(t.destination) - o + n) % n,
            mode: t.mode,
            km: t.distanceKm,
            price: t.unitPriceCents / 100,
            dur: (t.arrivesAt - t.departsAt) / H,
            dep: (t.departsAt - T0) / H + s.shift,
          },
          n,
          ids[i]!,
        ),
      );
      return;
    }
    const p = linkOf(specs, i);
    if (p < 0) {
      legs.push(toLeg(s, n, ids[i]!));
      return;
    }
    const prev = legs[p]!;
    const o = CODES.indexOf(prev.destination);
    const onChain = new Set<number>();
    for (let j = p; j >= 0; j = linkOf(specs, j)) onChain.add(CODES.indexOf(legs[j]!.origin));
    let step = s.step;
    if (step > 0 && s.gap !== 3) {
      // (unless gap is 3 or step 0) the first cluster from (o + step) on that is not on the chain yet
      for (let t = 0; t < n - 1 && onChain.has((o + step) % n); t++) step = (step % (n - 1)) + 1;
    }
    // its cut-off is `gap` hours after that arrival; the transfer time decides whether they connect
    legs.push(toLeg({ ...s, o, step, dep: (prev.arrivesAt - T0) / H + s.cutBefore + s.gap }, n, ids[i]!));
  });
  return legs;
}

export function toLeg(s: LegIn, n: number, listingId: string): TimetableLeg {
  const departsAt = T0 + s.dep * H;
  const origin = CODES[s.o]!;
  const destination = CODES[(s.o + s.step) % n]!;
  return {
    listingId,
    departureId: `D${s.departure}`,
    corridorId: `${origin}-${destination}-${s.mode}`,
    mode: s.mode,
    origin,
    destination,
    departsAt,
    arrivesAt: departsAt + s.dur * H,
    cutoffAt: departsAt - s.cutBefore * H,
    distanceKm: s.km,
    depFreeTeu: s.freeTeu,
    depFreeTonnes: s.freeTonnes,
    listingRemainingTeu: s.remaining,
    unitPriceCents: s.price * 100,
    format: s.format,
  };
}

const ruleArb = fc.record({
  rr: fc.constantFrom(0, 60, 120, 240),
  rb: fc.constantFrom(0, 60, 240, 480),
  br: fc.constantFrom(0, 120, 300),
  bb: fc.constantFrom(0, 60, 240),
  cents: fc.constantFrom(0, 500, 1500),
  grams: fc.constantFrom(0, 1000, 8000),
});

/** Random transfer rules for each of the n clusters. */
export const paramsArb = (n: number) =>
  fc.array(ruleArb, { minLength: n, maxLength: n }).map((rules): RoutingParams => {
    const byCode = new Map<string, TransferRule>(
      rules.map((r, i) => [
        CODES[i]!,
        {
          minConnectionMinutes: { 'rail-rail': r.rr, 'rail-barge': r.rb, 'barge-rail': r.br, 'barge-barge': r.bb },
          handlingCentsPerTeu: r.cents,
          handlingCo2eGramsPerTeu: r.grams,
        },
      ]),
    );
    return { transfer: (c) => byCode.get(c)!, gramsPerTonneKm: { rail: 11.3, barge: 38.6 } };
  });

export const queryArb = (n: number, deep = false) =>
  fc
    .record({
      from: fc.integer({ min: 0, max: n - 1 }),
      step: fc.integer({ min: 1, max: n - 1 }),
      teu: fc.integer({ min: 1, max: 3 }),
      tonnes: fc.constantFrom(1, 7.5, 20),
      ready: fc.integer({ min: -12, max: 24 }),
      window: fc.integer({ min: 12, max: 160 }),
      now: fc.integer({ min: -24, max: 8 }),
      modes: fc.oneof(
        { arbitrary: fc.constantFrom<RouteMode[]>(['rail'], ['barge']), weight: deep ? 0 : 1 },
        { arbitrary: fc.constantFrom<RouteMode[]>(['rail', 'barge'], ['barge', 'rail']), weight: 4 },
      ),
      maxLegs: fc.oneof(
        { arbitrary: fc.constantFrom(1, 2), weight: deep ? 0 : 1 },
        { arbitrary: deep ? fc.constantFrom(3, 4, 4) : fc.constantFrom(3, 4), weight: 2 },
      ),
      budget: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: deep ? 12 : 3 },
        { arbitrary: fc.integer({ min: 0, max: 150 }), weight: 1 },
      ),
    })
    .map(
      (r): RouteQuery => ({
        from: CODES[r.from]!,
        to: CODES[(r.from + r.step) % n]!,
        teu: r.teu,
        tonnes: r.tonnes,
        readyAt: T0 + r.ready * H,
        deliverBy: T0 + (r.ready + r.window) * H,
        now: T0 + r.now * H,
        modes: r.modes,
        maxLegs: r.maxLegs,
        ...(r.budget !== undefined ? { maxTotalCents: r.budget * 10_000 } : {}),
      }),
    );

/**
 * A random network: n clusters (3–6), 1–30 legs with distinct listing ids, rules and a query; in 3 cases of 4
 * the query goes from the origin of an ancestor (links back) of a leg to its destination, so that chains exist
 * more often. `deep`: 5–6 clusters, 18–30 legs mostly continuing each other, maxLegs 3–4, 2–3 links back —
 * long chains, where the simple-path and round rules of the search matter.
 */
export const caseArb = (deep = false) =>
  fc
    .integer({ min: deep ? 5 : 3, max: 6 })
    .chain((n) =>
      fc.record({
        n: fc.constant(n),
        specs: fc.array(legArb(n, deep), { minLength: deep ? 18 : 1, maxLength: 30, size: 'max' }),
        ids: fc.shuffledSubarray(ID_POOL, { minLength: 30, maxLength: 30 }),
        params: paramsArb(n),
        q: queryArb(n, deep),
        ends: fc.option(fc.tuple(fc.nat(), deep ? fc.constantFrom(2, 3, 3) : fc.constantFrom(0, 1, 2, 2, 3, 3)), {
          freq: deep ? 1000 : 4,
        }),
      }),
    )
    .map(({ ends, ...c }) => {
      if (!ends) return c;
      // from the origin of an ancestor (up to 3 links back) of a random leg to that leg's destination
      // ready a few hours before the first leg's cut-off, deliver-by around the last leg's arrival
      const legs = buildLegs(c.specs, c.n, c.ids);
      const last = legs[ends[0] % legs.length]!;
      let k = ends[0] % legs.length;
      for (let b = 0; b < ends[1] && linkOf(c.specs, k) >= 0; b++) k = linkOf(c.specs, k);
      const first = legs[k]!;
      if (first.origin === last.destination) return c;
      const readyAt = first.cutoffAt - (Math.abs(c.q.readyAt - T0) / H % 12) * H;
      const deliverBy = last.arrivesAt + (((c.q.deliverBy - c.q.readyAt) / H % 40) - 4) * H;
      return { ...c, q: { ...c.q, from: first.origin, to: last.destination, readyAt, deliverBy: Math.max(deliverBy, readyAt + H) } };
    });

// ---------- independent rules ----------

/** Every rule of the contract a chain breaks (empty = valid), checked directly from the contract's text. */
export function violations(chain: TimetableLeg[], q: RouteQuery, params: RoutingParams): string[] {
  const v: string[] = [];
  if (chain.length < 1 || chain.length > q.maxLegs) v.push('leg count');
  if (chain.length === 0) return v;
  const first = chain[0]!;
  const last = chain[chain.length - 1]!;
  if (first.origin !== q.from) v.push('origin');
  if (last.destination !== q.to) v.push('destination');
  if (!(q.readyAt <= first.cutoffAt)) v.push('ready after first cut-off');
  if (!(last.arrivesAt <= q.deliverBy)) v.push('deliverBy');
  const visited = [first.origin, ...chain.map((l) => l.destination)];
  if (new Set(visited).size !== visited.length) v.push('not a simple path');
  for (const l of chain) {
    if (!q.modes.includes(l.mode)) v.push(`mode ${l.listingId}`);
    if (!(q.now < l.cutoffAt)) v.push(`cut-off ${l.listingId}`);
    if (!(q.teu <= l.depFreeTeu && q.teu <= l.listingRemainingTeu && q.tonnes <= l.depFreeTonnes)) v.push(`capacity ${l.listingId}`);
  }
  for (let i = 1; i < chain.length; i++) {
    const a = chain[i - 1]!;
    const b = chain[i]!;
    if (a.destination !== b.origin) v.push(`gap ${i}`);
    if (!(a.arrivesAt <= b.cutoffAt)) v.push(`arrives after next cut-off ${i}`);
    const mct = params.transfer(b.origin).minConnectionMinutes[`${a.mode}-${b.mode}`];
    if (!(a.arrivesAt + mct * 60_000 <= b.departsAt)) v.push(`transfer time ${i}`);
  }
  const t = totals(chain, q, params);
  if (q.maxTotalCents !== undefined && t.totalCents > q.maxTotalCents) v.push('budget');
  return v;
}

/** totalCents and co2eGrams of a chain, from the contract's formulas. */
export function totals(chain: TimetableLeg[], q: RouteQuery, params: RoutingParams) {
  let totalCents = 0;
  let co2eGrams = 0;
  chain.forEach((l, i) => {
    totalCents += l.unitPriceCents * q.teu;
    co2eGrams += Math.round(q.tonnes * l.distanceKm * params.gramsPerTonneKm[l.mode]);
    if (i > 0) {
      const r = params.transfer(l.origin);
      totalCents += r.handlingCentsPerTeu * q.teu;
      co2eGrams += r.handlingCo2eGramsPerTeu * q.teu;
    }
  });
  return { totalCents, co2eGrams };
}

/** [totalCents, arrivesAt, co2eGrams, bid 0/1, key] of a chain. */
export type Row = [number, number, number, number, string];
export const rowOf = (p: ItineraryPlan): Row => [
  p.totalCents,
  p.arrivesAt,
  p.co2eGrams,
  p.bookable ? 0 : 1,
  p.legs.map((l) => l.listingId).join(','),
];

/**
 * The answer by brute force, independent of the core: every sequence of up to maxLegs legs joined end to start
 * (no other pruning), kept if {@link violations} finds nothing, then the non-dominated vectors with the
 * contract's tie-break, as rows in answer order.
 */
export function bruteAnswer(legs: TimetableLeg[], q: RouteQuery, params: RoutingParams): Row[] {
  const rows: { row: Row; n: number; dep: number }[] = [];
  const chain: TimetableLeg[] = [];
  const walk = (at: string) => {
    if (chain.length === q.maxLegs) return;
    for (const l of legs) {
      if (l.origin !== at) continue;
      chain.push(l);
      if (l.destination === q.to && violations(chain, q, params).length === 0) {
        const t = totals(chain, q, params);
        const bid = chain.every((x) => x.format === 'fixed' || x.format === 'falling') ? 0 : 1;
        rows.push({ row: [t.totalCents, l.arrivesAt, t.co2eGrams, bid, chain.map((x) => x.listingId).join(',')], n: chain.length, dep: chain[0]!.departsAt });
      }
      walk(l.destination);
      chain.pop();
    }
  };
  walk(q.from);
  const dominated = (a: Row, b: Row) =>
    a[0] <= b[0] && a[1] <= b[1] && a[2] <= b[2] && a[3] <= b[3] && (a[0] < b[0] || a[1] < b[1] || a[2] < b[2] || a[3] < b[3]);
  const best = new Map<string, (typeof rows)[number]>();
  for (const r of rows) {
    if (rows.some((o) => dominated(o.row, r.row))) continue;
    const vec = r.row.slice(0, 4).join('|');
    const cur = best.get(vec);
    const better =
      !cur || r.n < cur.n || (r.n === cur.n && (r.dep < cur.dep || (r.dep === cur.dep && r.row[4] < cur.row[4])));
    if (better) best.set(vec, r);
  }
  return [...best.values()].map((r) => r.row).sort((a, b) => a[1] - b[1] || a[0] - b[0] || a[2] - b[2]);
}
