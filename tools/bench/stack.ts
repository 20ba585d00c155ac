// The bench's own stack: a private Redis (AOF), a fresh database on the project's Postgres (migrated,
// seeded, plus USERS forwarder accounts), 2 server processes (tools/bench/server.ts: the app plus the naive
// baseline routes) and 2 worker processes, all on loopback; close() takes it all down again.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createDb, type Db } from '../../server/adapters/db/db.ts';
import { migrateToLatest, migrationDatabaseUrl } from '../../server/adapters/db/migrate.ts';
import { loadConfig } from '../../server/config.ts';
import { seedDemo } from '../../server/seed/seed.ts';
import { hashPassword } from '../../server/services/passwords.ts';
import { freePort, killOnExit, Managed, RedisServer, sleep, TSX } from '../../scripts/lib/procs.mjs';
import { log, type User } from './measure.ts';

export interface BenchStack {
  db: Db;
  redisUrl: string;
  /** The two servers' base URLs. */
  urls: string[];
  users: User[];
  workers: Managed[];
  /** Registers a child process (fan-out clients) to be killed at the end. */
  track(child: ChildProcess): ChildProcess;
}

async function waitHttp(url: string) {
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) return;
    await sleep(100);
  }
  throw new Error(`${url} did not start`);
}

/**
 * Starts the stack, hands it to `run`, and takes it down whatever happens. With `profileDir`, servers and
 * workers write V8 CPU profiles there (stopped with SIGTERM first, so that they are written).
 */
export async function withBenchStack<T>(opts: { users: number; profileDir?: string | undefined }, run: (s: BenchStack) => Promise<T>): Promise<T> {
  const base = loadConfig();
  // one database per run (runs side by side must not drop each other's), dropped at the end
  const dbName = `${new URL(base.databaseUrl).pathname.slice(1)}_bench_${process.pid}`;
  // The bench database is created, migrated and seeded as the schema owner (MIGRATION_DATABASE_URL); the
  // server and worker processes connect to it as the app role (DATABASE_URL), as in production.
  const ownerBase = migrationDatabaseUrl();
  const adminUrl = new URL(ownerBase);
  adminUrl.pathname = '/postgres';
  const benchUrl = new URL(ownerBase);
  benchUrl.pathname = `/${dbName}`;
  const benchAppUrl = new URL(base.databaseUrl);
  benchAppUrl.pathname = `/${dbName}`;
  const admin = createDb(adminUrl.toString(), { max: 1 });
  const redisDir = mkdtempSync(path.join(os.tmpdir(), 'cx-bench-redis-'));
  const procs: Managed[] = [];
  const children: (Managed | ChildProcess)[] = [];
  const unregister = killOnExit(children);
  let db: Db | undefined;
  try {
    const redis = new RedisServer({ port: await freePort(), dir: redisDir, appendfsync: 'everysec' });
    children.push(redis.proc);
    await redis.start();
    await sql`drop database if exists ${sql.raw(`"${dbName}"`)} with (force)`.execute(admin);
    await sql`create database ${sql.raw(`"${dbName}"`)}`.execute(admin);
    db = createDb(benchUrl.toString(), { max: 6 });
    log(`database ${dbName}: migrating and seeding…`);
    await migrateToLatest(db);
    await seedDemo(db, new Date(), () => {}, 2);
    log(`creating ${opts.users} forwarders…`);
    const hash = await hashPassword('cluster-demo');
    for (let i = 0; i < opts.users; i++) {
      const org = await db.insertInto('organisations').values({ slug: `bench-${i}`, name: `Bench ${i}`, kind: 'forwarder' }).returning('id').executeTakeFirstOrThrow();
      const u = await db.insertInto('users').values({ email: `bench${i}@bench.test`, name: `Bench ${i}`, password_hash: hash }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('memberships').values({ user_id: u.id, org_id: org.id, role: 'admin' }).execute();
    }
    const env = {
      ...process.env,
      DATABASE_URL: benchAppUrl.toString(), REDIS_URL: redis.url, REDIS_PREFIX: 'bench:', LOG_LEVEL: 'error',
      API_PER_MINUTE: '100000000', SIGNIN_PER_MINUTE: '100000',
      SIGNIN_PER_ADDRESS_PER_MINUTE: '100000', SIGNIN_PER_ACCOUNT_PER_HOUR: '100000', AUTH_LOOKUPS_PER_MINUTE: '100000000',
      // the fan-out phase opens thousands of sockets per session from one address
      SOCKET_HANDSHAKES_PER_MINUTE: '0', SOCKETS_PER_PRINCIPAL: '1000000',
    };
    // stdout ignored, stderr shown; in a process group, so stopping one reaches tsx's node child too
    const tsx = (name: string, file: string, extra: Record<string, string> = {}) => {
      const [cmd, argv] = opts.profileDir
        ? [process.execPath, ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.profileDir)}`, '--import', 'tsx', file]]
        : [TSX, [file]];
      const m = new Managed(name, cmd, argv, { env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'inherit'] }).start();
      procs.push(m);
      children.push(m);
      return m;
    };
    log('starting 2 server and 2 worker processes…');
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    ports.forEach((p, i) => tsx(`server${i + 1}`, 'tools/bench/server.ts', { PORT: String(p), HOST: '127.0.0.1' }));
    const workers = [tsx('worker1', 'workers/worker.ts'), tsx('worker2', 'workers/worker.ts')];
    await Promise.all(urls.map(waitHttp));
    const users: User[] = await Promise.all(
      Array.from({ length: opts.users }, async (_, i) => {
        const res = await fetch(`${urls[i % 2]}/api/session`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: `bench${i}@bench.test`, password: 'cluster-demo' }),
        });
        const me = (await res.json()) as { csrfToken: string };
        return { cookie: res.headers.getSetCookie()[0]!.split(';')[0]!, csrf: me.csrfToken };
      }),
    );
    return await run({ db, redisUrl: redis.url, urls, users, workers, track: (c) => (children.push(c), c) });
  } finally {
    if (opts.profileDir) {
      for (const p of procs) p.signal('SIGTERM');
      await sleep(5000);
    }
    for (const c of children) {
      if (c instanceof Managed) c.signal('SIGKILL');
      else c.kill('SIGKILL');
    }
    unregister();
    await sleep(300);
    await db?.destroy();
    await sql`drop database if exists ${sql.raw(`"${dbName}"`)} with (force)`.execute(admin).catch(() => {});
    await admin.destroy();
    rmSync(redisDir, { recursive: true, force: true });
  }
}
