// Bid path: bids on 16 hot ascending listings; every acknowledged bid must be durable in Postgres.
import { sql } from 'kysely';
import type { BenchStack } from './stack.ts';
import { load, log, makeListings, median, quiet, type BenchRun } from './measure.ts';

export async function bidsPhase(s: BenchStack, r: BenchRun) {
  const requests = r.quick ? 800 : 3000;
  await quiet('bids');
  const listings = await makeListings(s.db, 16, 1_000_000, 'ascending', 'bids');
  log('bids: 16 hot ascending listings…');
  const runs = [];
  for (let k = 0; k < r.repeats; k++) {
    log(`bids ${k + 1}/${r.repeats}…`);
    runs.push(await load(s.urls, s.users, requests, (i) => ({ path: `/api/listings/${listings[i % 16]!.listingId}/bids`, body: { teu: 1, unitPriceCents: 10_000 + ((k * requests + i) % 50) * 100 } })));
  }
  const res = median(runs, 'accepted/s');
  const durable = await sql<{ n: number }>`select count(*)::int as n from bids where listing_id in (${sql.join(listings.map((l) => l.listingId))})`.execute(s.db);
  const acknowledged = runs.reduce((t, x) => t + x.accepted, 0);
  r.report.bids = { ...res, acknowledgedAllRuns: acknowledged, durableInPostgres: durable.rows[0]!.n };
  console.log(`\nBid path (${requests} bids per run on 16 ascending listings; median of ${r.repeats} runs)`);
  console.table([{ ...res, 'durable / acknowledged (all runs)': `${durable.rows[0]!.n} / ${acknowledged}` }]);
  r.targets.push({ target: '≥ 5,000 durable bids/s', value: `${res['accepted/s']}/s`, met: res['accepted/s'] >= 5000 });
}
