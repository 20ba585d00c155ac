// Bid path: bids on 16 hot ascending listings; every acknowledged bid must be durable in Postgres.
import { sql } from 'kysely';
import type { BenchStack } from './stack.ts';
import { restCeiling, share } from './ceiling.ts';
import { load, log, makeListings, median, quiet, type BenchRun } from './measure.ts';

export async function bidsPhase(s: BenchStack, r: BenchRun) {
  const requests = r.quick ? 800 : 3000;
  await quiet('bids');
  const listings = await makeListings(s.db, 16, 1_000_000, 'ascending', 'bids');
  log('bids: 16 hot ascending listings…');
  const runs = [];
  const ceilingRuns = [];
  for (let k = 0; k < r.repeats; k++) {
    log(`bids ${k + 1}/${r.repeats}: no-op ceiling…`);
    ceilingRuns.push(await restCeiling(s, requests));
    log(`bids ${k + 1}/${r.repeats}…`);
    runs.push(await load(s.urls, s.users, requests, (i) => ({ path: `/api/listings/${listings[i % 16]!.listingId}/bids`, body: { teu: 1, unitPriceCents: 10_000 + ((k * requests + i) % 50) * 100 } })));
  }
  const res = median(runs, 'accepted/s');
  const ceiling = median(ceilingRuns, 'req/s');
  const durable = await sql<{ n: number }>`select count(*)::int as n from bids where listing_id in (${sql.join(listings.map((l) => l.listingId))})`.execute(s.db);
  const acknowledged = runs.reduce((t, x) => t + x.accepted, 0);
  r.report.bids = { ...res, acknowledgedAllRuns: acknowledged, durableInPostgres: durable.rows[0]!.n };
  console.log(`\nBid path (${requests} bids per run on 16 ascending listings; median of ${r.repeats} runs)`);
  console.table([
    { path: 'no-op ceiling (POST /api/noop)', ...ceiling, 'share of ceiling %': 100 },
    { path: 'bids over REST', ...res, 'share of ceiling %': share(res['accepted/s'], ceiling['req/s']), 'durable / acknowledged (all runs)': `${durable.rows[0]!.n} / ${acknowledged}` },
  ]);
  r.report.bids = { ...(r.report.bids as object), ceiling, shareOfCeilingPct: share(res['accepted/s'], ceiling['req/s']) };
  // the bid target is stated over the live connection (./socket-bids.ts); this REST figure is printed beside it there
  r.targets.push({ target: 'REST bids: every acknowledged bid in Postgres', value: `${durable.rows[0]!.n}/${acknowledged}`, met: durable.rows[0]!.n === acknowledged });
}
