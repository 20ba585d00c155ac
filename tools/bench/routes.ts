// Route search (issue 12): a generated timetable of 5,000 departures over the demo network plus twelve more
// clusters (tools/bench/routes-data.ts), written into the bench database and read by both servers, then
//  1. the exhaustive reference: the same queries answered in this process by the core's searchRoutes and by
//     enumerateRoutes (brute force over every leg chain) on the same legs — latency of each, answers equal?;
//     and the servers' HTTP answers against the reference while nothing changes;
//  2. GET /api/routes over HTTP at 1 and at 16 concurrent searches (both servers) while holds are placed at a
//     steady rate on the generated legs (each hold is a live event every server's timetable applies), p50 / p95 /
//     p99 against the 50 ms target;
//  3. the time to apply one availability change to the search structure: RouteSearchService.observe() of one
//     `departure:availability` event (it is searchable when observe returns), and observe + the next search.
import os from 'node:os';
import { loadLegs } from '../../server/adapters/db/routes-repo.ts';
import type { LiveEvent } from '../../server/adapters/realtime/events.ts';
import { prng } from '../../server/core/rng.ts';
import { enumerateRoutes, searchRoutes, Timetable, type ItineraryPlan, type RouteQuery } from '../../server/core/routing.ts';
import { routingParams } from '../../server/data/routing-params.ts';
import type { Principal } from '../../server/domain/principal.ts';
import type { RoutesAnswer } from '../../server/domain/schemas/routes.ts';
import { RouteSearchService } from '../../server/services/routes.ts';
import { sleep } from '../../scripts/lib/procs.mjs';
import { generateTimetable } from './routes-data.ts';
import type { BenchStack } from './stack.ts';
import { log, pct, quiet, r1, timedRequest as request, type BenchRun, type User } from './measure.ts';

const TARGET_P95_MS = 50;
const HOUR = 3_600_000;

/** Searches between random pairs of the clusters (London → Bologna first), ready within 3 days, 7-day windows. */
function makeQueries(codes: string[], now: number, n: number): RouteQuery[] {
  const rng = prng(1212);
  return Array.from({ length: n }, (_, i) => {
    const from = i === 0 ? 'GBLHR' : rng.pick(codes);
    let to = i === 0 ? 'ITBLQ' : rng.pick(codes);
    while (to === from) to = rng.pick(codes);
    const teu = rng.int(1, 6);
    const readyAt = now + rng.int(0, 72) * HOUR;
    return { from, to, teu, tonnes: teu * 12, readyAt, deliverBy: readyAt + 7 * 24 * HOUR, now, modes: ['barge', 'rail'], maxLegs: 3 };
  });
}

const urlOf = (q: RouteQuery) =>
  `/api/routes?from=${q.from}&to=${q.to}&teu=${q.teu}&tonnes=${q.tonnes}&readyAt=${new Date(q.readyAt).toISOString()}&deliverBy=${new Date(q.deliverBy).toISOString()}`;

/** An answer as comparable text: every itinerary's key and criteria, sorted. */
const normPlans = (ps: ItineraryPlan[]) =>
  ps.map((p) => `${p.legs.map((l) => l.listingId).join(',')}|${p.totalCents}|${p.arrivesAt}|${Math.round(p.co2eGrams / 100) / 10}|${p.bookable}`).sort().join(';');
const normAnswer = (a: RoutesAnswer) => a.itineraries.map((i) => `${i.key}|${i.totalCents}|${Date.parse(i.arrivesAt)}|${i.co2eKg}|${i.bookable}`).sort().join(';');

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: r1(pct(s, 50)), p95: r1(pct(s, 95)), p99: r1(pct(s, 99)) };
};

