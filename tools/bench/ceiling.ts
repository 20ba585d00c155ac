// The ceiling of this stack on this machine (issue 16, part 1): POST /api/noop — an authenticated change that does
// no work (session, CSRF, rate limit, error shape: the plugins of every trading call) — with the same clients,
// concurrency and servers as the trading path it is measured beside. Trading figures are printed as a share of it.
import type { BenchStack } from './stack.ts';
import { load, type BenchRun } from './measure.ts';

export type LoadResult = Awaited<ReturnType<typeof load>>;

/** One run of the REST no-op ceiling: `requests` POST /api/noop. */
export function restCeiling(s: BenchStack, requests: number): Promise<LoadResult> {
  return load(s.urls, s.users, requests, () => ({ path: '/api/noop', body: {} }));
}

/** `value` as a whole percentage of `ceiling`. */
export function share(value: number, ceiling: number): number {
  return Math.round((100 * value) / Math.max(1, ceiling));
}

/** A target stated as a share of the ceiling measured in the same run. */
export function shareTarget(r: BenchRun, what: string, value: number, ceiling: number, minPct: number): void {
  const pctOf = share(value, ceiling);
  r.targets.push({ target: `${what} ≥ ${minPct} % of the no-op ceiling`, value: `${pctOf} % (${value}/s of ${ceiling}/s)`, met: pctOf >= minPct });
}
