// npm start: everything from a bare machine to a running app, idempotently.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureStack, fail, freePort, log, ROOT } from './stack.mjs';
import { logFile, runTsx, startDetached, stopDetached } from './procs.mjs';

const started = Date.now();
const stack = await ensureStack();
const env = { DATABASE_URL: stack.databaseUrl, REDIS_URL: stack.redisUrl };

log('migrating…');
if (runTsx('server/cli/migrate.ts', [], env) !== 0) fail('migrations failed');
log('seeding the demo network (only when the database is empty)…');
if (runTsx('server/cli/seed.ts', ['--if-empty'], env) !== 0) fail('seed failed');

log('building the client…');
const vite = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
if (vite.status !== 0) fail('client build failed');

await stopDetached('server');
await stopDetached('worker');
const port = process.env.PORT ? Number(process.env.PORT) : await freePort(3000);
const host = process.env.HOST ?? '127.0.0.1';
startDetached('server', 'server/server.ts', { ...env, PORT: String(port), HOST: host });
const workerPid = startDetached('worker', 'workers/worker.ts', env);

const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
let healthy = false;
for (let i = 0; i < 150 && !healthy; i++) {
  await new Promise((r) => setTimeout(r, 200));
  healthy = await fetch(`${url}/health`).then((r) => r.ok, () => false);
}
if (!healthy) fail(`the server did not become healthy; see ${logFile('server')}`);
await new Promise((r) => setTimeout(r, 1500));
try {
  process.kill(workerPid, 0);
} catch {
  fail(`the worker stopped right after starting; see ${logFile('worker')}`);
}

const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(`
\x1b[32m✔ Cluster Exchange is running\x1b[0m (${secs}s)

  Open     ${url}
  API docs ${url}/docs
  Logs     ${logFile('server')}, ${logFile('worker')}
  Stop     npm run stop

  Demo logins (password: cluster-demo)
    forwarder1@demo.test … forwarder4@demo.test   freight forwarders
    operator1@demo.test  … operator3@demo.test    rail and barge operators
    scheduler@demo.test                           cluster scheduler
    admin@demo.test                               platform admin
`);
