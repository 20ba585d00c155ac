// The chaos run behind `npm run chaos` (server/cli/chaos.ts) and test/integration/chaos.test.ts.
//
// A private world — its own database (migrated and seeded from scratch, dropped at the end) and its own
// Redis server with AOF in a temp dir (so it can be restarted and keep its data) — with 2 server and 2
// worker processes. In-process forwarders hold / confirm / release / let expire / cancel / bid at a
// bounded rate while Socket.IO observers keep a live availability view like the real client does, and
// faults are injected at seeded random moments: SIGKILL a server (restarted on the same port), SIGKILL a
// worker (restarted), restart Redis. When the load stops and the workers have drained, the invariants of
// DESIGN.md are checked against Postgres and against what the clients were told. Loopback only; every
// loop is bounded in count and time; every process started here is killed by process group at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { io as ioClient, type Socket } from 'socket.io-client';
import { createDb, type Db } from '../adapters/db/db.ts';
import { migrateToLatest } from '../adapters/db/migrate.ts';
import { seedDemo } from '../seed/seed.ts';
import { verifyLedger } from '../services/ledger.ts';
import { hashPassword } from '../services/passwords.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

export interface ChaosOptions {
  /** Length of the load phase in seconds. */
  seconds: number;
  /** The application role's URL on the Postgres server to use: the server and worker processes connect with it. */
  databaseUrl: string;
  /** The schema owner's URL on the same server (creates, migrates, seeds, checks and drops the private database); default `databaseUrl`. */
  ownerDatabaseUrl?: string;
  /** The redis-server binary (a private instance is started on a free loopback port). */
  redisBin?: string;
  /** PRNG seed; printed so that a run's schedule can be repeated. */
  seed?: number;
  forwarders?: number;
  observers?: number;
  /**
   * After the load phase with its faults, Redis is stopped for this many seconds while the load goes on
   * (0: no outage phase). Every request sent meanwhile must answer within OUTAGE_ANSWER_MS, with success
   * or a clear 503, and nothing may be committed that no client heard of.
   */
  redisOutageSeconds?: number;
  /** Progress lines. */
  log?: (msg: string) => void;
  /** CLI: on SIGINT / SIGTERM kill every process started here, drop the database, exit 130. */
  handleSignals?: boolean;
}

export interface CheckRow {
  check: string;
  checked: number;
  violations: number;
  examples: string[];
}

export interface ChaosResult {
  seed: number;
  seconds: number;
  ok: boolean;
  load: Record<string, number>;
  faults: { at: number; kind: string; target: string; downMs: number }[];
  faultCounts: Record<string, number>;
  checks: CheckRow[];
  quiesceMs: number;
  convergeMs: number;
}

// ---------------------------------------------------------------------------------------------- utilities

/** mulberry32: small, seeded, good enough for scheduling. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
type Rng = ReturnType<typeof prng>;

/** During the Redis outage phase every request must be answered within this time (success or a clear 503). */
export const OUTAGE_ANSWER_MS = 2000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** One PING over a raw socket: true only for +PONG (not while Redis is still loading its AOF). */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** Sends one inline command and ignores the answer (SHUTDOWN closes the connection). */
function redisSend(port: number, cmd: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = () => {
      s.destroy();
      resolve();
    };
    s.setTimeout(2000, done);
    s.once('error', done);
    s.once('close', done);
    s.once('connect', () => s.write(`${cmd}\r\n`));
  });
}

/** A child process in its own process group (tsx runs the program in a child node: a group kill reaches it). */
class Managed {
  child: ChildProcess | null = null;
  out = '';
  exited: Promise<void> = Promise.resolve();
  starts = 0;

