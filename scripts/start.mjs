// npm start: everything from a bare machine to a running app, idempotently.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { APP_ROLE, DATA, ensureStack, fail, freePort, log, ROOT } from './stack.mjs';
import { logFile, runTsx, startDetached, stopDetached } from './daemons.mjs';
import { bundleProcesses } from './lib/bundle.mjs';
import { demoSeedArgs, demoSeedDecision } from './seed-policy.mjs';

const started = Date.now();
const decision = demoSeedDecision({ localDatabase: !process.env.DATABASE_URL, seedDemo: process.env.SEED_DEMO });
if (decision.error) fail(decision.error);
const seedArgs = demoSeedArgs({ historyDays: process.env.SEED_HISTORY_DAYS });
if (seedArgs.error) fail(seedArgs.error);
const stack = await ensureStack();
// Server and worker get the app role only; migrations and the seed run as the schema owner.
const env = { DATABASE_URL: stack.databaseUrl, MIGRATION_DATABASE_URL: undefined, REDIS_URL: stack.redisUrl };
const ownerEnv = { ...env, MIGRATION_DATABASE_URL: stack.migrationDatabaseUrl };

log('migrating…');
if (runTsx('server/cli/migrate.ts', [], ownerEnv) !== 0) fail('migrations failed');
if (decision.seed) {
  log('seeding the demo network, its activity and its history (only when the database is empty)…');
  if (runTsx('server/cli/seed.ts', seedArgs.args, ownerEnv) !== 0) fail('seed failed');
} else {
  log(decision.note);
}

log('building the client…');
const vite = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
if (vite.status !== 0) fail('client build failed');
log('building the server and the worker…');
await bundleProcesses().catch((e) => fail(`server build failed: ${e instanceof Error ? e.message : String(e)}`));

await stopDetached('server');
await stopDetached('worker');
const port = process.env.PORT ? Number(process.env.PORT) : await freePort(3000);
const host = process.env.HOST ?? '127.0.0.1';
startDetached('server', { ...env, PORT: String(port), HOST: host });
const workerPid = startDetached('worker', env);

const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
let healthy = false;
for (let i = 0; i < 150 && !healthy; i++) {
  await new Promise((r) => setTimeout(r, 200));
  healthy = await fetch(`${url}/health`).then((r) => r.ok, () => false);
}
if (!healthy) fail(`the server did not become healthy; see ${logFile('server')}`);
// where it listens, for `npm run simulate` (tools/simulate/simulate.ts)
fs.mkdirSync(path.join(DATA, 'run'), { recursive: true });
fs.writeFileSync(path.join(DATA, 'run', 'server.url'), url);
await new Promise((r) => setTimeout(r, 1500));
try {
  process.kill(workerPid, 0);
} catch {
  fail(`the worker stopped right after starting; see ${logFile('worker')}`);
}

const secs = ((Date.now() - started) / 1000).toFixed(1);
const db = new URL(stack.databaseUrl);
const dbLine = stack.localDatabase
  ? `${db.pathname.slice(1)} on ${db.host}, project-local; the app connects as ${APP_ROLE}, migrations as postgres (passwords in .data/secrets/)`
  : `${db.pathname.slice(1)} on ${db.host} (DATABASE_URL)`;
const logins = decision.seed
  ? `
  Demo logins (password: cluster-demo)
    forwarder1@demo.test … forwarder4@demo.test   freight forwarders
    operator1@demo.test  … operator3@demo.test    rail and barge operators
    scheduler@demo.test                           cluster scheduler
    admin@demo.test                               platform admin

  Make it move: npm run simulate   (the forwarders' day in 10 minutes against this app; Ctrl-C stops it)
`
  : `
  Demo logins: none seeded by npm start (${stack.localDatabase ? 'SEED_DEMO=0' : 'external database'}).
`;
console.log(`
\x1b[32m✔ Cluster Exchange is running\x1b[0m (${secs}s)

  Open     ${url}
  API docs ${url}/docs
  Database ${dbLine}
  Logs     ${logFile('server')}, ${logFile('worker')}
  Stop     npm run stop
${logins}`);
