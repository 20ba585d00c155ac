// Statistics (issue 11): a year of generated history (server/seed/history.ts, through the services' batch
// paths: ≈ 20,000 departures and ≈ 300,000 bookings), then
//  1. p95 / p99 of every dashboard endpoint (/api/stats/*, with and without filters, per scope) while holds
//     are being placed at a steady rate, against the 100 ms target;
//  2. the rollups' cost on the trading path: hold and confirm p99 with the rollup triggers on vs off
//     (interleaved runs, median), against ≤ 1.1×; the rollups are rebuilt afterwards.
import { sql } from 'kysely';
import { migrationDatabaseUrl } from '../../server/adapters/db/migrate.ts';
import { compactRollups, rebuildRollups, setRollupsEnabled } from '../../server/adapters/db/stats-repo.ts';
import { StreamEventSink } from '../../server/adapters/realtime/events.ts';
import { loadConfig } from '../../server/config.ts';
import { createContext } from '../../server/context.ts';
import { seedHistory } from '../../server/seed/history.ts';
import { sleep } from '../../scripts/lib/procs.mjs';
import type { BenchStack } from './stack.ts';
import { log, makeListings, median, pct, quiet, r1, timedRequest as request, type BenchRun, type User } from './measure.ts';

const r2 = (x: number) => Math.round(x * 100) / 100;

/** The dashboard API target (issue 11): p95 of every endpoint. */
const TARGET_P95_MS = 100;
/** The rollups' cost target: p99 with rollups on ≤ 1.1 × p99 with them off. */
const TARGET_RATIO = 1.1;

async function signIn(base: string, email: string): Promise<User> {
  const res = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'cluster-demo' }) });
  if (!res.ok) throw new Error(`sign-in of ${email}: ${res.status}`);
  const me = (await res.json()) as { csrfToken: string };
  return { cookie: res.headers.getSetCookie()[0]!.split(';')[0]!, csrf: me.csrfToken };
}

const day = (d: Date) => d.toISOString().slice(0, 10);
const daysAgo = (now: Date, n: number) => day(new Date(now.getTime() - n * 86_400_000));

/**
 * The history: generated in this process through the services (history.ts), against the bench database as
 * its owner. The workers are stopped meanwhile (history.ts: no worker may settle its bookings under it) and
 * started again afterwards.
 */
async function generateHistory(s: BenchStack, r: BenchRun) {
  const opts = r.quick ? { days: 90, scale: 1, seed: 11 } : { days: 365, scale: 3.2, lotSize: 0.6, seed: 11 };
  const name = (await sql<{ n: string }>`select current_database() as n`.execute(s.db)).rows[0]!.n;
  const url = new URL(migrationDatabaseUrl());
  url.pathname = `/${name}`;
  const cfg = loadConfig({ databaseUrl: url.toString(), redisUrl: s.redisUrl, redisPrefix: 'bench:', logLevel: 'error' });
  log(`stats: stopping the workers; generating ${opts.days} days of history (scale ${opts.scale})…`);
  await Promise.all(s.workers.map((w) => w.stop()));
  const ctx = createContext(cfg, (redis) => new StreamEventSink(redis, cfg.redisPrefix));
  const t0 = performance.now();
  let shown = '';
  try {
    await ctx.ready();
    const summary = await seedHistory(ctx, new Date(), (step, done, total) => {
      const line = `${step} ${total > 0 ? Math.floor((done / total) * 10) * 10 : 100} %`;
      if (line !== shown) log(`stats: ${(shown = line)}`);
    }, opts);
    const secs = (performance.now() - t0) / 1000;
    const counts = await sql<{ departures: number; bookings: number; rollups: number }>`
      select (select count(*)::int from departures) as departures, (select count(*)::int from bookings) as bookings,
             (select count(*)::int from stats_departure) as rollups`.execute(s.db);
    return { ...opts, seconds: r1(secs), summary, database: counts.rows[0]! };
  } finally {
    await ctx.close();
    for (const w of s.workers) w.start();
  }
}