/** 1. The same queries by the search and by the exhaustive enumeration, in this process, on the same legs. */
async function reference(s: BenchStack, queries: RouteQuery[], budgetMs: number) {
  const now = Date.now();
  const legs = (await loadLegs(s.db, new Date(now))).map((l) => l.leg);
  const tt = new Timetable(legs);
  const search: number[] = [];
  const exhaustive: number[] = [];
  const unequal: string[] = [];
  const answers = new Map<number, string>();
  const t0 = performance.now();
  for (const [i, q0] of queries.entries()) {
    if (performance.now() - t0 > budgetMs) break;
    const q = { ...q0, now };
    let t = performance.now();
    const a = searchRoutes(tt, q, routingParams);
    search.push(performance.now() - t);
    t = performance.now();
    const b = enumerateRoutes(legs, q, routingParams);
    exhaustive.push(performance.now() - t);
    if (normPlans(a) !== normPlans(b)) unequal.push(`${q.from}→${q.to}`);
    answers.set(i, normPlans(b));
  }
  return { legs: legs.length, search: stats(search), exhaustive: stats(exhaustive), compared: exhaustive.length, unequal, answers };
}

/** The servers' HTTP answers against the reference's, while nothing changes (before the hold load). */
async function httpEqualsReference(s: BenchStack, u: User, queries: RouteQuery[], answers: Map<number, string>) {
  let equal = 0;
  const different: string[] = [];
  for (const [i, want] of answers) {
    const res = await request(s.urls[i % s.urls.length]!, 'GET', urlOf(queries[i]!), u);
    if (res.status === 200 && normAnswer(JSON.parse(res.body) as RoutesAnswer) === want) equal++;
    else different.push(`${queries[i]!.from}→${queries[i]!.to} (${res.status})`);
  }
  return { equal, compared: answers.size, different };
}

/** Holds (1 TEU) at a steady rate on random generated fixed listings until `stop()`. */
function steadyHolds(s: BenchStack, listingIds: string[], perSec: number) {
  let running = true;
  let ok = 0;
  let other = 0;
  const rng = prng(99);
  const t0 = performance.now();
  const clients = 8;
  const done = Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; running && i < 1_000_000; i += clients) {
        const wait = t0 + (i / perSec) * 1000 - performance.now();
        if (wait > 0) await sleep(wait);
        if (!running) return;
        const res = await request(s.urls[i % s.urls.length]!, 'POST', '/api/holds', s.users[i % s.users.length]!, { listingId: rng.pick(listingIds), teu: 1, tonnes: 12 });
        if (res.status === 201) ok++;
        else other++;
      }
    }),
  );
  return async () => {
    running = false;
    await done;
    const secs = (performance.now() - t0) / 1000;
    return { holds: ok, refused: other, 'holds/s': Math.round(ok / secs) };
  };
}

/**
 * Itineraries in an answer, counted without parsing it (the load generator shares the servers' two cores:
 * a JSON.parse of every answer would be its own cost, not the servers'): each itinerary has one `"key":`.
 */
function countItineraries(body: string): number {
  let n = 0;
  for (let at = body.indexOf('"key":'); at >= 0; at = body.indexOf('"key":', at + 6)) n++;
  return n;
}

