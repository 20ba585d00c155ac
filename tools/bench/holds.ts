// Hold path: the real one (Redis admission gate + Postgres guard) against the naive baseline (one
// SELECT … FOR UPDATE transaction per hold, /api/bench/naive-holds of tools/bench/server.ts), on 16
// departures with room for all and on one hot departure with 20 TEU free.
import { sql } from 'kysely';
import type { BenchStack } from './stack.ts';
import { restCeiling, share, shareTarget } from './ceiling.ts';
import { CONCURRENCY, load, log, makeListings, median, quiet, r1, type BenchRun } from './measure.ts';

export async function holdsPhase(s: BenchStack, r: BenchRun) {
  const requests = r.quick ? 800 : 3000;
  await quiet('holds');
  const rows = [];
  for (const [name, n, teu, key] of [
    ['spread: 16 departures, room for all', 16, Math.ceil(requests / 16) + 10, 'accepted/s'],
    ['hot: 1 departure, 20 TEU free', 1, 20, 'req/s'],
  ] as const) {
    // r.repeats runs of each path, interleaved (naive, guarded, naive, …) so machine noise falls on both;
    // the row shows the median run, every run's figure beside it.
    const naiveRuns = [];
    const fastRuns = [];
    const ceilingRuns = [];
    for (let k = 0; k < r.repeats; k++) {
      const naive = await makeListings(s.db, n, teu, 'fixed', `hn${n}-${k}`);
      const fast = await makeListings(s.db, n, teu, 'fixed', `hf${n}-${k}`);
      log(`holds "${name}" ${k + 1}/${r.repeats}: naive baseline…`);
      naiveRuns.push(await load(s.urls, s.users, requests, (i) => ({ path: '/api/bench/naive-holds', body: { listingId: naive[i % n]!.listingId, teu: 1, tonnes: 10 } })));
      log(`holds "${name}" ${k + 1}/${r.repeats}: no-op ceiling…`);
      ceilingRuns.push(await restCeiling(s, requests));
      log(`holds "${name}" ${k + 1}/${r.repeats}: Redis gate + Postgres guard…`);
      fastRuns.push(await load(s.urls, s.users, requests, (i) => ({ path: '/api/holds', body: { listingId: fast[i % n]!.listingId, teu: 1, tonnes: 10 } })));
    }
    const ceiling = median(ceilingRuns, 'req/s');
    const naiveRow = median(naiveRuns, key);
    const fastRow = median(fastRuns, key);
    rows.push({ scenario: name, path: 'no-op ceiling (POST /api/noop)', ...ceiling, 'share of ceiling %': 100 });
    rows.push({ scenario: name, path: 'naive FOR UPDATE (context)', ...naiveRow, 'share of ceiling %': share(naiveRow[key], ceiling['req/s']) });
    rows.push({ scenario: name, path: 'Redis + PG guard', ...fastRow, 'share of ceiling %': share(fastRow[key], ceiling['req/s']) });
  }
  const over = await sql<{ n: number }>`
    select coalesce(sum(greatest(0, held_teu + booked_teu - capacity_teu) + greatest(0, held_tonnes + booked_tonnes - capacity_tonnes)), 0)::int as n from departures`.execute(s.db);
  // rows: [ceiling, naive, guarded] per scenario
  const ratioSpread = rows[2]!['accepted/s'] / Math.max(1, rows[1]!['accepted/s']);
  const ratioHot = rows[5]!['req/s'] / Math.max(1, rows[4]!['req/s']);
  r.report.holds = { rows, ratioAcceptedSpread: r1(ratioSpread), ratioRequestsHot: r1(ratioHot), overbookedUnits: over.rows[0]!.n };
  console.log(`\nHold path (${requests} requests per run, ${CONCURRENCY} concurrent clients over 2 servers; median of ${r.repeats} interleaved runs)`);
  console.table(rows);
  console.log(`ratio accepted holds/s (spread) ${r1(ratioSpread)}×, decided requests/s (hot) ${r1(ratioHot)}×; overbooked units ${over.rows[0]!.n}`);
  // issue 16: the target is a share of the ceiling measured beside it (the naive ratio stays printed as context)
  shareTarget(r, 'accepted holds/s on 16 departures', rows[2]!['accepted/s'], rows[0]!['req/s'], 50);
  r.targets.push({ target: '0 overbooked units', value: String(over.rows[0]!.n), met: over.rows[0]!.n === 0 });
}
