// The chaos run's private world: its own database (migrated and seeded from scratch, dropped at the end)
// and its own Redis server with AOF in a temp dir (so it can be restarted and keep its data), with 2
// server and 2 worker processes, each in its own process group (a group kill reaches tsx's node child).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createDb, type Db } from '../../server/adapters/db/db.ts';
import { migrateToLatest } from '../../server/adapters/db/migrate.ts';
import { seedDemo } from '../../server/seed/seed.ts';
import { bundledProcess, bundleProcesses } from '../../scripts/lib/bundle.mjs';
import { freePort, killOnExit, RedisServer, sleep, type Managed } from '../../scripts/lib/procs.mjs';
import { call } from './client.ts';

export interface WorldOptions {
  /** The application role's URL on the Postgres server to use: the server and worker processes connect with it. */
  databaseUrl: string;
  /** The schema owner's URL on the same server (creates, migrates, seeds, checks and drops the private database); default `databaseUrl`. */
  ownerDatabaseUrl?: string | undefined;
  /** The redis-server binary (a private instance is started on a free loopback port). */
  redisBin?: string | undefined;
  log: (msg: string) => void;
}

/** Configuration of the server and worker processes: short holds, soft close and offers, limits out of the way. */
const PROCESS_ENV = {
  REDIS_PREFIX: 'cx:',
  LOG_LEVEL: 'error',
  HOST: '127.0.0.1',
  HOLD_TTL_SECONDS: '5',
  SOFT_CLOSE_WINDOW_SECONDS: '2',
  SOFT_CLOSE_EXTEND_SECONDS: '2',
  API_PER_MINUTE: '10000000',
  SIGNIN_PER_MINUTE: '100000',
  SIGNIN_PER_ADDRESS_PER_MINUTE: '100000', SIGNIN_PER_ACCOUNT_PER_HOUR: '100000', AUTH_LOOKUPS_PER_MINUTE: '100000000',
  DEPARTURE_WINDOW_DAYS: '2',
  // issue 14: offers of freed capacity time out fast, so chains run their course during the run
  OFFER_WINDOW_MS: '1500',
  // issue 15: the run's webhook receiver is on 127.0.0.1 (plain http); failed attempts retried within a second
  WEBHOOK_ALLOW_HTTP: '1', WEBHOOK_ALLOW_LOOPBACK: '1', WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_SWEEP_MS: '500',
  WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_RETRY_MAX_MS: '1000', WEBHOOK_MAX_ATTEMPTS: '100',
};

export class ChaosWorld {
  readonly dbName: string;
  /** The private database, as the owner (set up, checks). */
  db!: Db;
  redis!: RedisServer;
  readonly servers: Managed[] = [];
  readonly workers: Managed[] = [];
  urls: string[] = [];
  ports: number[] = [];
  private readonly admin: Db;
  private readonly procs: Managed[] = [];
  private redisDir: string | null = null;
  private dbCreated = false;
  private readonly unregister: () => void;
  private onSignal: (() => void) | null = null;