/** `n` GETs (at most `budgetMs`) of `pathOf(i)` by `concurrency` clients over both servers; latency and failures. */
async function httpRun(s: BenchStack, pathOf: (i: number) => string, n: number, concurrency: number, budgetMs: number) {
  const lat: number[] = [];
  const bad = new Map<string, number>();
  let itineraries = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (;;) {
        const i = next++;
        if (i >= n || performance.now() - t0 > budgetMs) return;
        const res = await request(s.urls[i % s.urls.length]!, 'GET', pathOf(i), s.users[(w + i) % s.users.length]!);
        lat.push(res.ms);
        if (res.status !== 200) bad.set(String(res.status), (bad.get(String(res.status)) ?? 0) + 1);
        else itineraries += countItineraries(res.body);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { ...stats(lat), 'req/s': Math.round(lat.length / secs), avgItineraries: r1(itineraries / Math.max(1, lat.length)), errors: [...bad].map(([c, k]) => `${k}× ${c}`).join(', ') };
}

/** 3. observe() of one availability change on the generated timetable (in this process), and the next search. */
async function applyCost(s: BenchStack, queries: RouteQuery[], changes: number) {
  const service = new RouteSearchService(s.db);
  await service.start();
  service.stop();
  const legs = service.legs();
  const rng = prng(5);
  const p = { kind: 'session', userId: null, email: null, name: null, orgId: 'bench', orgName: 'bench', orgKind: 'forwarder', role: 'admin' } as Principal;
  const observe: number[] = [];
  const withSearch: number[] = [];
  let reflected = 0;
  for (let i = 0; i < changes; i++) {
    const leg = rng.pick(legs);
    const e: LiveEvent = { rooms: [], event: 'departure:availability', payload: { departureId: leg.departureId, seq: 1e9 + i, freeTeu: rng.int(0, 60), freeTonnes: rng.int(0, 1200), at: Date.now() } };
    const t = performance.now();
    service.observe([e]);
    observe.push(performance.now() - t);
    if (i % 10 === 0) {
      const q = queries[i % queries.length]!;
      const t1 = performance.now();
      service.observe([{ ...e, payload: { ...(e.payload as object), seq: 2e9 + i, freeTeu: 0 } }]);
      const a = await service.search(p, { from: q.from, to: q.to, teu: q.teu, tonnes: q.tonnes, readyAt: new Date(q.readyAt).toISOString(), deliverBy: new Date(q.deliverBy).toISOString() });
      withSearch.push(performance.now() - t1);
      // the departure just sold out: no itinerary may use it
      if (!a.itineraries.some((it) => it.legs.some((l) => l.departureId === leg.departureId))) reflected++;
    }
  }
  const us = (xs: number[]) => ({ p50: Math.round(pct([...xs].sort((a, b) => a - b), 50) * 1000), p99: Math.round(pct([...xs].sort((a, b) => a - b), 99) * 1000) });
  return { changes, 'observe µs': us(observe), 'observe + search ms': stats(withSearch), soldOutReflected: `${reflected}/${withSearch.length}` };
}

export async function routesPhase(s: BenchStack, r: BenchRun) {
  const departures = 5000;
  const now = new Date();
  log(`routes: generating ${departures} departures over the demo network plus 12 clusters…`);
  const gen = await generateTimetable(s.db, now, { departures, days: 14, seed: 12 });
  const u = s.users[0]!;
  const servers = [];
  for (const url of s.urls) {
    const res = await request(url, 'POST', '/api/bench/routes/reload', u, {});
    if (res.status !== 200) throw new Error(`routes: reload on ${url} answered ${res.status} ${res.body}`);
    servers.push(JSON.parse(res.body) as { legs: number; lastLoadMs: number });
  }
  log(`routes: servers loaded ${servers.map((x) => `${x.legs} legs in ${x.lastLoadMs} ms`).join(', ')}`);
  const queries = makeQueries(gen.codes, now.getTime(), r.quick ? 24 : 64);
  await quiet('routes');

  log('routes: reference — the same queries by searchRoutes and by enumerateRoutes (in process)…');
  const ref = await reference(s, queries, r.quick ? 30_000 : 120_000);
  log(`routes: HTTP answers against the reference (${ref.answers.size} queries, nothing changing)…`);
  const httpRef = await httpEqualsReference(s, u, queries, ref.answers);

  log('routes: applying availability changes in process…');
  const apply = await applyCost(s, queries, r.quick ? 300 : 1000);

  await quiet('routes: HTTP');
  const holdRate = r.quick ? 25 : 50;
  const rows: Record<string, unknown>[] = [];
  const floors: Record<string, unknown>[] = [];
  const runs: [string, number, number][] = [['1 concurrent', 1, r.quick ? 150 : 400], ['16 concurrent', 16, r.quick ? 800 : 3000]];
  const search = (i: number) => urlOf(queries[i % queries.length]!);
  const loadAvg = r1(os.loadavg()[0]!);
  const stop = steadyHolds(s, gen.fixedListingIds, holdRate);
  let background;
  try {
    for (const [name, c, n] of runs) {
      log(`routes: GET /api/routes, ${name}, under ${holdRate} holds/s…`);
      await httpRun(s, search, Math.min(50, n), c, 10_000); // warm-up
      const m = await httpRun(s, search, n, c, 90_000);
      rows.push({ path: `GET /api/routes · ${name}`, ...m, target: `p95 ≤ ${TARGET_P95_MS}`, verdict: !m.errors && m.p95 <= TARGET_P95_MS ? 'PASS' : 'FAIL' });
      // the floor on the same machine at the same moment: an API GET with the same sign-in and limits, no work
      log(`routes: GET /api/me (floor), ${name}…`);
      const f = await httpRun(s, () => '/api/me', n, c, 90_000);
      floors.push({ path: `GET /api/me (floor: auth + limits only) · ${name}`, ...f, target: '-', verdict: '-' });
    }
  } finally {
    background = await stop();
  }
  const after = [];
  for (const url of s.urls) after.push(JSON.parse((await request(url, 'GET', '/api/bench/routes/stats', u)).body) as { legs: number; version: number; eventsApplied: number; lastApplyMs: number });

  rows.push(
    ...floors,
    { path: `searchRoutes in process (${ref.compared} queries)`, ...ref.search, target: `p95 ≤ ${TARGET_P95_MS}`, verdict: ref.search.p95 <= TARGET_P95_MS ? 'PASS' : 'FAIL' },
    { path: 'enumerateRoutes in process (exhaustive reference)', ...ref.exhaustive, target: 'reference', verdict: ref.unequal.length === 0 ? `equal ${ref.compared}/${ref.compared}` : `${ref.unequal.length} DIFFER` },
    { path: 'observe(1 availability change) + next search', ...apply['observe + search ms'], target: '-', verdict: `sold out reflected ${apply.soldOutReflected}` },
  );
  console.log(`\nRoute search on ${gen.departures} generated departures (${gen.clusters} clusters, ${gen.corridors} corridors; ${JSON.stringify(gen.listings)}), ${ref.legs} legs in the timetable`);
  console.log(`HTTP: both servers, while holds were placed at ${background['holds/s']}/s (${background.holds} placed); latencies in ms; 1-min load average ${loadAvg} on ${os.cpus().length} cores when it began`);
  console.table(rows);
  console.log(`apply one availability change (observe → searchable): p50 ${apply['observe µs'].p50} µs, p99 ${apply['observe µs'].p99} µs over ${apply.changes} changes`);
  console.log(`HTTP answers = exhaustive reference (before the hold load): ${httpRef.equal}/${httpRef.compared}${httpRef.different.length ? ` — differ: ${httpRef.different.join(', ')}` : ''}`);
  console.log(`servers after the run: ${after.map((x) => `${x.legs} legs, version ${x.version}, ${x.eventsApplied} events applied (last apply ${x.lastApplyMs} ms)`).join('; ')}`);

  const http1 = rows[0] as { p95: number; verdict: string };
  const http16 = rows[1] as { p95: number; verdict: string };
  r.targets.push({ target: `route search p95 ≤ ${TARGET_P95_MS} ms, 1 concurrent, under hold load`, value: `${http1.p95} ms`, met: http1.verdict === 'PASS' });
  r.targets.push({ target: `route search p95 ≤ ${TARGET_P95_MS} ms, 16 concurrent, under hold load`, value: `${http16.p95} ms`, met: http16.verdict === 'PASS' });
  r.targets.push({
    target: 'route search answers = exhaustive enumeration',
    value: `${ref.compared - ref.unequal.length}/${ref.compared} in process, ${httpRef.equal}/${httpRef.compared} over HTTP`,
    met: ref.unequal.length === 0 && httpRef.equal === httpRef.compared,
  });
  r.report.routes = {
    timetable: { ...gen, fixedListingIds: gen.fixedListingIds.length, legs: ref.legs },
    serversLoaded: servers, serversAfter: after, background, rows, apply, loadAverageAtHttp: loadAvg,
    reference: { compared: ref.compared, unequal: ref.unequal, search: ref.search, exhaustive: ref.exhaustive },
    httpAgainstReference: { equal: httpRef.equal, compared: httpRef.compared, different: httpRef.different },
  };
}
