import { writeFileSync } from 'node:fs';
import { createDb } from '../adapters/db/db.ts';
import { threadSolver } from '../adapters/solver/solve-thread.ts';
import { loadConfig } from '../config.ts';
import { OptimiserService } from '../services/optimiser.ts';
import { insertOptimisation } from '../adapters/db/optimisations-repo.ts';

// npm run optimise [-- --json FILE]
// Runs one optimisation of the pool now, in this process (HiGHS in a worker thread), as the `pool.optimise` job
// would — same lease, same plan transaction — and prints the plan as the scheduler's screen shows it: the figures
// beside the greedy baseline, then the proposals. Progress (phase, gap) is printed as it comes. Exit 1 when the
// run did not write a plan (another one holds the lease, or it failed).
const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
if (jsonAt >= 0 && !jsonFile) {
  console.error('usage: npm run optimise [-- --json FILE]');
  process.exit(2);
}

const cfg = loadConfig();
const db = createDb(cfg.databaseUrl, { max: 4 });
let shown = '';
const events = {
  async emit(list: { event: string; payload: unknown }[]) {
    for (const e of list) {
      if (e.event !== 'optimisation:progress') continue;
      const p = e.payload as { phase: string; part: number; parts: number; gapPct: number | null };
      const line = `${p.phase}${p.parts && p.part < p.parts ? ` part ${p.part + 1}/${p.parts}` : ''}${p.gapPct === null ? '' : ` gap ${p.gapPct.toFixed(2)} %`}`;
      if (line !== shown) process.stderr.write(`  optimise: ${(shown = line)}\n`);
    }
  },
};
const optimiser = new OptimiserService(db, events, null, { timeLimitSec: cfg.optimiserTimeLimitSec, co2PriceCentsPerTonne: cfg.co2PriceCentsPerTonne });
const solver = threadSolver();
const eur = (c: number | null) => (c === null ? '-' : `€${(c / 100).toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)} %`);
try {
  await solver.warmUp();
  const row = await insertOptimisation(db, { trigger: 'manual', requested_by: null });
  const out = await optimiser.run(row.id, solver);
  const o = (await optimiser.report(row.id))!;
  console.log(`\noptimisation ${o.id}: ${o.status}${o.planVersion ? `, plan version ${o.planVersion}` : ''}${o.error ? ` — ${o.error}` : ''}`);
  if (o.status === 'done') {
    console.table([
      { figure: 'shipments placed', plan: `${o.placed} / ${o.requests}` },
      { figure: 'objective', plan: eur(o.objectiveCents), greedy: eur(o.greedyObjectiveCents) },
      { figure: 'LP bound / proven bound', plan: `${eur(o.lpBoundCents)} / ${eur(o.lowerBoundCents)}` },
      { figure: 'gap', plan: o.gapPct === null ? '-' : `${o.gapPct.toFixed(2)} %` },
      { figure: 'solve time', plan: `${o.solveMs} ms${o.timeLimitHit ? ' (time limit)' : ''}` },
      { figure: 'load factor before → after', plan: `${pct(o.loadFactorBefore)} → ${pct(o.loadFactorAfter)}` },
      { figure: 'departures considered / proposed for cancellation or merging', plan: `${o.departures} / ${o.departuresToCancel}` },
      { figure: 'CO2e saved vs road', plan: o.co2eSavedKg === null ? '-' : `${(o.co2eSavedKg / 1000).toFixed(1)} t` },
      { figure: 'trucks avoided', plan: o.trucksAvoided ?? '-' },
    ]);
    console.table(o.proposals.filter((p) => p.kind === 'shipment').map((p) => ({
      shipment: p.shipmentId?.slice(0, 8), legs: p.legs.length, teu: p.teu, price: eur(p.priceCents), 'stand-alone': eur(p.standaloneCents),
      share: eur(p.shareCents), saving: eur(p.savingCents), 'CO2e kg': p.co2eKg, 'road CO2e kg': p.roadCo2eKg,
    })));
    const cancels = o.proposals.filter((p) => p.kind === 'departure' && p.action === 'cancel');
    console.log(`${cancels.length} empty departures proposed for cancellation${cancels.length ? ` (first: ${cancels.slice(0, 5).map((p) => p.departureId?.slice(0, 8)).join(', ')})` : ''}`);
    const merges = o.proposals.filter((p) => p.action === 'merge');
    console.log(`${merges.length} under-used departures proposed for merging (their bookings move only with their forwarders' consent)`);
    if (merges.length) {
      console.table(merges.map((p) => ({
        departure: p.departureId?.slice(0, 8), into: p.mergeIntoDepartureId?.slice(0, 8), bookings: p.movedBookings.length, teu: p.loadBeforeTeu,
        'min load': p.minLoadTeu, 'target load': `${p.targetLoadBeforeTeu} → ${p.targetLoadAfterTeu}`, saves: eur(p.operatingSavingCents),
      })));
    }
  }
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ outcome: out, optimisation: o }, null, 2));
  if (out.status !== 'done') process.exitCode = 1;
} catch (err) {
  console.error('optimise failed:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await solver.close();
  await db.destroy();
}
