import type { ChildProcess } from 'node:child_process';
import { bundledProcess } from '../../scripts/lib/bundle.mjs';
import { freePort, Managed, portFree, RedisServer, startRedisServer, TSX, waitUntil } from '../../scripts/lib/procs.mjs';
import type { Config } from '../../server/config.ts';

// One implementation of processes, ports and private Redis servers for scripts/, the tests and tools/.
export { freePort, RedisServer, waitUntil };

export interface Proc {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function envOf(cfg: Config, extra: Record<string, string>) {
  return {
    ...process.env,
    DATABASE_URL: cfg.databaseUrl, // the app role (test/helpers/context.ts)
    MIGRATION_DATABASE_URL: undefined, // server and worker never get the owner's credentials
    REDIS_URL: cfg.redisUrl,
    REDIS_PREFIX: cfg.redisPrefix,
    LOG_LEVEL: 'warn',
    HOLD_TTL_SECONDS: String(Math.round(cfg.holdTtlMs / 1000)),
    SIGNIN_PER_MINUTE: String(cfg.signInPerMinute),
    API_PER_MINUTE: String(cfg.apiPerMinute),
    SIGNIN_PER_ADDRESS_PER_MINUTE: String(cfg.signInPerAddressPerMinute),
    SIGNIN_PER_ACCOUNT_PER_HOUR: String(cfg.signInPerAccountPerHour),
    AUTH_LOOKUPS_PER_MINUTE: String(cfg.authLookupsPerMinute),
    REDIS_COMMAND_TIMEOUT_MS: String(cfg.redisCommandTimeoutMs),
    HOLD_MAX_SHARE_PCT: String(cfg.holdMaxSharePct),
    OFFER_WINDOW_MS: String(cfg.offerWindowMs),
    ...extra,
  };
}

/**
 * The server and the worker run from the bundles the run's global setup builds (test/setup/global.ts), as plain
 * Node: half the start-up CPU of tsx (scripts/lib/bundle.mjs). Any other entry (a test's own) runs through tsx,
 * which relays signals to its child. Not in a process group of their own.
 */
const BUNDLED: Record<string, 'server' | 'worker'> = { 'server/server.ts': 'server', 'workers/worker.ts': 'worker' };
function launch(file: string, env: NodeJS.ProcessEnv): Managed {
  const bundle = BUNDLED[file];
  const opts = { env, group: false };
  return (bundle ? bundledProcess(file, bundle, opts) : new Managed(file, TSX, [file], opts)).start();
}

/** Proc of a started process; stop() signals it and SIGKILLs it after 15 s. */
function procOf(m: Managed, url: string): Proc {
  return { url, child: m.child!, output: () => m.out, stop: (s = 'SIGTERM') => m.stop(15_000, s) };
}

/** Starts a real server process (tsx server/server.ts, or `file`) and waits until /health answers 200. */
export async function startServer(cfg: Config, extra: Record<string, string> = {}, file = 'server/server.ts'): Promise<Proc> {
  const port = await freePort();
  const m = launch(file, envOf(cfg, { PORT: String(port), HOST: '127.0.0.1', ...extra }));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (!m.alive) throw new Error(`server exited: ${m.out}`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) return procOf(m, url);
    await new Promise((r) => setTimeout(r, 100));
  }
  m.signal('SIGKILL');
  throw new Error(`server did not become healthy: ${m.out}`);
}

/** Starts a real worker process (tsx workers/worker.ts, or `file`) and waits for its start-up line. */
export async function startWorker(cfg: Config, extra: Record<string, string> = {}, file = 'workers/worker.ts'): Promise<Proc> {
  const m = launch(file, envOf(cfg, extra));
  for (let i = 0; i < 300; i++) {
    if (!m.alive) throw new Error(`worker exited: ${m.out}`);
    if (m.out.includes('running queues')) return procOf(m, '');
    await new Promise((r) => setTimeout(r, 100));
  }
  m.signal('SIGKILL');
  throw new Error(`worker did not start: ${m.out}`);
}

/** Signs in over HTTP; returns the cookie header and CSRF token. */
export async function httpSignIn(url: string, email: string, password = 'cluster-demo') {
  const res = await fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in failed ${res.status} ${await res.text()}`);
  const me = (await res.json()) as { csrfToken: string; org: { id: string } };
  const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
  return { cookie, csrf: me.csrfToken, orgId: me.org.id };
}

/** A private, throw-away Redis server (for tests that FLUSHALL or restart Redis without touching others). */
export async function startPrivateRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const redis = await startRedisServer({ group: false });
  return { url: redis.url, stop: () => redis.stop() };
}

/**
 * A throw-away local Redis Cluster of `masters` masters (no replicas) on loopback ports, created with
 * `redis-cli --cluster create` (issue 16): its `redis+cluster://` URL, and `stop` (kills the nodes, removes their
 * files). Each node's cluster bus is its port + 10000, so both must be free.
 */
export async function startRedisCluster(masters = 3): Promise<{ url: string; ports: number[]; stop(): Promise<void> }> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFile } = await import('node:child_process');
  const run = (args: string[]) =>
    new Promise<string>((resolve, reject) => execFile('redis-cli', args, { timeout: 30_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))));
  const dir = mkdtempSync(join(tmpdir(), 'cx-redis-cluster-'));
  const ports: number[] = [];
  for (let p = 20_000 + Math.floor(Math.random() * 9000); ports.length < masters && p < 30_000; p++) {
    if ((await portFree(p)) && (await portFree(p + 10_000))) ports.push(p);
  }
  const nodes: RedisServer[] = [];
  try {
    for (const port of ports) {
      const extraArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000'];
      nodes.push(await new RedisServer({ port, dir, group: false, extraArgs }).start());
    }
    await run(['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) {
      await waitUntil(async () => (await run(['-p', String(port), 'cluster', 'info'])).includes('cluster_state:ok'), `cluster state ok on ${port}`, 200, 100);
    }
  } catch (err) {
    for (const n of nodes) await n.kill();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    ports,
    async stop() {
      for (const n of nodes) await n.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
