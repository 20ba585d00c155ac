import type { TestProject } from 'vitest/node';
import { bundleProcesses } from '../../scripts/lib/bundle.mjs';
import { createDb } from '../../server/adapters/db/db.ts';
import { migrateToLatest } from '../../server/adapters/db/migrate.ts';
import { seedDemo } from '../../server/seed/seed.ts';
import { adminUrl, dbUrl, dropDatabase, recreateDatabase, templateName, TEST_DB_PREFIX } from '../helpers/pg-admin.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    runId: string;
  }
}

/**
 * Once per run: the server and worker bundles the tests start (scripts/lib/bundle.mjs: always built afresh from the
 * sources, so a test never runs yesterday's code), and two template databases (migrated; migrated + demo seed). Each test file clones its own
 * database from one of them, so files run in parallel without seeing each other's rows.
 */
export default async function setup(project: TestProject) {
  if (!process.env.DATABASE_URL || !process.env.REDIS_URL) {
    throw new Error('DATABASE_URL and REDIS_URL must be set — run the tests with `npm test`.');
  }
  const runId = Math.random().toString(36).slice(2, 8);
  project.provide('runId', runId);
  const TEMPLATE_EMPTY = templateName(runId, 'empty');
  const TEMPLATE_DEMO = templateName(runId, 'demo');

  await bundleProcesses();
  await recreateDatabase(TEMPLATE_EMPTY);
  const empty = createDb(dbUrl(TEMPLATE_EMPTY), { max: 2 });
  await migrateToLatest(empty);
  await empty.destroy();

  await recreateDatabase(TEMPLATE_DEMO, TEMPLATE_EMPTY);
  const demo = createDb(dbUrl(TEMPLATE_DEMO), { max: 4 });
  await seedDemo(demo, new Date());
  await demo.destroy();

  return async () => {
    const admin = createDb(adminUrl(), { max: 1 });
    const { rows } = await import('kysely').then(({ sql }) =>
      sql<{ datname: string }>`select datname from pg_database where datname like ${`${TEST_DB_PREFIX}${runId}%`} or datname in (${TEMPLATE_EMPTY}, ${TEMPLATE_DEMO})`.execute(admin),
    );
    await admin.destroy();
    for (const r of rows) await dropDatabase(r.datname);
  };
}
