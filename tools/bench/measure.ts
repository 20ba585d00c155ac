// The bench's measuring tools: the HTTP load generator, percentiles and medians, waiting for a quiet
// machine, and listings made straight in Postgres for a phase to load.
import http from 'node:http';
import os from 'node:os';
import type { Db } from '../../server/adapters/db/db.ts';
import { sleep } from '../../scripts/lib/procs.mjs';
import { cpuCell, cpuSnapshot, cpuSplit } from './cpu-split.ts';

export const log = (m: string) => process.stderr.write(`▸ ${m}\n`);

export function pct(sorted: number[], p: number) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
export const r1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Waits (at most 30 s) until the machine is quiet — at least 80 % idle over a second — so that one phase's
 * aftermath (Postgres autovacuum, a Redis AOF rewrite, expiring jobs) does not land on the next one's figures.
 */
export async function quiet(what: string) {
  const idle = () => os.cpus().reduce((a, c) => ({ idle: a.idle + c.times.idle, total: a.total + Object.values(c.times).reduce((x, y) => x + y, 0) }), { idle: 0, total: 0 });
  const t0 = performance.now();
  let share = 0;
  for (let i = 0; i < 30; i++) {
    const a = idle();
    await sleep(1000);
    const b = idle();
    share = (b.idle - a.idle) / Math.max(1, b.total - a.total);
    if (share >= 0.8) break;
  }
  log(`${what}: machine ${Math.round(share * 100)} % idle after ${r1((performance.now() - t0) / 1000)} s`);
}

/** The median run by `key`, with every run's figure beside it. */
export function median<R extends Record<string, number | string>>(runs: R[], key: keyof R & string): R & { runs: string } {
  const sorted = [...runs].sort((a, b) => (a[key] as number) - (b[key] as number));
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, runs: runs.map((r) => r[key]).join(' / ') };
}

export type User = { cookie: string; csrf: string };

/** Concurrent clients of the load generator. */
export const CONCURRENCY = 64;

// The load generator shares the machine with what it measures, so it uses node:http with keep-alive
// connections (several times cheaper per request than fetch) and prints its own CPU share.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function post(base: string, p: string, u: User, body: unknown): Promise<number> {
  const data = JSON.stringify(body);
  const url = new URL(p, base);
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), cookie: u.cookie, 'x-csrf-token': u.csrf } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(data);
  });
}

/** A timed request's status, latency (ms) and body. */
export type Reply = { status: number; ms: number; body: string };

/**
 * One GET or POST over a keep-alive connection as `u` (CSRF on POST): its status, latency (ms) and body. `via`: another
 * connection pool than the shared one (64 sockets), e.g. one with a socket per simultaneous request.
 */
export function timedRequest(base: string, method: 'GET' | 'POST', p: string, u: User, body?: unknown, via: http.Agent = agent): Promise<Reply> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  const url = new URL(p, base);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname, port: url.port, path: url.pathname + url.search, method, agent: via,
        headers: {
          cookie: u.cookie,
          ...(method === 'POST' ? { 'x-csrf-token': u.csrf, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data ?? '') } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => resolve({ status: 0, ms: performance.now() - t0, body: '' }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0, body: '' }));
    req.end(data);
  });
}

/** Runs `total` POSTs with CONCURRENCY workers; returns throughput, latency and the load generator's CPU share. */
export async function load(
  servers: string[],
  users: User[],
  total: number,
  req: (i: number) => { path: string; body: unknown },
) {
  const lat: number[] = [];
  let ok = 0;
  let refused = 0;
  let errors = 0;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const split0 = cpuSnapshot();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const u = users[(w + i) % users.length]!;
        const { path: p, body } = req(i);
        const s = performance.now();
        const status = await post(servers[i % servers.length]!, p, u, body);
        lat.push(performance.now() - s);
        if (status === 201 || status === 200) ok++; // 200: the no-op ceiling (POST /api/noop)
        else if (status === 409) refused++;
        else errors++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const split = cpuSplit(split0, cpuSnapshot());
  lat.sort((a, b) => a - b);
  return {
    requests: total,
    accepted: ok,
    refused,
    errors,
    'req/s': Math.round(total / secs),
    'accepted/s': Math.round(ok / secs),
    'p50 ms': r1(pct(lat, 50)),
    'p99 ms': r1(pct(lat, 99)),
    'loadgen CPU %': Math.round(((cpu.user + cpu.system) / 1000 / (secs * 1000)) * 100),
    /** cores busy during the run, by process group (tools/bench/cpu-split.ts) */
    'CPU cores': cpuCell(split),
  };
}

/** `n` departures with one listing each, written straight into Postgres. */
export async function makeListings(db: Db, n: number, teu: number, format: 'fixed' | 'ascending', tag: string, corridorCode = 'DEDUI-ITBLQ-rail') {
  const corridor = await db.selectFrom('corridors').select('id').where('code', '=', corridorCode).executeTakeFirstOrThrow();
  const op = await db.selectFrom('organisations').select('id').where('kind', '=', 'operator').executeTakeFirstOrThrow();
  const out: { listingId: string; departureId: string; corridorId: string }[] = [];
  for (let i = 0; i < n; i++) {
    const cutoff = new Date(Date.now() + 3 * 86_400_000 + i * 60_000);
    const d = await db
      .insertInto('departures')
      .values({
        corridor_id: corridor.id, operator_org_id: op.id, asset_name: `Bench ${tag} ${i}`, departs_at: new Date(cutoff.getTime() + 3_600_000),
        arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: teu, capacity_tonnes: teu * 20,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const l = await db
      .insertInto('listings')
      .values({
        departure_id: d.id, format, teu, remaining_teu: teu,
        ...(format === 'fixed'
          ? { unit_price_cents: 50_000 }
          : { reserve_price_cents: 10_000, min_increment_cents: 100, opens_at: new Date(Date.now() - 1000), closes_at: cutoff, max_close_at: cutoff }),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    out.push({ listingId: l.id, departureId: d.id, corridorId: corridor.id });
  }
  return out;
}

/** What every phase gets besides the stack: the run's settings, and where it puts its figures and targets. */
export interface BenchRun {
  quick: boolean;
  /** Runs per measured path (median printed). */
  repeats: number;
  /** --watchers-normal: the watchers of the accept-latency phase at normal priority instead of nice 19. */
  watchersNormal: boolean;
  /** The JSON report (--json). */
  report: Record<string, unknown>;
  targets: { target: string; value: string; met: boolean }[];
}
