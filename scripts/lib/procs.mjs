// Child processes, free ports and private Redis servers: the one implementation shared by scripts/ (plain
// Node, runs before `npm install`), the tests (test/helpers/procs.ts) and the harness (tools/bench,
// tools/chaos). No dependencies; types in procs.d.mts.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Whether a process with this pid exists. */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `sig` to the process group led by `pid`, or to the process alone when it leads none. */
export function signalGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false; // gone
    }
  }
}

/** SIGTERM to the group of `pid`, up to `graceMs` for it to exit, then SIGKILL. */
export async function stopGroup(pid, graceMs = 10_000) {
  signalGroup(pid, 'SIGTERM');
  for (let t = 0; t < graceMs && alive(pid); t += 100) await sleep(100);
  if (alive(pid)) signalGroup(pid, 'SIGKILL');
}

/** Whether nothing listens on 127.0.0.1:`port`. */
export function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A free loopback port: the first one from `start` on (a stable choice for long-lived services), or, without
 * `start`, one the kernel picks.
 */
export async function freePort(start) {
  if (start === undefined) {
    return new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
  }
  for (let p = start; p < start + 500; p++) if (await portFree(p)) return p;
  throw new Error(`no free port found from ${start}`);
}

/** Polls `fn` until it returns a truthy value (bounded: `tries` polls `everyMs` apart); throws otherwise. */
export async function waitUntil(fn, what, tries = 300, everyMs = 100) {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A child process that can be started again after it stopped. With `group` (the default) it runs in its
 * own process group and every signal goes to the group, so it reaches what the child started itself
 * (tsx runs the program in a child node). The last 20,000 characters of its output are kept in `out`
 * (`stdio: 'capture'`, the default); any other `stdio` is passed to spawn as is.
 */
export class Managed {
  child = null;
  out = '';
  exited = Promise.resolve();
  starts = 0;

  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    this.cmd = cmd;
    this.args = args;
    this.opts = opts;
  }

  start() {
    const { env = process.env, cwd = ROOT, group = true, stdio = 'capture' } = this.opts;
    this.out = '';
    this.starts++;
    const child = spawn(this.cmd, this.args, {
      cwd,
      env,
      stdio: stdio === 'capture' ? ['ignore', 'pipe', 'pipe'] : stdio,
      detached: group,
    });
    const keep = (d) => (this.out = (this.out + d).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => keep(`${this.cmd}: ${err.message}\n`));
    this.exited = new Promise((r) => child.once('exit', () => r()));
    this.child = child;
    return this;
  }

  get pid() {
    return this.child?.pid;
  }

  get alive() {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Signals the process group (or, with `group: false`, the child alone). */
  signal(sig) {
    const pid = this.child?.pid;
    if (!pid || !this.alive) return;
    if (this.opts.group === false) {
      try {
        this.child.kill(sig);
      } catch {
        /* gone */
      }
    } else {
      signalGroup(pid, sig);
    }
  }

  /** SIGKILL and wait (at most `waitMs`) for the exit. */
  async kill(waitMs = 5000) {
    this.signal('SIGKILL');
    await Promise.race([this.exited, sleep(waitMs)]);
  }

  /** `signal` (SIGTERM by default), then SIGKILL when it has not exited within `graceMs`. */
  async stop(graceMs = 5000, signal = 'SIGTERM') {
    if (!this.alive) return;
    this.signal(signal);
    const ok = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!ok) await this.kill();
  }
}

/**
 * SIGKILLs every process of `procs` that is still alive when this process exits (a last resort when the
 * caller never reaches its own clean-up). Returns the function that unregisters it.
 */
export function killOnExit(procs) {
  const killAll = () => {
    for (const p of procs) {
      if (p instanceof Managed) p.signal('SIGKILL');
      else if (p.pid && p.exitCode === null && p.signalCode === null) signalGroup(p.pid, 'SIGKILL');
    }
  };
  process.on('exit', killAll);
  return () => process.removeListener('exit', killAll);
}

// ------------------------------------------------------------------------------------------------- Redis

/** One PING over a raw socket: true only for +PONG (not while Redis is still loading its AOF). */
export function redisPing(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    const done = (v) => {
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
export function redisSend(port, cmd, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
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

/**
 * redis-server arguments for a loopback instance with `noeviction` and no RDB snapshots. `dir` is its
 * working directory; `appendfsync` turns the AOF on ('always': a restart keeps every acknowledged write;
 * 'everysec'), without it the AOF is off; `daemonize` makes redis-server detach itself (pid and log file).
 */
export function redisServerArgs({ port, dir, appendfsync, daemonize, extraArgs = [] }) {
  return [
    ...extraArgs,
    '--port', String(port), '--bind', '127.0.0.1',
    ...(dir ? ['--dir', dir] : []),
    ...(daemonize ? ['--daemonize', 'yes', '--pidfile', daemonize.pidfile, '--logfile', daemonize.logfile] : []),
    ...(appendfsync ? ['--appendonly', 'yes', '--appendfsync', appendfsync] : ['--appendonly', 'no']),
    '--save', '', '--maxmemory-policy', 'noeviction',
  ];
}

/**
 * A private redis-server on a fixed loopback port, so that it can be stopped, killed, frozen (SIGSTOP) and
 * started again at the same address (and, with a `dir` and an AOF, with its data).
 */
export class RedisServer {
  constructor(opts) {
    this.port = opts.port;
    this.url = `redis://127.0.0.1:${opts.port}`;
    this.proc = new Managed('redis', opts.bin ?? 'redis-server', redisServerArgs(opts), { group: opts.group ?? true });
  }

  get alive() {
    return this.proc.alive;
  }

  /** Starts it and waits (at most 10 s) until it answers PING. */
  async start() {
    this.proc.start();
    for (let i = 0; i < 200; i++) {
      if (await redisPing(this.port)) return this;
      if (!this.proc.alive) {
        await this.proc.exited;
        throw new Error(`redis-server exited: ${this.proc.out}`);
      }
      await sleep(50);
    }
    await this.proc.kill();
    throw new Error(`redis-server did not answer PING on port ${this.port}`);
  }

  signal(sig) {
    this.proc.signal(sig);
  }

  /** SIGKILL: gone at once, without writing anything more. */
  kill() {
    return this.proc.kill();
  }

  /** SIGTERM, SIGKILL after `graceMs`. */
  stop(graceMs = 15_000) {
    return this.proc.stop(graceMs);
  }

  /** SHUTDOWN over the protocol (Redis flushes its AOF), SIGKILL when it has not exited within 5 s. */
  async shutdown() {
    await redisSend(this.port, 'SHUTDOWN');
    const ok = await Promise.race([this.proc.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!ok) await this.proc.kill();
  }
}

/** Starts a private RedisServer on a free port (or `opts.port`). */
export async function startRedisServer(opts = {}) {
  const server = new RedisServer({ ...opts, port: opts.port ?? (await freePort()) });
  return server.start();
}
