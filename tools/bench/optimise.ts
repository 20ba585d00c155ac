// Pooling optimiser (issue 13) on generated instances — no database, no HTTP: the core's seeded generator
// (server/core/pooling/generate.ts) builds requests, departures, listings and candidate itineraries (route
// search, multi-leg allowed); optimise() solves them with HiGHS in a worker thread (as the BullMQ worker does),
// warmed up first. Measured: optimise() wall time (model building, LP relaxation, MIP, stitching,
// verification; candidate generation is shown apart), objective, bounds, gaps, and the greedy baseline
// (earliest-deadline first-fit) with the improvement over it in cost, load factor and CO2e.
//
// Target: 1,000 requests × 30 departures within 1 % of the bound in ≤ 5 s. "Bound" is the best lower bound
// HiGHS proves (its MIP dual bound: the LP relaxation tightened by cuts and branching); the plain LP
// relaxation's gap is printed beside it. 5,000 × 200 is reported (5 s and 10 s limits).
//
// In the bench: `npm run bench -- --only optimise`. Standalone (no stack needed):
//   npx tsx tools/bench/optimise.ts [--quick]
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { threadSolver } from '../../server/adapters/solver/solve-thread.ts';
import { generateInstance, optimise, type OptimiseResult } from '../../server/core/pooling.ts';
import type { BenchRun } from './measure.ts';
import type { BenchStack } from './stack.ts';

const log = (m: string) => process.stderr.write(`▸ ${m}\n`);
const TARGET_GAP_PCT = 1;
const TARGET_S = 5;

interface Case {
  name: string;
  requests: number;
  departures: number;
  limitS: number;
  target: boolean;
}

const eur = (cents: number | null) => (cents === null ? '-' : `€${Math.round(cents / 100).toLocaleString('en')}`);
const pct = (x: number | null, d = 2) => (x === null ? '-' : `${x.toFixed(d)} %`);
const lf = (x: number) => `${(x * 100).toFixed(1)} %`;
const tonnes = (g: number | null) => (g === null ? '-' : `${(g / 1e6).toFixed(1)} t`);

async function runCase(c: Case, repeats: number, solver: ReturnType<typeof threadSolver>) {
  let t = performance.now();
  const { instance, routing } = generateInstance({ seed: 13, requests: c.requests, departures: c.departures });
  const genMs = performance.now() - t;
  const runs: { ms: number; res: OptimiseResult }[] = [];
  for (let i = 0; i < repeats; i++) {
    t = performance.now();
    const res = await optimise(instance, { routing, timeLimitSec: c.limitS, clock: () => performance.now() }, solver);
    runs.push({ ms: performance.now() - t, res });
  }
  runs.sort((a, b) => a.ms - b.ms);
  const { ms, res } = runs[Math.floor((runs.length - 1) / 2)]!;
  const g = res.greedy.figures;
  const m = res.figures;
  const row = {
    case: c.name,
    'limit s': c.limitS,
    'candidates (multi-leg)': `${instance.candidates.length} (${instance.candidates.filter((k) => k.legs.length > 1).length})`,
    'parts (cols)': `${res.parts.length} (${res.parts[0]?.columns ?? 0})`,
    'solve s': (ms / 1000).toFixed(2),
    runs: runs.map((x) => (x.ms / 1000).toFixed(2)).join(' / '),
    objective: eur(m.objective.totalCents),
    bound: eur(res.boundCents),
    'gap %': pct(res.gapPct),
    'LP relax.': eur(res.lpBoundCents),
    'gap vs LP relax. %': pct(res.gapVsLpPct),
    'greedy objective': eur(g.objective.totalCents),
    'cost vs greedy': `−${pct((100 * (g.objective.totalCents - m.objective.totalCents)) / g.objective.totalCents, 1)}`,
    'placed greedy → MIP': `${g.placed} → ${m.placed}`,
    'load factor before → greedy → MIP': `${lf(res.loadFactorBefore)} → ${lf(g.loadFactor)} → ${lf(m.loadFactor)}`,
    'departures run greedy → MIP': `${g.departuresRunning} → ${m.departuresRunning}`,
    'CO2e saved vs road greedy → MIP': `${tonnes(g.co2eSavedVsRoadGrams)} → ${tonnes(m.co2eSavedVsRoadGrams)}`,
    'trucks avoided greedy → MIP': `${g.trucksAvoided} → ${m.trucksAvoided}`,
    verdict: c.target ? (ms <= TARGET_S * 1000 && res.gapPct !== null && res.gapPct <= TARGET_GAP_PCT && res.violations.length === 0 ? 'PASS' : 'FAIL') : 'report',
  };
  return { row, ms, res, genMs };
}

