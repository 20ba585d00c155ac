import { writeFileSync } from 'node:fs';
import { createDb } from '../adapters/db/db.ts';
import { migrationDatabaseUrl } from '../adapters/db/migrate.ts';
import { isEmpty, seedDemo } from '../seed/seed.ts';

// npm run seed [-- --if-empty] [--json FILE]
// Seeds the demo network (demo users with the published password cluster-demo) into the database of
// MIGRATION_DATABASE_URL, else DATABASE_URL. Running it is the explicit request: `npm start` seeds only
// the project-local database unless SEED_DEMO=1 (scripts/seed-policy.mjs).
const args = process.argv.slice(2);
const ifEmpty = args.includes('--if-empty');
const jsonAt = args.indexOf('--json');
const db = createDb(migrationDatabaseUrl(), { max: 4 });
try {
  if (ifEmpty && !(await isEmpty(db))) {
    console.log('seed: database already has data, skipped');
  } else {
    const result = await seedDemo(db, new Date(), (step, done, total) => {
      const bar = '█'.repeat(done) + '░'.repeat(total - done);
      process.stdout.write(`\r  seeding ${bar} ${done}/${total} ${step.padEnd(14)}`);
    });
    process.stdout.write('\n');
    console.table(result);
    if (jsonAt >= 0 && args[jsonAt + 1]) writeFileSync(args[jsonAt + 1]!, JSON.stringify(result, null, 2));
  }
} catch (err) {
  console.error('\nseed failed:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