  constructor(
    readonly name: string,
    private readonly cmd: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  start() {
    this.out = '';
    this.starts++;
    const child = spawn(this.cmd, this.args, { cwd: ROOT, env: this.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout!.on('data', (d) => (this.out = (this.out + d).slice(-20_000)));
    child.stderr!.on('data', (d) => (this.out = (this.out + d).slice(-20_000)));
    child.on('error', () => {});
    this.exited = new Promise<void>((r) => child.once('exit', () => r()));
    this.child = child;
  }

  get alive() {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Signals the whole process group. */
  signal(sig: NodeJS.Signals) {
    const pid = this.child?.pid;
    if (!pid || !this.alive) return;
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        this.child!.kill(sig);
      } catch {
        /* gone */
      }
    }
  }

  /** SIGKILL the group and wait (bounded) for the exit. */
  async kill() {
    this.signal('SIGKILL');
    await Promise.race([this.exited, sleep(5000)]);
  }

  /** Graceful stop, bounded; SIGKILL after `graceMs`. */
  async stop(graceMs = 5000) {
    if (!this.alive) return;
    this.signal('SIGTERM');
    const ok = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!ok) await this.kill();
  }
}

interface HttpAnswer {
  status: number;
  json: any;
}
interface Who {
  cookie: string;
  csrf: string;
}

/** One request with a time limit; null when the outcome is unknown (connection refused, reset, timeout). */
async function call(base: string, method: string, url: string, who: Who | null, body?: unknown, timeoutMs = 10_000): Promise<HttpAnswer | null> {
  try {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (who) {
      headers.cookie = who.cookie;
      if (method !== 'GET') headers['x-csrf-token'] = who.csrf;
    }
    const res = await fetch(`${base}${url}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, json };
  } catch (err) {
    lastCallError = String((err as { cause?: unknown }).cause ?? err);
    return null;
  }
}
/** Why the last `call` got no answer (for the outage report). */
let lastCallError = '';

async function signIn(base: string, email: string): Promise<Who & { orgId: string }> {
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${base}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'cluster-demo' }),
      signal: AbortSignal.timeout(15_000),
    }).catch(() => null);
    if (res?.status === 200) {
      const me = (await res.json()) as { csrfToken: string; org: { id: string } };
      return { cookie: res.headers.getSetCookie()[0]!.split(';')[0]!, csrf: me.csrfToken, orgId: me.org.id };
    }
    await sleep(250);
  }
  throw new Error(`sign-in failed for ${email}`);
}

// ------------------------------------------------------------------------------------------- observers

interface Avail {
  seq: number;
  freeTeu: number;
  freeTonnes: number;
}

/**
 * A live view kept the way the real client keeps it (client/src/lib/departures.svelte.ts): apply an
 * event with a newer seq, ignore older ones, re-read a departure over HTTP on a seq gap, re-join the rooms
 * and re-read the whole board after every (re)connect.
 */
class Observer {
  readonly view = new Map<string, Avail>();
  private readonly dirty = new Set<string>();
  private needSubscribe = true;
  private socket: Socket | null = null;
  private stopped = false;
  private pump: Promise<void> = Promise.resolve();
  stats = { connects: 0, events: 0, gaps: 0, rereads: 0 };

  constructor(
    readonly name: string,
    private readonly base: string,
    private readonly who: Who,
    private readonly departures: { id: string; corridorId: string }[],
    private readonly rooms: 'corridor' | 'departure',
  ) {}

  get connected() {
    return !!this.socket?.connected;
  }

  start() {
    const socket = ioClient(this.base, {
      transports: ['websocket'],
      reconnection: true,
      reconnectionDelay: 200,
      reconnectionDelayMax: 1000,
      timeout: 5000,
      extraHeaders: { cookie: this.who.cookie },
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.stats.connects++;
      this.needSubscribe = true;
      for (const d of this.departures) this.dirty.add(d.id); // re-read the whole board after a (re)connect
    });
    // the server lost contact with the event stream for a while: events may be lost, re-read everything
    socket.on('live:resync', () => {
      for (const d of this.departures) this.dirty.add(d.id);
    });
    socket.on('departure:availability', (e: { departureId?: string; seq?: number; freeTeu?: number; freeTonnes?: number }) => {
      if (!e || typeof e.departureId !== 'string' || !this.departures.some((d) => d.id === e.departureId)) return;
      this.stats.events++;
      const cur = this.view.get(e.departureId);
      if (typeof e.seq !== 'number' || typeof e.freeTeu !== 'number' || typeof e.freeTonnes !== 'number') return;
      if (cur && e.seq <= cur.seq) return; // stale
      if (cur && e.seq > cur.seq + 1) {
        this.stats.gaps++;
        this.dirty.add(e.departureId); // applied, then re-read
      }
      this.view.set(e.departureId, { seq: e.seq, freeTeu: e.freeTeu, freeTonnes: e.freeTonnes });
    });
    this.pump = this.run();
  }

  private async run() {
    while (!this.stopped) {
      const s = this.socket;
      if (s?.connected && this.needSubscribe) {
        this.needSubscribe = false;
        const targets =
          this.rooms === 'corridor'
            ? [...new Set(this.departures.map((d) => d.corridorId))].map((corridorId) => ({ corridorId }))
            : this.departures.map((d) => ({ departureId: d.id }));
        for (const t of targets) {
          const r = (await s.timeout(3000).emitWithAck('subscribe', t).catch(() => null)) as { ok?: boolean } | null;
          if (!r?.ok) this.needSubscribe = true;
        }
        if (this.needSubscribe) await sleep(300);
        // a re-read after the (re)join covers whatever was sent before it
        for (const d of this.departures) this.dirty.add(d.id);
      }
      for (const id of [...this.dirty]) {
        if (this.stopped) return;
        const r = await call(this.base, 'GET', `/api/departures/${id}`, this.who, undefined, 5000);
        if (r?.status !== 200) break; // the server is away: retry on the next round
        this.stats.rereads++;
        this.dirty.delete(id);
        const fresh = r.json as { seq: number; freeTeu: number; freeTonnes: number };
        const cur = this.view.get(id);
        if (!cur || fresh.seq >= cur.seq) this.view.set(id, { seq: Number(fresh.seq), freeTeu: fresh.freeTeu, freeTonnes: fresh.freeTonnes });
      }
      await sleep(200);
    }
  }

  async stop() {
    this.stopped = true;
    this.socket?.close();
    await Promise.race([this.pump, sleep(6000)]);
  }
}

// ------------------------------------------------------------------------------------------------ the run

interface AckLog {
  holds: { id: string; teu: number; tonnes: number; listingId: string }[];
  bookings: { id: string; holdId: string; teu: number }[];
  bids: { id: string; listingId: string }[];
  cancellations: { bookingId: string }[];
  releases: string[];
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const seconds = o.seconds;
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rng = prng(seed);
  const log = o.log ?? ((m: string) => process.stderr.write(`▸ ${m}\n`));
  const nForwarders = o.forwarders ?? 12;
  const nObservers = o.observers ?? 4;
  log(`chaos: seed ${seed}, ${seconds} s of load, ${nForwarders} forwarders, ${nObservers} live observers`);

  const base = new URL(o.databaseUrl);
  const dbName = `${base.pathname.slice(1) || 'cluster_exchange'}_chaos_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const owner = o.ownerDatabaseUrl || o.databaseUrl;
  const adminUrl = new URL(owner);
  adminUrl.pathname = '/postgres';
  const chaosUrl = new URL(owner);
  chaosUrl.pathname = `/${dbName}`;
  // the processes connect as the application role, as in production
  const chaosAppUrl = new URL(o.databaseUrl);
  chaosAppUrl.pathname = `/${dbName}`;

  const procs: Managed[] = [];
  const observers: Observer[] = [];
  let redisDir: string | null = null;
  let db: Db | null = null;
  let dbCreated = false;
  const admin = createDb(adminUrl.toString(), { max: 1 });
  // A last resort if the caller's process exits without reaching the finally block.
  const killAll = () => {
    for (const p of procs) p.signal('SIGKILL');
  };
  process.once('exit', killAll);
  // The children run in their own process groups, so a Ctrl-C in the terminal does not reach them.
  const onSignal = () => {
    killAll();
    log('interrupted: processes killed, dropping the database…');
    const drop = sql`drop database if exists ${sql.raw(`"${dbName}"`)} with (force)`.execute(admin).catch(() => {});
    if (redisDir) rmSync(redisDir, { recursive: true, force: true });
    void Promise.race([drop, sleep(3000)]).then(() => process.exit(130));
  };
  if (o.handleSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  try {
    // ---- database
    await sql`drop database if exists ${sql.raw(`"${dbName}"`)} with (force)`.execute(admin);
    await sql`create database ${sql.raw(`"${dbName}"`)}`.execute(admin);
    dbCreated = true;
    db = createDb(chaosUrl.toString(), { max: 6 });
    log(`database ${dbName}: migrating and seeding…`);
    await migrateToLatest(db);
    await seedDemo(db, new Date(), () => {}, 2);

    // ---- redis (AOF, fsync always: a restart keeps every acknowledged write)
    redisDir = mkdtempSync(path.join(os.tmpdir(), 'cx-chaos-redis-'));
    const redisPort = await freePort();
    const redis = new Managed(
      'redis',
      o.redisBin ?? 'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'],
      process.env,
    );
    procs.push(redis);
    const startRedis = async () => {
      redis.start();
      for (let i = 0; i < 200; i++) {
        if (await redisPing(redisPort)) return;
        if (!redis.alive) throw new Error(`redis-server exited: ${redis.out}`);
        await sleep(50);
      }
      throw new Error('redis-server did not answer PING');
    };
    await startRedis();
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    log(`redis on ${redisUrl} (AOF in ${redisDir})`);

    // ---- server and worker processes
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: chaosAppUrl.toString(),
      REDIS_URL: redisUrl,
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
    };
    delete env.SETTLE_PAUSE_MS;
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const servers = ports.map((p, i) => new Managed(`server${i + 1}`, TSX, ['server/server.ts'], { ...env, PORT: String(p) }));
    const workers = [0, 1].map((i) => new Managed(`worker${i + 1}`, TSX, ['workers/worker.ts'], env));
    procs.push(...servers, ...workers);
    const startServer = async (i: number) => {
      const s = servers[i]!;
      s.start();
      for (let k = 0; k < 600; k++) {
        if (!s.alive) throw new Error(`${s.name} exited: ${s.out}`);
        const r = await call(urls[i]!, 'GET', '/health', null, undefined, 2000);
        if (r?.status === 200) return;
        await sleep(100);
      }
      throw new Error(`${s.name} did not become healthy: ${s.out}`);
    };
    const startWorker = async (i: number) => {
      const w = workers[i]!;
      w.start();
      for (let k = 0; k < 600; k++) {
        if (!w.alive) throw new Error(`${w.name} exited: ${w.out}`);
        if (w.out.includes('running queues')) return;
        await sleep(100);
      }
      throw new Error(`${w.name} did not start: ${w.out}`);
    };
    log('starting 2 server and 2 worker processes…');
    await Promise.all([startServer(0), startServer(1), startWorker(0), startWorker(1)]);

    // ---- accounts, departures, listings
    const hash = await hashPassword('cluster-demo');
    const tag = `chaos${Date.now().toString(36)}`;
    const emails: string[] = [];
    for (let i = 0; i < nForwarders; i++) {
      const org = await db.insertInto('organisations').values({ slug: `${tag}-fwd-${i}`, name: `Chaos Forwarder ${i}`, kind: 'forwarder' }).returning('id').executeTakeFirstOrThrow();
      const email = `${tag}-fwd-${i}@chaos.test`;
      const u = await db.insertInto('users').values({ email, name: `Chaos ${i}`, password_hash: hash }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('memberships').values({ user_id: u.id, org_id: org.id, role: 'admin' }).execute();
      emails.push(email);
    }
    const op = await signIn(urls[0]!, 'operator1@demo.test');
    const corridors = await db.selectFrom('corridors').select(['id', 'code']).where('code', 'in', ['DEDUI-ITBLQ-rail', 'ITBLQ-DEDUI-rail']).orderBy('code').execute();
    if (corridors.length === 0) throw new Error('seeded corridors missing');
    const t0 = Date.now();
    const cutoff = new Date(t0 + 2 * 86_400_000);
    const newDeparture = async (corridorId: string, teu: number, tonnes: number, name: string) => {
      const r = await call(urls[0]!, 'POST', '/api/departures', op, {
        corridorId, departsAt: new Date(cutoff.getTime() + 3_600_000).toISOString(), arrivesAt: new Date(cutoff.getTime() + 30 * 3_600_000).toISOString(),
        cutoffAt: cutoff.toISOString(), capacityTeu: teu, capacityTonnes: tonnes, assetName: name,
      });
      if (r?.status !== 201) throw new Error(`create departure: ${r?.status} ${JSON.stringify(r?.json)}`);
      return r.json as { id: string; corridorId: string };
    };
    const newListing = async (body: Record<string, unknown>) => {
      const r = await call(urls[0]!, 'POST', '/api/listings', op, body);
      if (r?.status !== 201) throw new Error(`create listing: ${r?.status} ${JSON.stringify(r?.json)}`);
      return r.json as { id: string };
    };
    const fixed: { listingId: string; departureId: string }[] = [];
    const departures: { id: string; corridorId: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const d = await newDeparture(corridors[i % corridors.length]!.id, 30, 420, `Chaos Shuttle ${i}`);
      const l = await newListing({ departureId: d.id, format: 'fixed', teu: 30, unitPriceCents: 40_000 + i * 1000 });
      fixed.push({ listingId: l.id, departureId: d.id });
      departures.push(d);
    }
    const nAuctions = Math.max(4, Math.round(seconds / 5));
    const auctions: { listingId: string; departureId: string; format: 'ascending' | 'sealed'; closesAt: number }[] = [];
    for (let i = 0; i < nAuctions; i++) {
      const d = await newDeparture(corridors[i % corridors.length]!.id, 12, 240, `Chaos Auction ${i}`);
      const format = i % 2 === 0 ? 'ascending' : 'sealed';
      // closes spread over 30 %..85 % of the run (ascending ones may be extended by the soft close)
      const closesAt = Date.now() + 4000 + Math.round(seconds * 1000 * (0.3 + (0.55 * i) / Math.max(1, nAuctions - 1)));
      const l = await newListing({ departureId: d.id, format, teu: 8, reservePriceCents: 20_000, minIncrementCents: 500, closesAt: new Date(closesAt).toISOString() });
      auctions.push({ listingId: l.id, departureId: d.id, format, closesAt });
      departures.push(d);
    }
    log(`${fixed.length} fixed listings (30 TEU / 420 t each), ${auctions.length} auctions closing during the run`);

    const fwds = await Promise.all(emails.map((e, i) => signIn(urls[i % 2]!, e)));
    for (let i = 0; i < nObservers; i++) {
      const who = await signIn(urls[i % 2]!, emails[i % emails.length]!);
      const ob = new Observer(`observer${i + 1}@server${(i % 2) + 1}`, urls[i % 2]!, who, departures, i < nObservers / 2 ? 'corridor' : 'departure');
      ob.start();
      observers.push(ob);
    }

    // ---- load
    const ack: AckLog = { holds: [], bookings: [], bids: [], cancellations: [], releases: [] };
    const counts = { staleResets: 0, requests: 0, unknownOutcome: 0, refusedCapacity: 0, holdExpiredOnConfirm: 0, bidRefused: 0, otherErrors: 0, lateConfirms: 0 };
    const loadStart = Date.now();
    const outageSeconds = o.redisOutageSeconds ?? 20;
    // the outage phase follows the faults; the load goes on through it and a few seconds past it
    const outage = { start: loadStart + seconds * 1000, end: loadStart + (seconds + outageSeconds) * 1000, requests: 0, bad: [] as string[] };
    const deadline = outageSeconds > 0 ? outage.end + 3000 : loadStart + seconds * 1000;
    // Like a load balancer: any server, but one that just failed to answer is avoided for a second.
    const downUntil = urls.map(() => 0);
    const pickUrl = (r: Rng) => {
      const up = urls.filter((_, i) => downUntil[i]! <= Date.now());
      return r.pick(up.length ? up : urls);
    };
    const req = async (r: Rng, method: string, url: string, who: Who, body?: unknown) => {
      counts.requests++;
      const target = pickUrl(r);
      const sent = Date.now();
      const a = await call(target, method, url, who, body);
      const tookMs = Date.now() - sent;
      if (outageSeconds > 0 && sent >= outage.start && sent < outage.end) {
        outage.requests++;
        // A reset at once on a pooled keep-alive connection is the client's stale socket to a server killed
        // earlier (fetch does not retry a POST), not an answer withheld: counted apart. A dead server shows
        // as refused connections, and the outage phase checks every process is still alive.
        const staleSocket = !a && tookMs < 100 && lastCallError.includes('ECONNRESET');
        if (staleSocket) counts.staleResets++;
        else if (!a || tookMs > OUTAGE_ANSWER_MS || (a.status >= 500 && a.status !== 503)) {
          outage.bad.push(`${method} ${url.replace(/[0-9a-f-]{36}/g, ':id')} → ${a ? a.status : `no answer (${lastCallError.slice(0, 80)})`} after ${tookMs} ms`);
        }
      }
      if (!a) {
        counts.unknownOutcome++;
        downUntil[urls.indexOf(target)] = Date.now() + 1000;
      } else if (a.status >= 500) counts.otherErrors++;
      return a;
    };

    const forwarder = async (fi: number) => {
      const r = prng(seed + 1000 + fi);
      const who = fwds[fi]!;
      const myBookings: string[] = [];
      for (let step = 0; step < 100_000 && Date.now() < deadline; step++) {
        const x = r.next();
        const openAuctions = auctions.filter((a) => Date.now() < a.closesAt + 1000);
        if (x < 0.1 && myBookings.length > 0) {
          const id = myBookings.splice(r.int(0, myBookings.length - 1), 1)[0]!;
          const a = await req(r, 'DELETE', `/api/bookings/${id}`, who);
          if (a?.status === 200) ack.cancellations.push({ bookingId: id });
          else if (!a || a.status >= 500) myBookings.push(id); // unknown: may try again later
        } else if (x < 0.35 && openAuctions.length > 0) {
          const auc = r.pick(openAuctions);
          let price = 20_000 + r.int(0, 40) * 500;
          if (auc.format === 'ascending') {
            const l = await req(r, 'GET', `/api/listings/${auc.listingId}`, who);
            const min = l?.status === 200 ? (l.json?.minNextBidCents as number | undefined) : undefined;
            if (typeof min === 'number') price = min + r.int(0, 3) * 500;
          }
          const body = { teu: r.int(1, 4), unitPriceCents: price, allOrNothing: r.next() < 0.2 };
          const a = await req(r, 'POST', `/api/listings/${auc.listingId}/bids`, who, body);
          if (a?.status === 201) ack.bids.push({ id: a.json.id, listingId: auc.listingId });
          else if (a?.status === 409) counts.bidRefused++;
        } else {
          const f = r.pick(fixed);
          const teu = r.int(1, 3);
          const tonnes = teu * r.int(8, 20);
          const a = await req(r, 'POST', '/api/holds', who, { listingId: f.listingId, teu, tonnes });
          if (a?.status === 201) {
            const holdId = a.json.id as string;
            ack.holds.push({ id: holdId, teu, tonnes, listingId: f.listingId });
            const y = r.next();
            if (y < 0.45) {
              await sleep(r.int(20, 600));
              const c = await req(r, 'POST', `/api/holds/${holdId}/confirm`, who, { reference: `chaos-${fi}-${step}` });
              if (c?.status === 201) {
                ack.bookings.push({ id: c.json.id, holdId, teu });
                myBookings.push(c.json.id);
              } else if (c?.status === 409) counts.holdExpiredOnConfirm++;
            } else if (y < 0.75) {
              await sleep(r.int(20, 600));
              const d = await req(r, 'DELETE', `/api/holds/${holdId}`, who);
              if (d?.status === 204) ack.releases.push(holdId);
            } else if (y < 0.78 && Date.now() + 6000 < deadline) {
              // a confirm that comes too late: the worker must have expired it
              counts.lateConfirms++;
              await sleep(5600);
              const c = await req(r, 'POST', `/api/holds/${holdId}/confirm`, who, {});
              if (c?.status === 201) {
                ack.bookings.push({ id: c.json.id, holdId, teu });
                myBookings.push(c.json.id);
              } else if (c?.status === 409) counts.holdExpiredOnConfirm++;
            } // else: let it expire by itself
          } else if (a?.status === 409) counts.refusedCapacity++;
        }
        await sleep(r.int(80, 300));
      }
    };

    // ---- faults: deterministic slots spread over the run, random jitter and order (seeded)
    const faults: ChaosResult['faults'] = [];
    const rounds = Math.max(1, Math.floor(seconds / 30));
    const plan: ('server' | 'worker' | 'redis')[] = [];
    for (let k = 0; k < rounds; k++) {
      const kinds: ('server' | 'worker' | 'redis')[] = ['server', 'worker', 'redis'];
      for (let i = kinds.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
      }
      plan.push(...kinds);
    }
    const slot = (seconds * 1000) / (plan.length + 1);
    const faultLoop = async () => {
      let redisRestarts = 0;
      for (let i = 0; i < plan.length; i++) {
        const at = loadStart + slot * (i + 1) + Math.round((rng.next() - 0.5) * 0.5 * slot);
        if (at > Date.now()) await sleep(at - Date.now());
        const kind = plan[i]!;
        const t = Date.now();
        const downMs = kind === 'redis' ? rng.int(300, 2000) : rng.int(100, 800);
        if (kind === 'server') {
          const k = rng.int(0, 1);
          log(`fault: SIGKILL ${servers[k]!.name} (process group), restart on port ${ports[k]} after ${downMs} ms`);
          await servers[k]!.kill();
          await sleep(downMs);
          await startServer(k);
          faults.push({ at: (t - loadStart) / 1000, kind: 'server SIGKILL + restart', target: servers[k]!.name, downMs: Date.now() - t });
        } else if (kind === 'worker') {
          const k = rng.int(0, 1);
          log(`fault: SIGKILL ${workers[k]!.name} (process group), restart after ${downMs} ms`);
          await workers[k]!.kill();
          await sleep(downMs);
          await startWorker(k);
          faults.push({ at: (t - loadStart) / 1000, kind: 'worker SIGKILL + restart', target: workers[k]!.name, downMs: Date.now() - t });
        } else {
          const how = redisRestarts++ % 2 === 0 ? 'SHUTDOWN' : 'SIGKILL';
          log(`fault: Redis ${how}, start again on the same port and AOF dir after ${downMs} ms`);
          if (how === 'SHUTDOWN') {
            await redisSend(redisPort, 'SHUTDOWN');
            const ok = await Promise.race([redis.exited.then(() => true), sleep(5000).then(() => false)]);
            if (!ok) await redis.kill();
          } else {
            await redis.kill();
          }
          await sleep(downMs);
          await startRedis();
          faults.push({ at: (t - loadStart) / 1000, kind: `redis ${how} + restart`, target: 'redis', downMs: Date.now() - t });
        }
      }
    };

    const outageLoop = async () => {
      if (outageSeconds <= 0) return;
      if (outage.start > Date.now()) await sleep(outage.start - Date.now());
      log(`fault: Redis SIGKILL for ${outageSeconds} s under load (every request must answer within ${OUTAGE_ANSWER_MS} ms)`);
      const t = Date.now();
      await redis.kill();
      outage.start = Date.now();
      outage.end = outage.start + outageSeconds * 1000;
      await sleep(outage.end - Date.now());
      for (const p of [...servers, ...workers]) {
        if (!p.alive) {
          outage.bad.push(`${p.name} died while Redis was away`);
          log(`${p.name} died while Redis was away: ${p.out.slice(-1500)}`);
        }
      }
      await startRedis();
      faults.push({ at: (t - loadStart) / 1000, kind: 'redis outage', target: 'redis', downMs: Date.now() - t });
    };

    log(`load: ${seconds} s; ${plan.length} faults planned (${plan.join(', ')})${outageSeconds > 0 ? `, then ${outageSeconds} s without Redis` : ''}`);
    const ticker = setInterval(() => {
      log(`t+${((Date.now() - loadStart) / 1000).toFixed(0)} s: ${ack.holds.length} holds, ${ack.bookings.length} bookings, ${ack.bids.length} bids, ${ack.cancellations.length} cancellations, ${counts.unknownOutcome} unknown outcomes`);
    }, 5000);
    try {
      await Promise.all([faultLoop().then(outageLoop), ...fwds.map((_, i) => forwarder(i))]);
    } finally {
      clearInterval(ticker);
    }
    log(`load stopped after ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);

    // ---- quiesce: bounded wait for the workers to drain
    const q0 = Date.now();
    const auctionIds = auctions.map((a) => a.listingId);
    const pending = async () => {
      const r = await sql<{ holds: number; auctions: number; outbox: number; unsettled: number; unrefunded: number }>`
        select
          (select count(*)::int from holds where status = 'active') as holds,
          (select count(*)::int from listings where format in ('ascending', 'sealed') and status = 'open'
              and id in (${sql.join(auctionIds)})) as auctions,
          (select count(*)::int from outbox where enqueued_at is null) as outbox,
          (select count(*)::int from bookings b
             where (b.status = 'confirmed' or (b.status = 'cancelled' and coalesce(b.cancellation_fee_cents, 0) > 0))
               and not exists (select 1 from ledger_transactions t where t.booking_id = b.id and t.kind = 'charge')) as unsettled,
          (select count(*)::int from bookings b
             where b.status = 'cancelled'
               and exists (select 1 from ledger_transactions t where t.booking_id = b.id and t.kind = 'charge')
               and not exists (select 1 from ledger_transactions t where t.booking_id = b.id and t.kind = 'refund')
               and (select sum(e.amount_cents) from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
                     where t.booking_id = b.id and t.kind = 'charge' and e.direction = 'debit') > coalesce(b.cancellation_fee_cents, 0)) as unrefunded`.execute(db!);
      return r.rows[0]!;
    };
    let last = await pending();
    for (let i = 0; i < 450; i++) {
      last = await pending();
      if (last.holds + last.auctions + last.outbox + last.unsettled + last.unrefunded === 0) break;
      if (i % 25 === 0) log(`draining: ${JSON.stringify(last)}`);
      await sleep(200);
    }
    const quiesceMs = Date.now() - q0;
    log(`quiet after ${(quiesceMs / 1000).toFixed(1)} s: ${JSON.stringify(last)}`);

    // ---- live views: bounded time to converge
    const c0 = Date.now();
    const truth = async () => {
      const rows = await db!
        .selectFrom('departures')
        .select(['id', 'seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes'])
        .where('id', 'in', departures.map((d) => d.id))
        .execute();
      return new Map(rows.map((d) => [d.id, { seq: Number(d.seq), freeTeu: d.capacity_teu - d.held_teu - d.booked_teu, freeTonnes: d.capacity_tonnes - d.held_tonnes - d.booked_tonnes }]));
    };
    const diverged = async () => {
      const t = await truth();
      const bad: string[] = [];
      for (const ob of observers) {
        if (!ob.connected) {
          bad.push(`${ob.name}: not connected`);
          continue;
        }
        for (const [id, want] of t) {
          const got = ob.view.get(id);
          if (!got || got.seq !== want.seq || got.freeTeu !== want.freeTeu || got.freeTonnes !== want.freeTonnes) {
            bad.push(`${ob.name} ${id.slice(0, 8)}: saw ${got ? `seq ${got.seq} ${got.freeTeu} TEU ${got.freeTonnes} t` : 'nothing'}, db seq ${want.seq} ${want.freeTeu} TEU ${want.freeTonnes} t`);
          }
        }
      }
      return bad;
    };
    let divergent = await diverged();
    for (let i = 0; i < 100 && divergent.length > 0; i++) {
      await sleep(200);
      divergent = await diverged();
    }
    const convergeMs = Date.now() - c0;
    const divergentObservers = new Set(divergent.map((d) => d.split(/[ :]/)[0]!)).size;
    log(`live views: ${divergent.length === 0 ? 'all converged' : `${divergent.length} divergent`} after ${(convergeMs / 1000).toFixed(1)} s`);

    // ---- checks
    const checks: CheckRow[] = [];
    const add = (check: string, checked: number, bad: string[]) => checks.push({ check, checked, violations: bad.length, examples: bad.slice(0, 5) });

    const over = await sql<{ id: string; used_teu: number; capacity_teu: number; used_t: number; capacity_tonnes: number }>`
      select id, held_teu + booked_teu as used_teu, capacity_teu, held_tonnes + booked_tonnes as used_t, capacity_tonnes
        from departures where held_teu + booked_teu > capacity_teu or held_tonnes + booked_tonnes > capacity_tonnes`.execute(db);
    const nDeps = (await db.selectFrom('departures').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
    add('overbooked departures (held + booked > capacity, TEU or tonnes)', nDeps, over.rows.map((r) => `${r.id}: ${r.used_teu}/${r.capacity_teu} TEU, ${r.used_t}/${r.capacity_tonnes} t`));

    const drift = await sql<{ id: string; held_teu: number; h: number; booked_teu: number; b: number; held_tonnes: number; ht: number; booked_tonnes: number; bt: number }>`
      select d.id, d.held_teu, coalesce(h.teu, 0)::int as h, d.booked_teu, coalesce(b.teu, 0)::int as b,
             d.held_tonnes, coalesce(h.t, 0)::int as ht, d.booked_tonnes, coalesce(b.t, 0)::int as bt
        from departures d
        left join (select departure_id, sum(teu) as teu, sum(tonnes) as t from holds where status = 'active' group by departure_id) h on h.departure_id = d.id
        left join (select departure_id, sum(teu) as teu, sum(tonnes) as t from bookings where status in ('confirmed', 'settled') group by departure_id) b on b.departure_id = d.id
       where d.held_teu <> coalesce(h.teu, 0) or d.booked_teu <> coalesce(b.teu, 0)
          or d.held_tonnes <> coalesce(h.t, 0) or d.booked_tonnes <> coalesce(b.t, 0)`.execute(db);
    add('departure counters ≠ their holds and bookings', nDeps, drift.rows.map((r) => `${r.id}: held ${r.held_teu}/${r.h} TEU, booked ${r.booked_teu}/${r.b} TEU`));

    const exists = async (table: 'holds' | 'bookings' | 'bids', ids: string[]) => {
      const found = new Set<string>();
      for (let i = 0; i < ids.length; i += 1000) {
        const part = ids.slice(i, i + 1000);
        if (part.length) for (const r of await db!.selectFrom(table).select('id').where('id', 'in', part).execute()) found.add(r.id);
      }
      return found;
    };
    const holdRows = new Map<string, { teu: number; tonnes: number; listing_id: string }>();
    for (let i = 0; i < ack.holds.length; i += 1000) {
      const part = ack.holds.slice(i, i + 1000).map((h) => h.id);
      if (part.length) for (const r of await db.selectFrom('holds').select(['id', 'teu', 'tonnes', 'listing_id']).where('id', 'in', part).execute()) holdRows.set(r.id, r);
    }
    const lostHolds = ack.holds.filter((h) => {
      const r = holdRows.get(h.id);
      return !r || r.teu !== h.teu || r.tonnes !== h.tonnes || r.listing_id !== h.listingId;
    });
    const foundBookings = await exists('bookings', ack.bookings.map((b) => b.id));
    const foundBids = await exists('bids', ack.bids.map((b) => b.id));
    const cancelledIds = ack.cancellations.map((c) => c.bookingId);
    const cancelledRows = cancelledIds.length
      ? await db.selectFrom('bookings').select(['id', 'status']).where('id', 'in', cancelledIds).execute()
      : [];
    const notCancelled = cancelledIds.filter((id) => cancelledRows.find((r) => r.id === id)?.status !== 'cancelled');
    const releasedRows = ack.releases.length ? await db.selectFrom('holds').select(['id', 'status']).where('id', 'in', ack.releases).execute() : [];
    const notReleased = ack.releases.filter((id) => releasedRows.find((r) => r.id === id)?.status !== 'released');
    add(
      'acknowledged but missing in Postgres (holds, bookings, bids, cancellations, releases)',
      ack.holds.length + ack.bookings.length + ack.bids.length + ack.cancellations.length + ack.releases.length,
      [
        ...lostHolds.map((h) => `hold ${h.id}`),
        ...ack.bookings.filter((b) => !foundBookings.has(b.id)).map((b) => `booking ${b.id}`),
        ...ack.bids.filter((b) => !foundBids.has(b.id)).map((b) => `bid ${b.id}`),
        ...notCancelled.map((id) => `cancellation of ${id}`),
        ...notReleased.map((id) => `release of ${id}`),
      ],
    );

    const auctionBad = await sql<{ id: string; why: string }>`
      select l.id, case
          when l.status <> 'closed' then 'not closed (status ' || l.status || ')'
          when exists (select 1 from bids b where b.listing_id = l.id and b.status = 'won'
                         and (select count(*) from bookings k where k.bid_id = b.id) <> 1) then 'a winning bid without exactly one booking'
          when exists (select 1 from bookings k where k.listing_id = l.id and k.bid_id is not null
                         and (select count(*) from bids b where b.id = k.bid_id and b.status = 'won') <> 1) then 'a booking of a bid that did not win'
          when exists (select 1 from bookings k where k.listing_id = l.id and k.status <> 'cancelled'
                         and (select count(*) from ledger_transactions t where t.booking_id = k.id and t.kind = 'charge') <> 1) then 'a winning booking without exactly one charge'
          when exists (select 1 from bookings k where k.listing_id = l.id and k.status = 'confirmed') then 'a winning booking not settled'
          else null end as why
        from listings l where l.id in (${sql.join(auctionIds)})`.execute(db);
    const doubleCharged = await sql<{ booking_id: string; n: number }>`
      select booking_id, count(*)::int as n from ledger_transactions where kind = 'charge' group by booking_id having count(*) > 1`.execute(db);
    add(
      'closed auctions not settled exactly once (+ any booking charged twice)',
      auctionIds.length,
      [...auctionBad.rows.filter((r) => r.why).map((r) => `${r.id}: ${r.why}`), ...doubleCharged.rows.map((r) => `booking ${r.booking_id}: ${r.n} charges`)],
    );
    const unsettled = await sql<{ id: string; status: string }>`
      select b.id, b.status from bookings b
       where (b.status = 'confirmed' or (b.status <> 'cancelled'
              and (select count(*) from ledger_transactions t where t.booking_id = b.id and t.kind = 'charge') <> 1))`.execute(db);
    const nBookings = (await db.selectFrom('bookings').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
    add('bookings not settled exactly once after the drain', nBookings, unsettled.rows.map((r) => `${r.id} (${r.status})`));

    const ledger = await verifyLedger(db);
    const ledgerBad = Object.entries(ledger.checks).flatMap(([name, c]) => c.examples.map((e) => `${name}: ${e}`).concat(c.violations > c.examples.length ? [`${name}: +${c.violations - c.examples.length} more`] : []));
    const ledgerViolations = Object.values(ledger.checks).reduce((s, c) => s + c.violations, 0);
    checks.push({ check: 'ledger imbalance (verifyLedger violations)', checked: Object.keys(ledger.checks).length, violations: ledgerViolations, examples: ledgerBad.slice(0, 5) });

    checks.push({ check: 'connected clients whose availability differs from Postgres', checked: observers.length, violations: divergentObservers, examples: divergent.slice(0, 5) });

    if (outageSeconds > 0) {
      add(`requests during the Redis outage not answered within ${OUTAGE_ANSWER_MS} ms (success or 503)`, outage.requests, outage.bad);
      // a hold committed while Redis was away must have been acknowledged: nothing a client never heard of
      // (and so might send again) may exist
      const acked = new Set(ack.holds.map((h) => h.id));
      const during = await db
        .selectFrom('holds')
        .select(['id', 'created_at'])
        .where('created_at', '>=', new Date(outage.start))
        .where('created_at', '<', new Date(outage.end))
        .where('listing_id', 'in', fixed.map((f) => f.listingId))
        .execute();
      add('holds committed during the Redis outage that no client was told of', during.length, during.filter((h) => !acked.has(h.id)).map((h) => `hold ${h.id}`));
    }

    const faultCounts = {
      'server SIGKILL': faults.filter((f) => f.kind.startsWith('server')).length,
      'worker SIGKILL': faults.filter((f) => f.kind.startsWith('worker')).length,
      'redis restart': faults.filter((f) => f.kind.startsWith('redis') && f.kind !== 'redis outage').length,
      'redis outage': faults.filter((f) => f.kind === 'redis outage').length,
    };
    const settledCount = (await db.selectFrom('bookings').select(sql<number>`count(*)::int`.as('n')).where('status', '=', 'settled').executeTakeFirstOrThrow()).n;
    const auctionBookings = (await db.selectFrom('bookings').select(sql<number>`count(*)::int`.as('n')).where('listing_id', 'in', auctionIds).executeTakeFirstOrThrow()).n;
    const load = {
      'requests sent': counts.requests,
      'holds acknowledged': ack.holds.length,
      'bookings acknowledged (confirms)': ack.bookings.length,
      'holds released': ack.releases.length,
      'bookings cancelled': ack.cancellations.length,
      'bids acknowledged': ack.bids.length,
      'auctions closed': auctionBad.rows.length - auctionBad.rows.filter((r) => r.why?.startsWith('not closed')).length,
      'auction bookings': auctionBookings,
      'bookings settled': settledCount,
      '409 insufficient capacity': counts.refusedCapacity,
      '409 on confirm (hold expired)': counts.holdExpiredOnConfirm,
      '409 on bid': counts.bidRefused,
      'unknown outcomes (connection lost)': counts.unknownOutcome,
      '  of which stale pooled connections reset during the Redis outage': counts.staleResets,
      '5xx answers': counts.otherErrors,
      'live events received': observers.reduce((s, ob) => s + ob.stats.events, 0),
      'observer (re)connects': observers.reduce((s, ob) => s + ob.stats.connects, 0),
      'observer seq gaps': observers.reduce((s, ob) => s + ob.stats.gaps, 0),
      'faults injected': faults.length,
    };
    return { seed, seconds, ok: checks.every((c) => c.violations === 0), load, faults, faultCounts, checks, quiesceMs, convergeMs };
  } finally {
    for (const ob of observers) await ob.stop().catch(() => {});
    // servers and workers first (graceful, bounded), then Redis
    await Promise.all(procs.filter((p) => p.name !== 'redis').map((p) => p.stop(3000)));
    await Promise.all(procs.map((p) => p.kill()));
    process.removeListener('exit', killAll);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (redisDir) rmSync(redisDir, { recursive: true, force: true });
    await db?.destroy().catch(() => {});
    if (dbCreated) await sql`drop database if exists ${sql.raw(`"${dbName}"`)} with (force)`.execute(admin).catch(() => {});
    await admin.destroy().catch(() => {});
  }
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