/** Holds at a steady rate (fresh listings, 1 TEU each) until `stop()`; what was placed and its latency. */
function steadyHolds(s: BenchStack, listings: { listingId: string }[], perSec: number) {
  let running = true;
  const lat: number[] = [];
  let ok = 0;
  let other = 0;
  const clients = 8;
  const t0 = performance.now();
  const done = Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; running && i < 1_000_000; i += clients) {
        const due = t0 + (i / perSec) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        if (!running) return;
        const res = await request(s.urls[i % s.urls.length]!, 'POST', '/api/holds', s.users[i % s.users.length]!, { listingId: listings[i % listings.length]!.listingId, teu: 1, tonnes: 10 });
        lat.push(res.ms);
        if (res.status === 201) ok++;
        else other++;
      }
    }),
  );
  return async () => {
    running = false;
    await done;
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    return { holds: ok, refused: other, 'holds/s': Math.round(ok / secs), 'hold p99 ms': r1(pct(lat, 99)) };
  };
}

/**
 * The endpoints a dashboard reads, each as it is called with and without filters, per scope. Utilisation rows
 * are read as the dashboards read them: without detail (API.md's figures); one large answer also with
 * detail=full (every figure per row, as the CSV has them).
 */
function endpoints(now: Date, f: { corridorId: string; cluster: string; operatorOrgId: string }) {
  const year = `from=${daysAgo(now, 364)}&to=${day(now)}`;
  const quarter = `from=${daysAgo(now, 89)}&to=${day(now)}`;
  const rows: { name: string; who: 'scheduler' | 'operator' | 'forwarder'; path: string }[] = [];
  for (const g of ['corridor-day', 'cluster-day', 'operator', 'mode', 'day', 'corridor', 'departure']) {
    rows.push({ name: `utilisation ${g}`, who: 'scheduler', path: `/api/stats/utilisation?groupBy=${g}` });
    // a year of it, narrowed by filters (per departure: one corridor, else the answer would exceed 10,000 rows)
    const filters = g === 'departure' ? `${year}&corridorId=${f.corridorId}` : `${year}&cluster=${f.cluster}&mode=rail`;
    rows.push({ name: `utilisation ${g} · year, filtered`, who: 'scheduler', path: `/api/stats/utilisation?groupBy=${g}&${filters}` });
  }
  rows.push(
    { name: 'utilisation day · year (history chart)', who: 'scheduler', path: `/api/stats/utilisation?groupBy=day&${year}` },
    { name: 'utilisation corridor · year (map)', who: 'scheduler', path: `/api/stats/utilisation?groupBy=corridor&${year}` },
    { name: 'utilisation corridor-day · operator filter', who: 'scheduler', path: `/api/stats/utilisation?groupBy=corridor-day&operatorOrgId=${f.operatorOrgId}` },
    { name: 'utilisation corridor-day · CSV', who: 'scheduler', path: '/api/stats/utilisation?groupBy=corridor-day&format=csv' },
    { name: 'utilisation departure · year, filtered, detail=full', who: 'scheduler', path: `/api/stats/utilisation?groupBy=departure&${year}&corridorId=${f.corridorId}&detail=full` },
    { name: 'kpis', who: 'scheduler', path: '/api/stats/kpis' },
    { name: 'kpis · quarter, corridor', who: 'scheduler', path: `/api/stats/kpis?${quarter}&corridorId=${f.corridorId}` },
    { name: 'kpis · year, cluster + mode', who: 'scheduler', path: `/api/stats/kpis?${year}&cluster=${f.cluster}&mode=rail` },
    { name: 'price-index', who: 'scheduler', path: '/api/stats/price-index' },
    { name: 'price-index · year, weekly, rail', who: 'scheduler', path: `/api/stats/price-index?${year}&bucket=week&mode=rail` },
    { name: 'price-index · quarter, daily, cluster', who: 'scheduler', path: `/api/stats/price-index?${quarter}&bucket=day&cluster=${f.cluster}` },
    { name: 'at-risk (48 h)', who: 'scheduler', path: '/api/stats/at-risk' },
    { name: 'at-risk (336 h)', who: 'scheduler', path: '/api/stats/at-risk?hours=336' },
    { name: 'operator: utilisation corridor-day', who: 'operator', path: '/api/stats/utilisation?groupBy=corridor-day' },
    { name: 'operator: kpis · year', who: 'operator', path: `/api/stats/kpis?${year}` },
    { name: 'operator: at-risk', who: 'operator', path: '/api/stats/at-risk' },
    { name: 'forwarder: kpis · year', who: 'forwarder', path: `/api/stats/kpis?${year}` },
    { name: 'forwarder: utilisation day · year', who: 'forwarder', path: `/api/stats/utilisation?groupBy=day&${year}` },
  );
  return rows;
}

