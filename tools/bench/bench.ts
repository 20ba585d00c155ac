// npm run bench [-- --json FILE] [--only book,holds,bids,hot,sockets,fanout,watched,settlement,routes,optimise,stats] [--quick] [--profile DIR] [--watchers-normal]
//
// Starts its own stack (tools/bench/stack.ts) — a private Redis, a fresh database on the project's
// Postgres, 2 server and 2 worker processes — and measures each path side by side with its baseline in the
// same run. Prints tables (or JSON with --json), the machine's core count and the load generator's CPU
// share. Loopback only; every loop is bounded in count and time.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { bidsPhase } from './bids.ts';
import { acceptLatencyPhase, fanoutPhase } from './fanout.ts';
import { holdsPhase } from './holds.ts';
import { orderBookPhase } from './order-book.ts';
import { hotListingPhase } from './hot-listing.ts';
import { optimisePhase } from './optimise.ts';
import { routesPhase } from './routes.ts';
import type { BenchRun } from './measure.ts';
import { settlementPhase } from './settlement.ts';
import { socketBidsPhase } from './socket-bids.ts';
import { statsPhase } from './stats.ts';
import { withBenchStack } from './stack.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag('quick');
const only = new Set((opt('only') ?? 'book,holds,bids,hot,sockets,fanout,watched,settlement,routes,optimise,stats').split(','));
const run: BenchRun = {
  quick,
  repeats: quick ? 1 : 3,
  watchersNormal: flag('watchers-normal'),
  report: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, quick },
  targets: [],
};

// --profile DIR: servers and workers write V8 CPU profiles there (stopped with SIGTERM so they are written).
await withBenchStack({ users: 50, profileDir: opt('profile') }, async (stack) => {
  if (only.has('book')) orderBookPhase(run); // pure, in process
  if (only.has('holds')) await holdsPhase(stack, run);
  if (only.has('bids')) await bidsPhase(stack, run);
  if (only.has('hot')) await hotListingPhase(stack, run);
  if (only.has('sockets')) await socketBidsPhase(stack, run);
  if (only.has('fanout') || only.has('watched')) {
    const watchedCorridor = await fanoutPhase(stack, run, only.has('fanout'));
    if (only.has('watched')) await acceptLatencyPhase(stack, run, watchedCorridor);
  }
  if (only.has('settlement')) await settlementPhase(stack, run);
  // adds 5,000 departures (and 12 clusters) to the database
  if (only.has('routes')) await routesPhase(stack, run);
  // generated pooling instances solved in a worker thread (no database)
  if (only.has('optimise')) await optimisePhase(stack, run);
  // last: it adds a year of history (≈ 20,000 departures, 300,000 bookings) to the database
  if (only.has('stats')) await statsPhase(stack, run);

  console.log(`\nTargets (${os.cpus().length} cores; ratios against baselines measured in this run)`);
  console.table(run.targets.map((t) => ({ ...t, met: t.met ? 'met' : 'NOT met' })));
  run.report.targets = run.targets;
  const jsonAt = opt('json');
  if (jsonAt) writeFileSync(jsonAt, JSON.stringify(run.report, null, 2));
});