/** The bench phase (the stack is not used: the instances are generated). */
export async function optimisePhase(_s: BenchStack | null, r: BenchRun): Promise<void> {
  const solver = threadSolver();
  try {
    log('optimise: warming HiGHS up in its worker thread…');
    const warmMs = await solver.warmUp();
    const cases: Case[] = [
      { name: '1,000 requests × 30 departures', requests: 1000, departures: 30, limitS: TARGET_S, target: true },
      { name: '5,000 requests × 200 departures', requests: 5000, departures: 200, limitS: 5, target: false },
      ...(r.quick ? [] : [{ name: '5,000 requests × 200 departures', requests: 5000, departures: 200, limitS: 10, target: false }]),
    ];
    const rows: Record<string, string | number>[] = [];
    const details = [];
    for (const c of cases) {
      log(`optimise: ${c.name}, ${c.limitS} s limit…`);
      const out = await runCase(c, c.target ? r.repeats : 1, solver);
      rows.push(out.row);
      details.push({ case: c.name, limitS: c.limitS, genMs: Math.round(out.genMs), parts: out.res.parts, violations: out.res.violations.length });
      if (c.target) {
        r.targets.push({
          target: `optimiser: 1,000 requests × 30 departures within ${TARGET_GAP_PCT} % of the bound in ≤ ${TARGET_S} s`,
          value: `gap ${pct(out.res.gapPct)} (vs LP relaxation ${pct(out.res.gapVsLpPct)}) in ${(out.ms / 1000).toFixed(2)} s`,
          met: out.row.verdict === 'PASS',
        });
      }
    }
    console.log(`\nPooling optimiser on generated instances (HiGHS 1.15 WebAssembly in a worker thread, warmed up in ${Math.round(warmMs)} ms; ${os.cpus().length} cores)`);
    console.log('solve s = optimise() wall time (median of the runs); gap = (objective − bound) / (objective − constant part), bound = HiGHS MIP dual bound');
    // one column per case, one row per figure
    const cols = rows.map((row, i) => `${i + 1}. ${row.case} · ${row['limit s']} s`);
    console.table(Object.fromEntries(Object.keys(rows[0] ?? {}).filter((k) => k !== 'case').map((k) => [k, Object.fromEntries(rows.map((row, i) => [cols[i]!, row[k]]))])));
    for (const d of details) console.log(`${d.case} (${d.limitS} s): generated in ${d.genMs} ms; parts ${JSON.stringify(d.parts.map((p) => ({ requests: p.requests, columns: p.columns, rows: p.rows, fixed: p.fixed, chunks: p.chunks, statuses: p.statuses.join(','), ms: Math.round(p.ms) })))}; verifier findings ${d.violations}`);
    r.report.optimise = { warmMs, rows, details };
  } finally {
    await solver.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const run: BenchRun = { quick, repeats: quick ? 1 : 3, watchersNormal: false, report: {}, targets: [] };
  await optimisePhase(null, run);
  console.table(run.targets.map((t) => ({ ...t, met: t.met ? 'met' : 'NOT met' })));
}
