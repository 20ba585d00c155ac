// npx tsx tools/bench/profile-top.ts DIR [--top N] [--skip SECONDS] [--inclusive] [--json FILE]
//
// Reads the V8 CPU profiles that `npm run bench -- --profile DIR` makes the servers and workers write, and
// prints, per process, where its CPU went: busy share of the wall time, self time by package (our code,
// pg, ioredis, bullmq, fastify, socket.io, node internals, GC) and the top functions by self time. This is
// how the closing notes name the reason a speed target is missed. Each process's busy share per second is
// printed as a timeline; --skip leaves its first SECONDS (start-up: module loading) out of the tables; --inclusive adds
// our own functions by inclusive time (the share of samples with the function anywhere on the stack: what a service
// call costs with everything it calls).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const args = process.argv.slice(2);
const dir = args[0];
if (!dir) {
  console.error('usage: tsx tools/bench/profile-top.ts DIR [--top N] [--json FILE]');
  process.exit(2);
}
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const top = Number(opt('top') ?? 15);
const skipUs = Number(opt('skip') ?? 0) * 1e6;

/** Which package (or part of ours) a script URL belongs to. */
export function packageOf(url: string, fn: string): string {
  if (!url) {
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(idle)' || fn === '(program)' || fn === '(root)') return fn;
    return 'native';
  }
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node internals';
  const m = /\/(server|workers|tools)\/([^/]+)/.exec(url);
  return m ? `ours: ${m[1]}/${m[2]}` : 'other';
}

const report: Record<string, unknown>[] = [];
const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
for (const f of files) {
  const p = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  const nameOf = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const selfUs = new Map<number, number>();
  const perSecond: number[] = [];
  let t = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    const sec = Math.floor(t / 1e6);
    if (!idleIds.has(id)) perSecond[sec] = (perSecond[sec] ?? 0) + dt;
    if (t >= skipUs) selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    if (t >= skipUs && args.includes('--inclusive') && !idleIds.has(id)) {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const n = byId.get(cur)!;
        if (!packageOf(n.callFrame.url, n.callFrame.functionName).startsWith('ours')) continue;
        const k = nameOf(n);
        if (seen.has(k)) continue;
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
      }
    }
  });
  const wallUs = p.endTime - p.startTime - Math.min(skipUs, p.endTime - p.startTime);
  const byPkg = new Map<string, number>();
  const byFn = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const pkg = packageOf(n.callFrame.url, n.callFrame.functionName);
    if (pkg === '(idle)') {
      idle += us;
      continue;
    }
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
    const where = n.callFrame.url ? `${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where} [${pkg}]`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  const busy = wallUs - idle;
  if (busy < 200_000) continue; // a process that did (almost) nothing — e.g. the stopped worker
  const pct = (us: number) => Math.round((1000 * us) / busy) / 10;
  const pkgs = [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, top).map(([pkg, us]) => ({ package: pkg, 'ms': Math.round(us / 1000), '% of busy': pct(us) }));
  const fns = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ function: fn.slice(0, 110), ms: Math.round(us / 1000), '% of busy': pct(us) }));
  const timeline = Array.from(perSecond, (us) => String(Math.round((us ?? 0) / 1e4)).padStart(3)).join('');
  console.log(`\n${f}: wall ${(wallUs / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${Math.round((100 * busy) / wallUs)} %)${skipUs ? ` after the first ${skipUs / 1e6} s` : ''}`);
  console.log(`busy % per second: ${timeline}`);
  console.table(pkgs);
  console.table(fns);
  const incl = [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ 'ours, inclusive': fn.slice(0, 110), ms: Math.round(us / 1000), '% of busy': pct(us) }));
  if (incl.length) console.table(incl);
  report.push({ file: f, wallMs: Math.round(wallUs / 1000), busyMs: Math.round(busy / 1000), packages: pkgs, functions: fns, inclusive: incl });
}
const jsonAt = opt('json');
if (jsonAt) writeFileSync(jsonAt, JSON.stringify(report, null, 2));
