// Brings up what Cluster Exchange needs on this machine, idempotently:
// node_modules, Postgres 15 and Redis 7. Plain Node (no dependencies) so it
// runs before `npm install`. Uses DATABASE_URL / REDIS_URL when set; otherwise
// project-local instances under .data/ on free loopback ports.
//
// The project-local Postgres has two roles with generated passwords (in .data/secrets/, mode 0600):
// `postgres`, the superuser that owns the schema and runs migrations, the seed and the test harness
// (MIGRATION_DATABASE_URL), and `cx_app`, what the server and the worker connect as (DATABASE_URL):
// no superuser, owns nothing, so it cannot drop or disable the append-only triggers. Every TCP client
// authenticates with SCRAM; only the postgres OS user administers over the Unix socket (peer).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, portFree, redisPing, redisSend, redisServerArgs, ROOT } from './lib/procs.mjs';

export { freePort, ROOT };
export const DATA = path.join(ROOT, '.data');
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const STATE_FILE = path.join(DATA, 'stack.json');
const SECRETS = path.join(DATA, 'secrets');
/** The application role (see migrations/20261203T1000_app_role_grants.ts for its privileges). */
export const APP_ROLE = 'cx_app';
const DB_NAME = 'cluster_exchange';

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
  if (process.env.DATABASE_URL) {
    const url = process.env.DATABASE_URL;
    return { url, migrationUrl: process.env.MIGRATION_DATABASE_URL || url, local: false, started: false };
  }
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
      ['-u', 'postgres', '--', path.join(PG_BIN, 'initdb'), '-D', dataDir, '-U', 'postgres', '--auth-local=peer', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C'],
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
  const local = { port, sockDir, dataDir };
  const passwords = ensureRoles(local);
  ensureHba(local);
  ensureLocalDatabase(local, DB_NAME);
  const url = (role) => `postgres://${role}:${passwords[role]}@127.0.0.1:${port}/${DB_NAME}`;
  return { url: url(APP_ROLE), migrationUrl: url('postgres'), local: true, started };
}

/** A generated password kept in .data/secrets/<name>.password (mode 0600), created once. Concurrent
 *  bootstraps agree on it: the file appears atomically (link), and whoever loses the race reads it. */
function secret(name) {
  fs.mkdirSync(SECRETS, { recursive: true, mode: 0o700 });
  fs.chmodSync(SECRETS, 0o700);
  const file = path.join(SECRETS, `${name}.password`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const pw = fs.readFileSync(file, 'utf8').trim();
  if (!/^[A-Za-z0-9_-]{16,}$/.test(pw)) fail(`${file} does not hold a usable password: delete it and run again.`);
  return pw;
}

/** Runs SQL as the postgres superuser over the cluster's Unix socket (peer authentication). */
function psqlSuper(local, sqlText, db = 'postgres') {
  const r = run(
    'runuser',
    ['-u', 'postgres', '--', path.join(PG_BIN, 'psql'), '-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1',
      '-h', local.sockDir, '-p', String(local.port), '-U', 'postgres', '-d', db, '-f', '-'],
    { quiet: true, input: sqlText },
  );
  if (r.status !== 0) fail(`psql (as postgres) failed:\n${r.stderr}`);
  return r.stdout.trim();
}

/** Whether a pg_authid.rolpassword SCRAM verifier is the one of `password`. */
export function scramMatches(verifier, password) {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier ?? '');
  if (!m) return false;
  const salted = pbkdf2Sync(password, Buffer.from(m[2], 'base64'), Number(m[1]), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return createHash('sha256').update(clientKey).digest('base64') === m[3];
}

/** The superuser and the application role, with the passwords of .data/secrets. Reads first and changes
 *  only what differs (an old checkout's cluster has no passwords and no app role), under an advisory
 *  lock so that bootstraps running at the same moment do not trip over each other. */
function ensureRoles(local) {
  const passwords = { postgres: secret('postgres'), [APP_ROLE]: secret(APP_ROLE) };
  const rows = psqlSuper(
    local,
    `select rolname, rolsuper, rolcanlogin, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, coalesce(rolpassword, '')
       from pg_authid where rolname in ('postgres', '${APP_ROLE}')`,
  );
  const roles = Object.fromEntries(
    rows.split('\n').filter(Boolean).map((line) => {
      const [name, ...rest] = line.split('|');
      return [name, rest];
    }),
  );
  const pg = roles.postgres;
  const app = roles[APP_ROLE];
  const ok =
    pg && scramMatches(pg[6], passwords.postgres) &&
    app && app.slice(0, 6).join('') === 'ftffff' && scramMatches(app[6], passwords[APP_ROLE]);
  if (ok) return passwords;
  log(`setting up the Postgres roles (postgres, ${APP_ROLE}) with passwords from ${path.relative(ROOT, SECRETS)}/…`);
  psqlSuper(
    local,
    `select pg_advisory_lock(hashtext('cluster-exchange:roles'));
     set password_encryption = 'scram-sha-256';
     alter role postgres password '${passwords.postgres}';
     do $$ begin
       if not exists (select from pg_roles where rolname = '${APP_ROLE}') then create role ${APP_ROLE}; end if;
     end $$;
     alter role ${APP_ROLE} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit
       password '${passwords[APP_ROLE]}';`,
  );
  return passwords;
}

/** pg_hba.conf of the project-local cluster: no trust anywhere. */
export const HBA = `# Written by scripts/stack.mjs (project-local cluster). No trust: the postgres OS user administers
# over the Unix socket (peer); every other client, over TCP or the socket, authenticates with a password.
local   all   postgres                 peer
local   all   all                      scram-sha-256
host    all   all       127.0.0.1/32   scram-sha-256
host    all   all       ::1/128        scram-sha-256
`;

/** Writes HBA when the file differs (an old checkout's cluster trusts everyone) and reloads Postgres. */
function ensureHba(local) {
  const file = path.join(local.dataDir, 'pg_hba.conf');
  const before = fs.readFileSync(file, 'utf8');
  if (before === HBA) return;
  log('Postgres: pg_hba.conf with password authentication (scram-sha-256) for every client, no trust…');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, HBA, { mode: 0o600 });
  run('chown', ['postgres:postgres', tmp], { quiet: true });
  fs.renameSync(tmp, file);
  const errors = psqlSuper(local, 'select line_number, error from pg_hba_file_rules where error is not null');
  if (errors) {
    fs.writeFileSync(file, before);
    fail(`the new pg_hba.conf was refused (the old one is back):\n${errors}`);
  }
  psqlSuper(local, 'select pg_reload_conf()');
}

