// Runs a command with DATABASE_URL / MIGRATION_DATABASE_URL / REDIS_URL pointing at the (started if
// needed) stack: DATABASE_URL is the app role, MIGRATION_DATABASE_URL the schema owner (migrations, seed,
// creating databases: the tests, npm run chaos and npm run bench create theirs with it).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureStack, ROOT } from './stack.mjs';

const [cmd, ...args] = process.argv.slice(2);
const stack = await ensureStack();
const bin = path.join(ROOT, 'node_modules', '.bin', cmd);
const r = spawnSync(bin, args, {
  cwd: ROOT,
  stdio: 'inherit',
  env: {
    ...process.env,
    DATABASE_URL: stack.databaseUrl,
    MIGRATION_DATABASE_URL: stack.migrationDatabaseUrl,
    REDIS_URL: stack.redisUrl,
  },
});
process.exit(r.status ?? 1);
