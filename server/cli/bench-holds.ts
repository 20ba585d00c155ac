// npm run bench:holds [-- --requests 3000 --concurrency 64 --json FILE]
//
// Hold-path benchmark over two real server processes against the same Postgres and Redis, side by side
// with the naive baseline (one Postgres transaction with SELECT … FOR UPDATE per hold, no Redis) in the
// same run. Prints a table (and JSON with --json). Loopback only; bounded in count.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { createDb, type Db } from '../adapters/db/db.ts';
import { migrateToLatest } from '../adapters/db/migrate.ts';
import { createRedis } from '../adapters/redis/redis.ts';
import { loadConfig } from '../config.ts';
import { seedDemo } from '../seed/seed.ts';
import { hashPassword } from '../services/passwords.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const jsonAt = args.indexOf('--json');
const REQUESTS = arg('requests', 3000);
const CONCURRENCY = arg('concurrency', 64);
const USERS = 32;
const log = (m: string) => process.stderr.write(`▸ ${m}\n`);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function startServer(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['server/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start');
}

function pct(sorted: number[], p: number) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Scenario {
  name: string;
  listings: string[];
}

async function run(path: 'fast' | 'naive', sc: Scenario, servers: string[], users: { cookie: string; csrf: string }[]) {
  const url = path === 'fast' ? '/api/holds' : '/api/bench/naive-holds';
  const lat: number[] = [];
  let accepted = 0;
  let refused = 0;
  let other = 0;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (;;) {
        const i = next++;
        if (i >= REQUESTS) return;
        const u = users[(w + i) % users.length]!;
        const s = performance.now();
        const res = await fetch(`${servers[i % servers.length]}${url}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie: u.cookie, 'x-csrf-token': u.csrf },
          body: JSON.stringify({ listingId: sc.listings[i % sc.listings.length], teu: 1, tonnes: 10 }),
        });
        await res.arrayBuffer();
        lat.push(performance.now() - s);
        if (res.status === 201) accepted++;
        else if (res.status === 409) refused++;
        else other++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  return {
    scenario: sc.name,
    path,
    requests: REQUESTS,
    accepted,
    refused,
    errors: other,
    'requests/s': Math.round(REQUESTS / secs),
    'accepted/s': Math.round(accepted / secs),
    'p50 ms': Number(pct(lat, 50).toFixed(1)),
    'p99 ms': Number(pct(lat, 99).toFixed(1)),
    'loadgen CPU %': Math.round(((cpu.user + cpu.system) / 1000 / (secs * 1000)) * 100),
  };
}

async function makeDepartures(db: Db, n: number, capacityTeu: number, tag: string) {
  const corridor = await db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
  const op = await db.selectFrom('organisations').select('id').where('kind', '=', 'operator').executeTakeFirstOrThrow();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const cutoff = new Date(Date.now() + 3 * 86_400_000 + i * 60_000);
    const d = await db
      .insertInto('departures')
      .values({
        corridor_id: corridor.id, operator_org_id: op.id, asset_name: `Bench ${tag} ${i}`, departs_at: new Date(cutoff.getTime() + 3_600_000),
        arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: capacityTeu, capacity_tonnes: capacityTeu * 20,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const l = await db
      .insertInto('listings')
      .values({ departure_id: d.id, format: 'fixed', teu: capacityTeu, remaining_teu: capacityTeu, unit_price_cents: 50_000 })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(l.id);
  }
  return ids;
}

const base = loadConfig();
const dbName = `${new URL(base.databaseUrl).pathname.slice(1)}_bench`;
const adminUrl = new URL(base.databaseUrl);
adminUrl.pathname = '/postgres';
const benchUrl = new URL(base.databaseUrl);
benchUrl.pathname = `/${dbName}`;
const prefix = `bench${Date.now().toString(36)}:`;

const admin = createDb(adminUrl.toString(), { max: 1 });
await sql`drop database if exists ${sql.raw(`"${dbName}"`)} with (force)`.execute(admin);
await sql`create database ${sql.raw(`"${dbName}"`)}`.execute(admin);
const db = createDb(benchUrl.toString(), { max: 4 });
const servers: ChildProcess[] = [];
try {
  log(`bench database ${dbName}: migrating and seeding…`);
  await migrateToLatest(db);
  await seedDemo(db, new Date(), () => {}, 2);
  log(`creating ${USERS} forwarders…`);
  const hash = await hashPassword('cluster-demo');
  const emails: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const org = await db.insertInto('organisations').values({ slug: `bench-${i}`, name: `Bench ${i}`, kind: 'forwarder' }).returning('id').executeTakeFirstOrThrow();
    const u = await db.insertInto('users').values({ email: `bench${i}@bench.test`, name: `Bench ${i}`, password_hash: hash }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('memberships').values({ user_id: u.id, org_id: org.id, role: 'admin' }).execute();
    emails.push(`bench${i}@bench.test`);
  }
  log('starting 2 server processes…');
  const env = {
    DATABASE_URL: benchUrl.toString(), REDIS_URL: base.redisUrl, REDIS_PREFIX: prefix, LOG_LEVEL: 'error',
    BENCH_ROUTES: '1', API_PER_MINUTE: '10000000', SIGNIN_PER_MINUTE: '10000',
  };
  const started = await Promise.all([startServer(env), startServer(env)]);
  servers.push(...started.map((s) => s.child));
  const urls = started.map((s) => s.url);
  const users = await Promise.all(
    emails.map(async (email, i) => {
      const res = await fetch(`${urls[i % 2]}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'cluster-demo' }) });
      const me = (await res.json()) as { csrfToken: string };
      return { cookie: res.headers.getSetCookie()[0]!.split(';')[0]!, csrf: me.csrfToken };
    }),
  );

  const rows: Awaited<ReturnType<typeof run>>[] = [];
  const scenarios = async (tag: string): Promise<Scenario[]> => [
    { name: 'spread: 16 departures, room for all', listings: await makeDepartures(db, 16, Math.ceil(REQUESTS / 16) + 10, `${tag}s`) },
    { name: 'hot: 1 departure, 20 TEU free', listings: await makeDepartures(db, 1, 20, `${tag}h`) },
  ];
  const naive = await scenarios('n');
  const fast = await scenarios('f');
  for (let i = 0; i < naive.length; i++) {
    log(`scenario "${naive[i]!.name}": naive baseline…`);
    // warm-up of both paths on separate departures so connection pools and JIT are ready
    rows.push(await run('naive', naive[i]!, urls, users));
    log(`scenario "${fast[i]!.name}": Redis + Postgres guard…`);
    rows.push(await run('fast', fast[i]!, urls, users));
  }
  const over = await sql<{ n: number }>`
    select coalesce(sum(greatest(0, held_teu + booked_teu - capacity_teu) + greatest(0, held_tonnes + booked_tonnes - capacity_tonnes)), 0)::int as n
    from departures`.execute(db);
  const holdsMismatch = await sql<{ n: number }>`
    select count(*)::int as n from departures d
    where d.held_teu <> coalesce((select sum(teu) from holds h where h.departure_id = d.id and h.status = 'active'), 0)`.execute(db);
  const ratio = (s: number) => {
    const n = rows[s * 2]!;
    const f = rows[s * 2 + 1]!;
    return { scenario: n.scenario, 'accepted/s ×': Number((f['accepted/s'] / Math.max(1, n['accepted/s'])).toFixed(2)), 'requests/s ×': Number((f['requests/s'] / Math.max(1, n['requests/s'])).toFixed(2)), 'p99 ÷': Number((n['p99 ms'] / Math.max(0.1, f['p99 ms'])).toFixed(2)) };
  };
  const summary = {
    cores: os.cpus().length,
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    results: rows,
    ratios: [ratio(0), ratio(1)],
    overbookedUnits: over.rows[0]!.n,
    departuresWhoseHeldDiffersFromHolds: holdsMismatch.rows[0]!.n,
  };
  console.log(`\nHold path — ${summary.cores} cores, ${REQUESTS} requests per run, ${CONCURRENCY} concurrent clients, 2 server processes`);
  console.table(rows);
  console.table(summary.ratios);
  console.log(`overbooked units: ${summary.overbookedUnits}   departures whose held TEU differs from their active holds: ${summary.departuresWhoseHeldDiffersFromHolds}`);
  if (jsonAt >= 0 && args[jsonAt + 1]) writeFileSync(args[jsonAt + 1]!, JSON.stringify(summary, null, 2));
  if (summary.overbookedUnits !== 0 || summary.departuresWhoseHeldDiffersFromHolds !== 0) process.exitCode = 1;
} finally {
  for (const s of servers) s.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  await db.destroy();
  await sql`drop database if exists ${sql.raw(`"${dbName}"`)} with (force)`.execute(admin).catch(() => {});
  await admin.destroy();
  const redis = createRedis(base.redisUrl);
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
}
