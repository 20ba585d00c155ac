// Brings up what Cluster Exchange needs on this machine, idempotently:
// node_modules, Postgres 15 and Redis 7. Plain Node (no dependencies) so it
// runs before `npm install`. Uses DATABASE_URL / REDIS_URL when set; otherwise
// project-local instances under .data/ on free loopback ports.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DATA = path.join(ROOT, '.data');
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const STATE_FILE = path.join(DATA, 'stack.json');

export function log(msg) {
  process.stdout.write(`\x1b[36m▸\x1b[0m ${msg}\n`);
}

export function fail(msg) {
  process.stderr.write(`\n\x1b[31m✖ ${msg}\x1b[0m\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: opts.quiet ? 'pipe' : 'inherit', encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  return r;
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return {};
  }
}

function writeState(state) {
  fs.mkdirSync(DATA, { recursive: true });
  fs.writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

/** Installs node_modules when missing or older than package-lock.json. */
export function ensureNodeModules() {
  const marker = path.join(ROOT, 'node_modules', '.package-lock.json');
  const lock = path.join(ROOT, 'package-lock.json');
  const fresh =
    fs.existsSync(marker) && fs.existsSync(lock) && fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs;
  if (fresh) return;
  log('installing npm dependencies (npm ci)…');
  const r = run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT });
  if (r.status !== 0) fail('npm ci failed — see the output above.');
}

let aptUpdated = false;
function aptInstall(pkgs, why) {
  if (!isRoot()) {
    fail(`${why}\nInstall the Debian packages yourself (sudo apt-get install ${pkgs.join(' ')}) or set DATABASE_URL / REDIS_URL, then run again.`);
  }
  if (!fs.existsSync('/usr/bin/apt-get')) fail(`${why}\nThis machine has no apt-get; set DATABASE_URL / REDIS_URL to existing servers.`);
  if (!aptUpdated) {
    log('apt-get update…');
    run('apt-get', ['update', '-q'], { quiet: true });
    aptUpdated = true;
  }
  log(`installing Debian packages: ${pkgs.join(' ')}…`);
  const r = run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], {
    quiet: true,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) fail(`apt-get install ${pkgs.join(' ')} failed:\n${r.stderr}`);
}

async function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(start) {
  for (let p = start; p < start + 500; p++) if (await portFree(p)) return p;
  fail(`no free port found from ${start}`);
}

async function waitFor(check, what, ms = 30_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  fail(`${what} did not become ready within ${ms / 1000}s`);
}

function canPostgresReach(dir) {
  return run('runuser', ['-u', 'postgres', '--', 'test', '-w', dir], { quiet: true }).status === 0;
}

/** The Postgres data directory: .data/pg, or (when the postgres user cannot reach the checkout) a
 *  directory under /var/lib/cluster-exchange linked from .data/pg. */
function pgHome() {
  const link = path.join(DATA, 'pg');
  if (fs.existsSync(link)) return fs.realpathSync(link);
  fs.mkdirSync(link, { recursive: true });
  run('chown', ['postgres:postgres', link], { quiet: true });
  if (canPostgresReach(link)) return link;
  fs.rmSync(link, { recursive: true, force: true });
  const outside = path.join('/var/lib/cluster-exchange', createHash('sha1').update(ROOT).digest('hex').slice(0, 12));
  fs.mkdirSync(outside, { recursive: true });
  run('chown', ['-R', 'postgres:postgres', '/var/lib/cluster-exchange'], { quiet: true });
  fs.symlinkSync(outside, link);
  log(`the postgres user cannot reach ${DATA}; its data lives in ${outside} (linked from .data/pg)`);
  return outside;
}

function pgReady(port) {
  return run(path.join(PG_BIN, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)], { quiet: true }).status === 0;
}

async function ensurePostgres(state) {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, started: false };
  if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) {
    aptInstall(['postgresql'], 'Postgres 15 is not installed and DATABASE_URL is not set.');
    if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) fail(`Postgres binaries not found in ${PG_BIN} (set PG_BIN).`);
  }
  if (!isRoot()) fail('A project-local Postgres needs root (it runs as the postgres user). Set DATABASE_URL instead.');
  const home = pgHome();
  const dataDir = path.join(home, 'data');
  const sockDir = path.join(home, 'run');
  state.pgPort ??= await freePort(54329);
  const port = state.pgPort;
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log('initialising a project-local Postgres cluster…');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.mkdirSync(sockDir, { recursive: true });
    run('chown', ['-R', 'postgres:postgres', home], { quiet: true });
    run('chmod', ['700', dataDir], { quiet: true });
    const r = run(
      'runuser',
      ['-u', 'postgres', '--', path.join(PG_BIN, 'initdb'), '-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'],
      { quiet: true },
    );
    if (r.status !== 0) fail(`initdb failed:\n${r.stderr}`);
  }
  let started = false;
  if (!pgReady(port)) {
    if (!(await portFree(port))) {
      state.pgPort = await freePort(port + 1);
      return ensurePostgres(state);
    }
    log(`starting Postgres on 127.0.0.1:${port}…`);
    const opts = [
      `-p ${port}`,
      `-k ${sockDir}`,
      "-c listen_addresses='127.0.0.1'",
      '-c max_connections=400',
      '-c shared_buffers=256MB',
    ].join(' ');
    const r = run(
      'runuser',
      ['-u', 'postgres', '--', path.join(PG_BIN, 'pg_ctl'), '-D', dataDir, '-l', path.join(home, 'postgres.log'), '-o', opts, '-w', '-t', '60', 'start'],
      { quiet: true },
    );
    if (r.status !== 0) fail(`Postgres did not start:\n${r.stdout}${r.stderr}\nsee ${path.join(home, 'postgres.log')}`);
    started = true;
  }
  await waitFor(() => pgReady(port), 'Postgres');
  return { url: `postgres://postgres@127.0.0.1:${port}/cluster_exchange`, started };
}

function redisPing(port) {
  const r = run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { quiet: true });
  return r.status === 0 && r.stdout.trim() === 'PONG';
}