  constructor(private readonly o: WorldOptions) {
    const base = new URL(o.databaseUrl);
    this.dbName = `${base.pathname.slice(1) || 'cluster_exchange'}_chaos_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    const adminUrl = new URL(o.ownerDatabaseUrl || o.databaseUrl);
    adminUrl.pathname = '/postgres';
    this.admin = createDb(adminUrl.toString(), { max: 1 });
    // A last resort if the caller's process exits without reaching tearDown.
    this.unregister = killOnExit(this.procs);
  }

  private url(of: string) {
    const u = new URL(of);
    u.pathname = `/${this.dbName}`;
    return u.toString();
  }

  private dropDatabase() {
    return sql`drop database if exists ${sql.raw(`"${this.dbName}"`)} with (force)`.execute(this.admin);
  }

  /** CLI: on SIGINT / SIGTERM kill every process started here, drop the database, exit 130. */
  handleSignals() {
    // The children run in their own process groups, so a Ctrl-C in the terminal does not reach them.
    this.onSignal = () => {
      for (const p of this.procs) p.signal('SIGKILL');
      this.o.log('interrupted: processes killed, dropping the database…');
      const drop = this.dropDatabase().catch(() => {});
      if (this.redisDir) rmSync(this.redisDir, { recursive: true, force: true });
      void Promise.race([drop, sleep(3000)]).then(() => process.exit(130));
    };
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  async setUp() {
    const { log } = this.o;
    await this.dropDatabase();
    await sql`create database ${sql.raw(`"${this.dbName}"`)}`.execute(this.admin);
    this.dbCreated = true;
    this.db = createDb(this.url(this.o.ownerDatabaseUrl || this.o.databaseUrl), { max: 6 });
    log(`database ${this.dbName}: migrating and seeding…`);
    await migrateToLatest(this.db);
    await seedDemo(this.db, new Date(), () => {}, 2);

    // AOF, fsync always: a restart keeps every acknowledged write
    this.redisDir = mkdtempSync(path.join(os.tmpdir(), 'cx-chaos-redis-'));
    this.redis = new RedisServer({ port: await freePort(), dir: this.redisDir, appendfsync: 'always', bin: this.o.redisBin });
    this.procs.push(this.redis.proc);
    await this.redis.start();
    log(`redis on ${this.redis.url} (AOF in ${this.redisDir})`);

    // the processes connect as the application role, as in production
    const env: NodeJS.ProcessEnv = { ...process.env, ...PROCESS_ENV, DATABASE_URL: this.url(this.o.databaseUrl), REDIS_URL: this.redis.url };
    this.ports = [await freePort(), await freePort()];
    this.urls = this.ports.map((p) => `http://127.0.0.1:${p}`);
    // plain Node from bundles built now (scripts/lib/bundle.mjs): restarts after a kill come up in half the CPU of tsx
    await bundleProcesses();
    this.servers.push(...this.ports.map((p, i) => bundledProcess(`server${i + 1}`, 'server', { env: { ...env, PORT: String(p) } })));
    this.workers.push(...[0, 1].map((i) => bundledProcess(`worker${i + 1}`, 'worker', { env })));
    this.procs.push(...this.servers, ...this.workers);
    log('starting 2 server and 2 worker processes…');
    await Promise.all([this.startServer(0), this.startServer(1), this.startWorker(0), this.startWorker(1)]);
  }

  /** (Re)starts server `i` on its port and waits until /health answers 200. */
  async startServer(i: number) {
    const s = this.servers[i]!;
    s.start();
    for (let k = 0; k < 600; k++) {
      if (!s.alive) throw new Error(`${s.name} exited: ${s.out}`);
      const r = await call(this.urls[i]!, 'GET', '/health', null, undefined, 2000);
      if (r?.status === 200) return;
      await sleep(100);
    }
    throw new Error(`${s.name} did not become healthy: ${s.out}`);
  }

  /** (Re)starts worker `i` and waits for its start-up line. */
  async startWorker(i: number) {
    const w = this.workers[i]!;
    w.start();
    for (let k = 0; k < 600; k++) {
      if (!w.alive) throw new Error(`${w.name} exited: ${w.out}`);
      if (w.out.includes('running queues')) return;
      await sleep(100);
    }
    throw new Error(`${w.name} did not start: ${w.out}`);
  }

  /** Stops everything started here (servers and workers gracefully, bounded; then Redis) and drops the database. */
  async tearDown() {
    await Promise.all(this.procs.filter((p) => p.name !== 'redis').map((p) => p.stop(3000)));
    await Promise.all(this.procs.map((p) => p.kill()));
    this.unregister();
    if (this.onSignal) {
      process.removeListener('SIGINT', this.onSignal);
      process.removeListener('SIGTERM', this.onSignal);
    }
    if (this.redisDir) rmSync(this.redisDir, { recursive: true, force: true });
    await this.db?.destroy().catch(() => {});
    if (this.dbCreated) await this.dropDatabase().catch(() => {});
    await this.admin.destroy().catch(() => {});
  }
}
