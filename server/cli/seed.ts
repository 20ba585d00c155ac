import { writeFileSync } from 'node:fs';
import { createDb } from '../adapters/db/db.ts';
import { loadConfig } from '../config.ts';
import { isEmpty, seedDemo } from '../seed/seed.ts';

// npm run seed [-- --if-empty] [--json FILE]
const args = process.argv.slice(2);
const ifEmpty = args.includes('--if-empty');
const jsonAt = args.indexOf('--json');
const db = createDb(loadConfig().databaseUrl, { max: 4 });
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
