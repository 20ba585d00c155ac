import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../server/config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

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
    HOLD_MAX_SHARE_PCT: String(cfg.holdMaxSharePct),
    ...extra,
  };
}

function launch(file: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<void> } {
  const child = spawn(TSX, [file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, output: () => out, exited };
}

async function stopper(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

/** Starts a real server process (tsx server/server.ts) and waits until /health answers 200. */
export async function startServer(cfg: Config, extra: Record<string, string> = {}): Promise<Proc> {
  const port = await freePort();
  const { child, output, exited } = launch('server/server.ts', envOf(cfg, { PORT: String(port), HOST: '127.0.0.1', ...extra }));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited: ${output()}`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) return { url, child, output, stop: (s = 'SIGTERM') => stopper(child, exited, s) };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not become healthy: ${output()}`);
}

/** Starts a real worker process (tsx workers/worker.ts) and waits for its start-up line. */
export async function startWorker(cfg: Config, extra: Record<string, string> = {}): Promise<Proc> {
  const { child, output, exited } = launch('workers/worker.ts', envOf(cfg, extra));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`worker exited: ${output()}`);
    if (output().includes('running queues')) return { url: '', child, output, stop: (s = 'SIGTERM') => stopper(child, exited, s) };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`worker did not start: ${output()}`);
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

/** Waits for `predicate` with a bounded number of polls (no timing assertions). */
export async function waitUntil<T>(fn: () => Promise<T | undefined | null | false>, what: string, tries = 300, everyMs = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A private, throw-away Redis server (for tests that FLUSHALL or restart Redis without touching others). */
export async function startPrivateRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return { url, stop: () => stopper(child, exited, 'SIGTERM') };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('private redis did not start');
}
