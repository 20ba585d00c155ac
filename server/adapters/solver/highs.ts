/**
 * The HiGHS MIP solver (the `highs` npm package: HiGHS 1.15 compiled to WebAssembly, no native build, no
 * install script) behind the core's {@link MipSolver} interface.
 *
 * The Wasm runtime is loaded once per thread (`loadHighs`, cached). `solveLp` parses a CPLEX LP-format model
 * into a persistent HiGHS model (`createModel({ format: 'lp' })`), sets `time_limit` and `mip_rel_gap`
 * (output off, `random_seed` 0), optionally a MIP start (`setSolution`), runs it — synchronously: it blocks
 * the calling thread until HiGHS stops (optimal, gap reached, or the time limit); use
 * `solve-thread.ts` to keep it off the event loop — and reads the model status, the objective, the MIP dual
 * bound (`info.mip_dual_bound`), the gap (`info.mip_gap`) and the column values by name. The native model is
 * always disposed (`dispose()` in finally: garbage collection would not free Wasm memory).
 */
import highsModule, { type Highs, type HighsCallbackMap } from 'highs';
import { buildModel } from '../../core/pooling/model.ts';
import { generateInstance } from '../../core/pooling/generate.ts';
import type { MipSolver, SolveOptions, SolveResult, SolveStatus } from '../../core/pooling/types.ts';

// The package's types describe a CommonJS module (TypeScript sees the loader as `.default`), while Node loads
// its ES module build, whose default export is the loader itself.
type Loader = typeof highsModule.default;
const loadHighsRuntime: Loader = (highsModule as unknown as { default?: Loader }).default ?? (highsModule as unknown as Loader);

let runtime: Promise<Highs> | undefined;

/** The HiGHS runtime of this thread (loaded on first use). */
export function loadHighs(): Promise<Highs> {
  return (runtime ??= loadHighsRuntime());
}

function statusOf(highs: Highs, code: number): SolveStatus {
  const s = highs.constants.modelStatus;
  if (code === s.optimal) return 'optimal';
  if (code === s.timeLimit) return 'time_limit';
  if (code === s.infeasible) return 'infeasible';
  if (code === s.interrupted) return 'interrupted';
  if (code === s.loadError || code === s.modelError || code === s.solveError || code === s.presolveError || code === s.postsolveError) return 'error';
  return 'other';
}

const STATUS_TEXT: Record<SolveStatus, string> = {
  optimal: 'Optimal',
  time_limit: 'Time limit reached',
  infeasible: 'Infeasible',
  interrupted: 'Interrupted',
  error: 'Error',
  other: 'Other',
};

const num = (v: number | bigint): number => (typeof v === 'bigint' ? Number(v) : v);

/** Solves one LP-format model synchronously (see the module comment). `opts.onProgress` is called from inside the run. */
export function solveLp(highs: Highs, lp: string, opts: SolveOptions): SolveResult {
  const t0 = performance.now();
  const model = highs.createModel({ format: 'lp', data: lp });
  try {
    model.options.set({
      output_flag: false,
      time_limit: Math.max(0.001, opts.timeLimitSec),
      mip_rel_gap: opts.mipRelGap,
      random_seed: 0,
      ...(opts.relax ? { solver: 'simplex' } : {}),
    });
    const n = model.getDimensions().numCols;
    const names: string[] = [];
    for (let i = 0; i < n; i++) names.push(model.getColName(i));
    if (opts.start && !opts.relax) {
      const start = opts.start;
      model.setSolution({ colValue: names.map((name) => start[name] ?? 0) });
    }
    const callbacks: HighsCallbackMap = {};
    const progress = opts.onProgress;
    if (progress) {
      const report = (d: { mip_primal_bound?: number; mip_dual_bound?: number; mip_gap?: number; running_time?: number }) =>
        progress({
          incumbent: Number.isFinite(d.mip_primal_bound) ? d.mip_primal_bound! : null,
          bound: Number.isFinite(d.mip_dual_bound) ? d.mip_dual_bound! : null,
          gap: Number.isFinite(d.mip_gap) ? d.mip_gap! : null,
          runningSec: d.running_time ?? 0,
        });
      const types = highs.constants.callbackType;
      Object.assign(callbacks, {
        [types.mipImprovingSolution]: (e: { data: Parameters<typeof report>[0] }) => void report(e.data),
        [types.mipLogging]: (e: { data: Parameters<typeof report>[0] }) => void report(e.data),
      });
    }
    const run = model.run(callbacks);
    const status = statusOf(highs, run.modelStatus);
    const hasSolution = num(model.info.get('primal_solution_status')) === highs.constants.solutionStatus.feasible;
    const objective = hasSolution ? model.getObjectiveValue() : NaN;
    const isMip = !opts.relax && /\n(Binaries|Binary|Bin|Generals|General|Integers?)\s*\n/i.test(lp);
    let bound = NaN;
    let gap = NaN;
    if (isMip) {
      bound = num(model.info.get('mip_dual_bound'));
      gap = num(model.info.get('mip_gap'));
    } else if (status === 'optimal') {
      bound = objective;
      gap = 0;
    }
    const values: Record<string, number> = {};
    if (hasSolution) {
      const col = model.getSolution().colValue;
      for (let i = 0; i < n; i++) if (Math.abs(col[i]!) > 1e-9) values[names[i]!] = col[i]!;
    }
    return {
      status,
      statusText: STATUS_TEXT[status],
      hasSolution,
      objective,
      bound: Number.isFinite(bound) ? bound : NaN,
      gap: Number.isFinite(gap) ? gap : NaN,
      solveMs: performance.now() - t0,
      values,
    };
  } finally {
    model.dispose();
  }
}

/**
 * Warms the runtime up: V8 compiles WebAssembly lazily and tiers hot code up, so the first MIP solved by a
 * fresh runtime runs 3–4 times slower than later ones. One generated pooling MIP (400 requests × 12
 * departures, at most `seconds`) brings later solves to speed. Returns the ms it took.
 */
export async function warmUp(seconds = 1.5): Promise<number> {
  const t0 = performance.now();
  const highs = await loadHighs();
  const { instance } = generateInstance({ seed: 1, requests: 400, departures: 12 });
  solveLp(highs, buildModel(instance).lp(), { timeLimitSec: seconds, mipRelGap: 0 });
  return performance.now() - t0;
}

/** A solver running HiGHS in the calling thread (blocks it during each solve). */
export function inProcessSolver(): MipSolver {
  return {
    async solve(lp, opts) {
      return solveLp(await loadHighs(), lp, opts);
    },
  };
}