/** `n` GETs of one endpoint by `concurrency` clients over both servers (after a short warm-up). */
async function measureEndpoint(s: BenchStack, u: User, p: string, n: number, concurrency: number) {
  for (let i = 0; i < 3; i++) await request(s.urls[i % s.urls.length]!, 'GET', p, u);
  const lat: number[] = [];
  const bad = new Map<string, number>();
  let rows: number | undefined;
  let bytes = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const res = await request(s.urls[i % s.urls.length]!, 'GET', p, u);
        lat.push(res.ms);
        if (res.status !== 200) {
          const code = `${res.status} ${/"code":"([a-z_]+)"/.exec(res.body)?.[1] ?? ''}`.trim();
          bad.set(code, (bad.get(code) ?? 0) + 1);
        } else if (rows === undefined) {
          bytes = Buffer.byteLength(res.body);
          rows = p.includes('format=csv') ? res.body.split('\n').filter(Boolean).length - 1 : ((JSON.parse(res.body) as { rows?: unknown[] }).rows?.length ?? 1);
        }
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { p50: r1(pct(lat, 50)), p95: r1(pct(lat, 95)), p99: r1(pct(lat, 99)), rows, KB: r1(bytes / 1024), errors: [...bad].map(([c, k]) => `${k}× ${c}`).join(', ') };
}

/** Hold → confirm pairs by `clients` concurrent forwarders on fresh listings; hold and confirm latencies. */
async function tradeRun(s: BenchStack, pairs: number, tag: string) {
  const n = 16;
  const listings = await makeListings(s.db, n, Math.ceil(pairs / n) + 10, 'fixed', tag);
  const hold: number[] = [];
  const confirm: number[] = [];
  let failed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async (_, w) => {
      for (;;) {
        const i = next++;
        if (i >= pairs) return;
        const base = s.urls[i % s.urls.length]!;
        const u = s.users[(w + i) % s.users.length]!;
        const h = await request(base, 'POST', '/api/holds', u, { listingId: listings[i % n]!.listingId, teu: 1, tonnes: 10 });
        hold.push(h.ms);
        if (h.status !== 201) {
          failed++;
          continue;
        }
        const c = await request(base, 'POST', `/api/holds/${(JSON.parse(h.body) as { id: string }).id}/confirm`, u, {});
        confirm.push(c.ms);
        if (c.status !== 201) failed++;
      }
    }),
  );
  hold.sort((a, b) => a - b);
  confirm.sort((a, b) => a - b);
  return { pairs, failed, 'hold p50': r1(pct(hold, 50)), 'hold p99': r1(pct(hold, 99)), 'confirm p50': r1(pct(confirm, 50)), 'confirm p99': r1(pct(confirm, 99)) };
}