async function ensureRedis(state) {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, started: false };
  if (!fs.existsSync('/usr/bin/redis-server')) aptInstall(['redis-server'], 'Redis is not installed and REDIS_URL is not set.');
  const dir = path.join(DATA, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  state.redisPort ??= await freePort(63799);
  const port = state.redisPort;
  let started = false;
  if (!redisPing(port)) {
    if (!(await portFree(port))) {
      state.redisPort = await freePort(port + 1);
      return ensureRedis(state);
    }
    log(`starting Redis on 127.0.0.1:${port} (AOF on, noeviction)…`);
    const r = run(
      'redis-server',
      [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'yes',
        '--pidfile', path.join(dir, 'redis.pid'), '--logfile', path.join(dir, 'redis.log'),
        '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction',
      ],
      { quiet: true },
    );
    if (r.status !== 0) fail(`Redis did not start:\n${r.stderr}`);
    started = true;
  }
  await waitFor(() => redisPing(port), 'Redis');
  return { url: `redis://127.0.0.1:${port}`, started };
}

/** Ensures the database named in the URL exists (connects to the `postgres` maintenance db). */
function ensureDatabase(url) {
  const u = new URL(url);
  const name = u.pathname.slice(1) || 'cluster_exchange';
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const q = (sql) => execFileSync('psql', [admin.toString(), '-tAqc', sql], { encoding: 'utf8' }).trim();
  if (q(`select 1 from pg_database where datname = '${name.replace(/'/g, "''")}'`) !== '1') {
    log(`creating database ${name}…`);
    q(`create database "${name.replace(/"/g, '""')}"`);
  }
}

/** Brings everything up; returns the connection URLs and what this call started. */
export async function ensureStack() {
  ensureNodeModules();
  const state = readState();
  const pg = await ensurePostgres(state);
  const redis = await ensureRedis(state);
  writeState(state);
  ensureDatabase(pg.url);
  return { databaseUrl: pg.url, redisUrl: redis.url, startedPostgres: pg.started, startedRedis: redis.started };
}

export function stopPostgres() {
  const link = path.join(DATA, 'pg');
  if (process.env.DATABASE_URL || !fs.existsSync(link)) return;
  const dataDir = path.join(fs.realpathSync(link), 'data');
  if (!fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return;
  log('stopping Postgres…');
  run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, 'pg_ctl'), '-D', dataDir, '-m', 'fast', '-w', 'stop'], { quiet: true });
}

export function stopRedis() {
  const state = readState();
  if (process.env.REDIS_URL || !state.redisPort || !redisPing(state.redisPort)) return;
  log('stopping Redis…');
  run('redis-cli', ['-h', '127.0.0.1', '-p', String(state.redisPort), 'shutdown'], { quiet: true });
}
