/**
 * The derating tables (issue 14) from `water-levels.json`: per gauge the barge corridors it governs and the load
 * factor allowed at a level, per service code where a vessel class differs. Checked at load: a broken table stops the
 * process at start-up rather than derating wrongly. Not part of the pure core: it reads a JSON module.
 */
import { allowedFactor, tableProblem, type TablePoint } from '../core/derating.ts';
import data from './water-levels.json' with { type: 'json' };

export interface Gauge {
  code: string;
  name: string;
  corridors: string[];
  table: TablePoint[];
  services: Record<string, TablePoint[]>;
}

const gauges = new Map<string, Gauge>();
for (const [code, g] of Object.entries(data.gauges as Record<string, Omit<Gauge, 'code'>>)) {
  for (const [what, t] of [['table', g.table], ...Object.entries(g.services)] as [string, TablePoint[]][]) {
    const problem = tableProblem(t);
    if (problem) throw new Error(`water-levels.json gauges.${code}.${what}: ${problem}`);
  }
  gauges.set(code, { code, ...g });
}

/** Days ahead whose barge departures a new level derates. */
export const DERATING_HORIZON_DAYS: number = data.horizonDays;

export const gaugeCodes = (): string[] => [...gauges.keys()];
export const gaugeOf = (code: string): Gauge | undefined => gauges.get(code);

/** The load factor a departure of `serviceCode` (null: no service) may take at `levelCm` on `gauge`. */
export function factorFor(gauge: Gauge, serviceCode: string | null, levelCm: number): number {
  return allowedFactor((serviceCode && gauge.services[serviceCode]) || gauge.table, levelCm);
}
