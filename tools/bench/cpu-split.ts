// Where the machine's CPU went during a measured interval, by process group: Postgres, Redis, the two
// servers, the workers, the load generator (this process and its fan-out children) and everything else on
// the (shared) machine. Read from /proc (Linux); elsewhere the split is empty. It is what the target table's
// misses are explained with: a path that leaves a core idle waits on something, a path whose Postgres share
// dominates is bound by its writes.
import { readdirSync, readFileSync } from 'node:fs';

export type CpuGroup = 'postgres' | 'redis' | 'servers' | 'workers' | 'loadgen' | 'other';
type Snapshot = { at: number; ticks: Map<number, { group: CpuGroup; ticks: number }> };

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function groupOf(pid: number, comm: string): CpuGroup {
  if (pid === process.pid) return 'loadgen';
  if (comm === 'postgres' || comm.startsWith('postgres')) return 'postgres';
  if (comm.startsWith('redis-server')) return 'redis';
  if (comm === 'node' || comm.startsWith('node') || comm === 'MainThread') {
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return 'other';
    }
    if (cmd.includes('tools/bench/server.ts')) return 'servers';
    if (cmd.includes('workers/worker.ts')) return 'workers';
    if (cmd.includes('tools/bench/')) return 'loadgen'; // fan-out children
  }
  return 'other';
}

/** utime + stime of every process now. */
export function cpuSnapshot(): Snapshot {
  const ticks = new Map<number, { group: CpuGroup; ticks: number }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return { at: performance.now(), ticks };
  }
  for (const d of pids) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' '); // f[0] = state (field 3); utime = field 14, stime = field 15
      const pid = Number(d);
      ticks.set(pid, { group: groupOf(pid, comm), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  return { at: performance.now(), ticks };
}

/** Cores used per group between two snapshots (a process that ended in between is not counted). */
export function cpuSplit(a: Snapshot, b: Snapshot): Record<CpuGroup, number> {
  const secs = Math.max(0.001, (b.at - a.at) / 1000);
  const out: Record<CpuGroup, number> = { postgres: 0, redis: 0, servers: 0, workers: 0, loadgen: 0, other: 0 };
  for (const [pid, now] of b.ticks) {
    const before = a.ticks.get(pid)?.ticks ?? 0;
    out[now.group] += (now.ticks - before) / TICKS_PER_SECOND / secs;
  }
  for (const k of Object.keys(out) as CpuGroup[]) out[k] = Math.round(out[k] * 100) / 100;
  return out;
}

/** The split as one table cell: cores per group, the busiest first (groups under 0.05 core left out). */
export function cpuCell(split: Record<CpuGroup, number>): string {
  const short: Record<CpuGroup, string> = { postgres: 'pg', redis: 'redis', servers: 'srv', workers: 'wrk', loadgen: 'gen', other: 'other' };
  const total = Object.values(split).reduce((x, y) => x + y, 0);
  const parts = (Object.entries(split) as [CpuGroup, number][])
    .filter(([, v]) => v >= 0.05)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${short[k]} ${v.toFixed(1)}`);
  return `${total.toFixed(1)}: ${parts.join(' · ')}`;
}
