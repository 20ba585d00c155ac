import { createDb } from '../adapters/db/db.ts';
import { migrateToLatest, migrationDatabaseUrl } from '../adapters/db/migrate.ts';

// As the schema owner (MIGRATION_DATABASE_URL), else DATABASE_URL.
const db = createDb(migrationDatabaseUrl(), { max: 2 });
try {
  const applied = await migrateToLatest(db);
  console.log(applied.length ? `migrated: ${applied.join(', ')}` : 'migrations: up to date');
} catch (err) {
  console.error('migration failed:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
