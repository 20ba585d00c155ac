/**
 * Micro-benchmark of the route search core (issue 12), no server or database:
 * `npx tsx tools/bench/routing-micro.ts [departures=5000] [clusters=25] [queries=200]`.
 *
 * Builds a generated timetable (tools/bench/routing-gen.ts, seed 12) and answers the same random queries with
 * searchRoutes (McRAPTOR-style) and enumerateRoutes (exhaustive reference), checks that both answers are
 * equal, and prints mean / p50 / p95 / p99 ms per search for each, per maxLegs (searches timed after one
 * untimed warm-up pass over the same queries); then the cost of applying one availability change
 * (setDepartureFree / setListing) to the timetable.
 */
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import { prng } from '../../server/core/rng.ts';
import { Timetable, enumerateRoutes, searchRoutes, type RouteQuery } from '../../server/core/routing.ts';
import { routingParams } from '../../server/data/routing-params.ts';
import { DAY_MS, generateTimetable } from './routing-gen.ts';

const [departures = 5000, clusterCount = 25, queryCount = 200] = process.argv.slice(2).map(Number);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f = (x: number) => (x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0));

const gen = generateTimetable(12, departures, clusterCount);
const t0 = performance.now();
const tt = new Timetable(gen.legs);
const buildMs = performance.now() - t0;
console.log(
  `timetable: ${departures} departures, ${tt.size} legs, ${gen.clusters.length} clusters over ${gen.days} days; built in ${f(buildMs)} ms`,
);

function queries(maxLegs: number, seed: number): RouteQuery[] {
  const rng = prng(seed);
  const out: RouteQuery[] = [];
  while (out.length < queryCount) {
    const from = rng.pick(gen.clusters).code;
    const to = rng.pick(gen.clusters).code;
    if (from === to) continue;
    const readyAt = gen.startsAt + rng.int(0, 14 * 24) * 3_600_000;
    out.push({
      from,
      to,
      teu: rng.int(1, 10),
      tonnes: rng.int(10, 200),
      readyAt,
      deliverBy: readyAt + rng.int(2, 7) * DAY_MS,
      now: readyAt - DAY_MS,
      modes: rng.next() < 0.8 ? ['rail', 'barge'] : [rng.pick(['rail', 'barge'] as const)],
      maxLegs,
    });
  }
  return out;
}

console.log('\nper search, ms          mean     p50     p95     p99   itineraries/query');
for (const maxLegs of [3, 4, 5]) {
  const qs = queries(maxLegs, 100 + maxLegs);
  for (const q of qs) searchRoutes(tt, q, routingParams); // warm-up pass (JIT), not timed
  const search: number[] = [];
  const answers = qs.map((q) => {
    const s = performance.now();
    const a = searchRoutes(tt, q, routingParams);
    search.push(performance.now() - s);
    return a;
  });
  const n = mean(answers.map((a) => a.length));
  console.log(
    `searchRoutes    legs≤${maxLegs} ${f(mean(search)).padStart(7)} ${f(pct(search, 50)).padStart(7)} ${f(pct(search, 95)).padStart(7)} ${f(pct(search, 99)).padStart(7)}   ${n.toFixed(1)}`,
  );
  if (maxLegs > 4) continue; // the exhaustive reference takes too long for 5 legs on this timetable
  const legs = tt.legs();
  const enumMs: number[] = [];
  let mismatches = 0;
  qs.forEach((q, i) => {
    const s = performance.now();
    const a = enumerateRoutes(legs, q, routingParams);
    enumMs.push(performance.now() - s);
    if (!isDeepStrictEqual(a, answers[i])) mismatches++;
  });
  console.log(
    `enumerateRoutes legs≤${maxLegs} ${f(mean(enumMs)).padStart(7)} ${f(pct(enumMs, 50)).padStart(7)} ${f(pct(enumMs, 95)).padStart(7)} ${f(pct(enumMs, 99)).padStart(7)}   answers equal: ${mismatches === 0 ? 'yes' : `NO (${mismatches} differ)`}`,
  );
}

// one availability change: a departure's free capacity, a listing's price
const rng = prng(5);
const ids = gen.legs.map((l) => l.listingId);
const deps = [...new Set(gen.legs.map((l) => l.departureId))];
const N = 100_000;
let s = performance.now();
for (let i = 0; i < N; i++) tt.setDepartureFree(rng.pick(deps), rng.int(0, 90), rng.int(0, 1200));
const depUs = ((performance.now() - s) / N) * 1000;
s = performance.now();
for (let i = 0; i < N; i++) tt.setListing(rng.pick(ids), { unitPriceCents: rng.int(100, 900) * 100 });
const lisUs = ((performance.now() - s) / N) * 1000;
console.log(`\napply one change: setDepartureFree ${depUs.toFixed(2)} µs, setListing(price) ${lisUs.toFixed(2)} µs`);
