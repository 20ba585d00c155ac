// Starting and stopping the app's own processes (server, worker) in the background, with pid files.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DATA, ROOT, log } from './stack.mjs';

const RUN = path.join(DATA, 'run');
const LOGS = path.join(DATA, 'logs');
export const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

export function runTsx(file, args, env) {
  const r = spawnSync(TSX, [file, ...args], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function startDetached(name, file, env) {
  fs.mkdirSync(RUN, { recursive: true });
  fs.mkdirSync(LOGS, { recursive: true });
  const out = fs.openSync(path.join(LOGS, `${name}.log`), 'a');
  const child = spawn(TSX, [file], { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', out, out] });
  child.unref();
  fs.writeFileSync(path.join(RUN, `${name}.pid`), String(child.pid));
  return child.pid;
}

export async function stopDetached(name) {
  const file = path.join(RUN, `${name}.pid`);
  if (!fs.existsSync(file)) return false;
  const pid = Number(fs.readFileSync(file, 'utf8'));
  fs.rmSync(file);
  if (!pid || !alive(pid)) return false;
  log(`stopping ${name} (pid ${pid})…`);
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  }
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
  return true;
}

export function logFile(name) {
  return path.join(LOGS, `${name}.log`);
}
