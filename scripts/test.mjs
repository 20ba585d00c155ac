// npm test: the same bootstrap as npm start, then every test (unit, integration, browser).
// Stops the Postgres and Redis it started itself; leaves running what was already running.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureStack, fail, log, ROOT, stopPostgres, stopRedis } from './stack.mjs';

const bin = (name) => path.join(ROOT, 'node_modules', '.bin', name);
const started = Date.now();
const stack = await ensureStack();

if (!fs.existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium')) {
  if (process.getuid?.() !== 0) fail('Browser tests need Chromium: sudo apt-get install chromium (or set CHROMIUM_PATH).');
  log('installing Chromium for the browser tests…');
  spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore' });
  const r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) fail('apt-get install chromium failed');
}

let code = 0;
const step = (what, cmd, args, env = {}) => {
  if (code !== 0) return;
  log(what);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  code = r.status ?? 1;
  if (code !== 0) process.stderr.write(`\n✖ ${what} failed\n`);
};

/**
 * The static checks at once, eslint (the longest, ≈ 85 s, one thread) beside tsc, svelte-check and the client build
 * in turn: ≈ 40 s less than one after the other on two cores. Each step's output is printed whole when it ends.
 */
async function checks() {
  const run = (what, cmd, args) =>
    new Promise((resolve) => {
      const started = Date.now();
      const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
      let out = '';
      let ended = false;
      const end = (status) => {
        if (ended) return;
        ended = true;
        log(`${what} ${status === 0 ? 'done' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
        if (out.trim()) process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
        if (status !== 0) process.stderr.write(`\n✖ ${what} failed\n`);
        resolve(status ?? 1);
      };
      // the binary could not start (not installed?): a failed step, not a crash that leaves the stack running
      child.on('error', (e) => {
        out += `${e.message}\n`;
        end(1);
      });
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (status) => end(status));
    });
  const inTurn = async (steps) => {
    for (const [what, cmd, args] of steps) {
      const status = await run(what, cmd, args);
      if (status !== 0) return status;
    }
    return 0;
  };
  log('linting, type-checking and building the client at once…');
  const results = await Promise.all([
    run('linting (eslint, type-aware)', bin('eslint'), ['--max-warnings', '0', '.']),
    inTurn([
      ['type-checking (tsc)', bin('tsc'), ['--noEmit', '-p', '.']],
      ['type-checking the client (svelte-check)', bin('svelte-check'), ['--workspace', 'client', '--threshold', 'error', '--output', 'human']],
      ['building the client (vite)', bin('vite'), ['build', '--logLevel', 'warn']],
    ]),
  ]);
  return results.find((r) => r !== 0) ?? 0;
}

code = await checks();
// DATABASE_URL: the app role (apps and processes under test connect as it); MIGRATION_DATABASE_URL: the
// owner, with which the harness creates, migrates, seeds and drops the test databases.
const testEnv = {
  DATABASE_URL: stack.databaseUrl,
  MIGRATION_DATABASE_URL: stack.migrationDatabaseUrl,
  REDIS_URL: stack.redisUrl,
  CI: process.env.CI ?? '',
};
const filters = process.argv.slice(2);
if (filters.length > 0) {
  step('running the tests…', bin('vitest'), ['run', ...filters], testEnv);
} else {
  // Browser tests run after the rest, so the heavy multi-process suites (chaos, races) never starve them.
  step('running unit and integration tests…', bin('vitest'), ['run', 'test/unit', 'test/integration'], testEnv);
  step('running browser tests (headless Chromium)…', bin('vitest'), ['run', 'test/browser'], testEnv);
}

if (stack.startedRedis) await stopRedis();
if (stack.startedPostgres) stopPostgres();
log(`npm test finished in ${((Date.now() - started) / 1000).toFixed(0)}s`);
process.exit(code);
