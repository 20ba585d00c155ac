// Runs a command with DATABASE_URL / REDIS_URL pointing at the (started if needed) stack.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureStack, ROOT } from './stack.mjs';

const [cmd, ...args] = process.argv.slice(2);
const stack = await ensureStack();
const bin = path.join(ROOT, 'node_modules', '.bin', cmd);
const r = spawnSync(bin, args, {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, DATABASE_URL: stack.databaseUrl, REDIS_URL: stack.redisUrl },
});
process.exit(r.status ?? 1);
