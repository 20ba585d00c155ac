// The app's own processes (server, worker) started in the background by npm start and stopped by npm run
// stop, with pid files under .data/run and logs under .data/logs.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUNDLES } from './lib/bundle.mjs';
import { alive, stopGroup, TSX } from './lib/procs.mjs';
import { DATA, ROOT, log } from './stack.mjs';

const RUN = path.join(DATA, 'run');
const LOGS = path.join(DATA, 'logs');

export function runTsx(file, args, env) {
  const r = spawnSync(TSX, [file, ...args], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
}

/** Starts a bundle (`server` or `worker`, scripts/lib/bundle.mjs) with plain Node in the background. */
export function startDetached(name, env) {
  fs.mkdirSync(RUN, { recursive: true });
  fs.mkdirSync(LOGS, { recursive: true });
  const out = fs.openSync(path.join(LOGS, `${name}.log`), 'a');
  const child = spawn(process.execPath, ['--enable-source-maps', BUNDLES[name]], { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', out, out] });
  child.unref();
  fs.writeFileSync(path.join(RUN, `${name}.pid`), String(child.pid));
  return child.pid;
}

/** Stops what startDetached started: SIGTERM to its process group, SIGKILL after 10 s. */
export async function stopDetached(name) {
  const file = path.join(RUN, `${name}.pid`);
  if (!fs.existsSync(file)) return false;
  const pid = Number(fs.readFileSync(file, 'utf8'));
  fs.rmSync(file);
  if (!pid || !alive(pid)) return false;
  log(`stopping ${name} (pid ${pid})…`);
  await stopGroup(pid, 10_000);
  return true;
}

export function logFile(name) {
  return path.join(LOGS, `${name}.log`);
}
