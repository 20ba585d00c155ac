// What a chaos run returns, and the summary table the CLI prints.

export interface CheckRow {
  check: string;
  checked: number;
  violations: number;
  examples: string[];
}

export interface Fault {
  /** Seconds after the load started. */
  at: number;
  kind: string;
  target: string;
  downMs: number;
}

export interface ChaosResult {
  seed: number;
  seconds: number;
  ok: boolean;
  load: Record<string, number>;
  faults: Fault[];
  faultCounts: Record<string, number>;
  checks: CheckRow[];
  quiesceMs: number;
  convergeMs: number;
}

/** The summary as text: load, faults, then the checks (what the CLI prints on stdout). */
export function formatChaos(r: ChaosResult): string {
  const lines: string[] = [];
  lines.push(`Chaos run — seed ${r.seed}, ${r.seconds} s of load, 2 servers + 2 workers + private Redis (AOF)`);
  lines.push('');
  lines.push('load');
  const w = Math.max(...Object.keys(r.load).map((k) => k.length));
  for (const [k, v] of Object.entries(r.load)) lines.push(`  ${k.padEnd(w)}  ${String(v).padStart(7)}`);
  lines.push('');
  lines.push(`faults injected: ${Object.entries(r.faultCounts).map(([k, v]) => `${v} × ${k}`).join(', ')}`);
  for (const f of r.faults) lines.push(`  t+${f.at.toFixed(1).padStart(5)} s  ${f.kind.padEnd(26)} ${f.target.padEnd(8)} back after ${(f.downMs / 1000).toFixed(1)} s`);
  lines.push('');
  lines.push(`drained in ${(r.quiesceMs / 1000).toFixed(1)} s; live views checked after ${(r.convergeMs / 1000).toFixed(1)} s`);
  lines.push('');
  const cw = Math.max(...r.checks.map((c) => c.check.length));
  lines.push(`  ${'check'.padEnd(cw)}  ${'checked'.padStart(7)}  ${'violations'.padStart(10)}`);
  for (const c of r.checks) {
    lines.push(`  ${c.check.padEnd(cw)}  ${String(c.checked).padStart(7)}  ${String(c.violations).padStart(10)}${c.violations ? '  ✖' : ''}`);
    for (const e of c.examples) lines.push(`      ${e}`);
  }
  lines.push('');
  lines.push(r.ok ? 'OK: no invariant broken' : 'FAILED: invariants broken (see above)');
  return lines.join('\n');
}
