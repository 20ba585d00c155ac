import { createDb } from '../adapters/db/db.ts';
import { migrateToLatest } from '../adapters/db/migrate.ts';
import { loadConfig } from '../config.ts';

const db = createDb(loadConfig().databaseUrl, { max: 2 });
try {
  const applied = await migrateToLatest(db);
  console.log(applied.length ? `migrated: ${applied.join(', ')}` : 'migrations: up to date');
} catch (err) {
  console.error('migration failed:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