/** Creates the project's database when missing (owned by postgres, so the app role owns nothing). */
function ensureLocalDatabase(local, name) {
  if (psqlSuper(local, `select 1 from pg_database where datname = '${name}'`) === '1') return;
  log(`creating database ${name}…`);
  psqlSuper(local, `create database "${name}"`);
}

async function ensureRedis(state) {
  if (process.env.REDIS_CLUSTER_NODES) return { url: `redis+cluster://${process.env.REDIS_CLUSTER_NODES}`, started: false };
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, started: false };
  if (!fs.existsSync('/usr/bin/redis-server')) aptInstall(['redis-server'], 'Redis is not installed and REDIS_URL is not set.');
  const dir = path.join(DATA, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  state.redisPort ??= await freePort(63799);
  const port = state.redisPort;
  let started = false;
  if (!(await redisPing(port))) {
    if (!(await portFree(port))) {
      state.redisPort = await freePort(port + 1);
      return ensureRedis(state);
    }
    log(`starting Redis on 127.0.0.1:${port} (AOF on, noeviction)…`);
    const daemonize = { pidfile: path.join(dir, 'redis.pid'), logfile: path.join(dir, 'redis.log') };
    const r = run('redis-server', redisServerArgs({ port, dir, appendfsync: 'everysec', daemonize }), { quiet: true });
    if (r.status !== 0) fail(`Redis did not start:\n${r.stderr}`);
    started = true;
  }
  await waitFor(() => redisPing(port), 'Redis');
  return { url: `redis://127.0.0.1:${port}`, started };
}

/** Ensures the database named in an external URL exists (connects to the `postgres` maintenance db). */
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
  if (!pg.local) ensureDatabase(pg.migrationUrl);
  return {
    /** What the server and the worker connect as (the app role on the project-local cluster). */
    databaseUrl: pg.url,
    /** The schema owner: migrations, the seed, creating and dropping databases (tests, chaos, bench). */
    migrationDatabaseUrl: pg.migrationUrl,
    /** True for the project-local cluster, false for an external DATABASE_URL. */
    localDatabase: pg.local,
    redisUrl: redis.url,
    startedPostgres: pg.started,
    startedRedis: redis.started,
  };
}

export function stopPostgres() {
  const link = path.join(DATA, 'pg');
  if (process.env.DATABASE_URL || !fs.existsSync(link)) return;
  const dataDir = path.join(fs.realpathSync(link), 'data');
  if (!fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return;
  log('stopping Postgres…');
  run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, 'pg_ctl'), '-D', dataDir, '-m', 'fast', '-w', 'stop'], { quiet: true });
}

export async function stopRedis() {
  const state = readState();
  if (process.env.REDIS_URL || process.env.REDIS_CLUSTER_NODES || !state.redisPort || !(await redisPing(state.redisPort))) return;
  log('stopping Redis…');
  await redisSend(state.redisPort, 'SHUTDOWN');
}