export async function statsPhase(s: BenchStack, r: BenchRun) {
  const history = await generateHistory(s, r);
  log(`stats: history in ${history.seconds} s — ${history.database.departures} departures, ${history.database.bookings} bookings in the database`);
  log(`stats: ${await compactRollups(s.db)} corridor × day deltas folded, rollups vacuumed (history.ts does it too)`);
  await quiet('stats');

  const now = new Date();
  const corridor = await s.db.selectFrom('corridors as c').innerJoin('clusters as o', 'o.id', 'c.from_cluster_id').select(['c.id', 'o.code']).where('c.code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
  const op = await s.db.selectFrom('organisations').select('id').where('kind', '=', 'operator').orderBy('slug').executeTakeFirstOrThrow();
  const who = {
    scheduler: await signIn(s.urls[0]!, 'scheduler@demo.test'),
    operator: await signIn(s.urls[0]!, 'operator1@demo.test'),
    forwarder: await signIn(s.urls[0]!, 'forwarder1@demo.test'),
  };

  // 1. the dashboard API under a steady stream of holds
  const perEndpoint = r.quick ? 60 : 300;
  const concurrency = 4;
  const holdRate = r.quick ? 25 : 50;
  const bg = await makeListings(s.db, 32, 100_000, 'fixed', 'stats-bg');
  const stopHolds = steadyHolds(s, bg, holdRate);
  const table = [];
  const list = endpoints(now, { corridorId: corridor.id, cluster: corridor.code, operatorOrgId: op.id });
  try {
    // steady state: the hold load running and one untimed pass over every endpoint first (the servers' JIT, the
    // database's buffers after the bulk load), so the first endpoint measured does not pay for the others
    log('stats: warming up (every endpoint once, under the hold load)…');
    for (const e of list) await request(s.urls[0]!, 'GET', e.path, who[e.who]).then(() => request(s.urls[1 % s.urls.length]!, 'GET', e.path, who[e.who]));
    for (const e of list) {
      log(`stats: ${e.name}…`);
      const m = await measureEndpoint(s, who[e.who], e.path, perEndpoint, concurrency);
      table.push({ endpoint: e.name, as: e.who, rows: m.rows ?? '-', KB: m.KB, 'p50 ms': m.p50, 'p95 ms': m.p95, 'p99 ms': m.p99, target: `≤ ${TARGET_P95_MS}`, verdict: !m.errors && m.p95 <= TARGET_P95_MS ? 'PASS' : 'FAIL', ...(m.errors ? { errors: m.errors } : {}) });
    }
  } finally {
    const holds = await stopHolds();
    r.report.statsBackground = holds;
    console.log(`\nDashboard API on ${history.database.departures} departures / ${history.database.bookings} bookings (history: ${history.days} days at scale ${history.scale}, generated in ${history.seconds} s)`);
    console.log(`${perEndpoint} requests per endpoint, ${concurrency} concurrent, over 2 servers, while holds were placed at ${holds['holds/s']}/s (${holds.holds} placed, hold p99 ${holds['hold p99 ms']} ms)`);
  }
  console.table(table);
  const failed = table.filter((t) => t.verdict === 'FAIL');
  r.targets.push({ target: `dashboard API p95 ≤ ${TARGET_P95_MS} ms, every endpoint (${table.length})`, value: `${failed.length} over; worst p95 ${Math.max(...table.map((t) => t['p95 ms']))} ms`, met: failed.length === 0 });

  // 2. the rollups' cost on the trading path: interleaved runs, rollups off then on
  await quiet('stats: rollup cost');
  const pairs = r.quick ? 400 : 1500;
  const off = [];
  const on = [];
  try {
    for (let k = 0; k < r.repeats; k++) {
      log(`stats: rollup cost ${k + 1}/${r.repeats}: rollups off…`);
      await setRollupsEnabled(s.db, false);
      off.push(await tradeRun(s, pairs, `roff-${k}`));
      log(`stats: rollup cost ${k + 1}/${r.repeats}: rollups on…`);
      await setRollupsEnabled(s.db, true);
      on.push(await tradeRun(s, pairs, `ron-${k}`));
    }
  } finally {
    await setRollupsEnabled(s.db, true);
    log('stats: rebuilding the rollups (the off runs bypassed them)…');
    await rebuildRollups(s.db);
  }
  const mOff = { rollups: 'off', ...median(off, 'hold p99') };
  const mOn = { rollups: 'on', ...median(on, 'hold p99') };
  const cOff = median(off, 'confirm p99');
  const cOn = median(on, 'confirm p99');
  const holdRatio = mOn['hold p99'] / Math.max(0.1, mOff['hold p99']);
  const confirmRatio = cOn['confirm p99'] / Math.max(0.1, cOff['confirm p99']);
  console.log(`\nRollup cost on the trading path (${pairs} hold → confirm pairs per run, 32 concurrent forwarders; median of ${r.repeats} interleaved runs)`);
  console.table([mOff, mOn]);
  console.log(`hold p99 on/off ${r2(holdRatio)}× (confirm p99 on/off ${r2(confirmRatio)}×, runs ${cOff.runs} → ${cOn.runs} ms) — target ≤ ${TARGET_RATIO}×`);
  r.targets.push({ target: `hold p99 with rollups ≤ ${TARGET_RATIO}× without`, value: `${r2(holdRatio)}×`, met: holdRatio <= TARGET_RATIO });
  r.targets.push({ target: `confirm p99 with rollups ≤ ${TARGET_RATIO}× without`, value: `${r2(confirmRatio)}×`, met: confirmRatio <= TARGET_RATIO });
  r.report.stats = { history, endpoints: table, rollupCost: { off, on, holdRatio: r2(holdRatio), confirmRatio: r2(confirmRatio) } };
}
