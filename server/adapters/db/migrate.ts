import { Migrator, sql, type Kysely } from 'kysely';
import { migrations } from '../../../migrations/index.ts';
import { loadConfig } from '../../config.ts';

/** The URL migrations (and the seed) run with: the schema owner, MIGRATION_DATABASE_URL, when it is set;
 *  otherwise DATABASE_URL (one role for everything, as with a single external URL). */
export function migrationDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.MIGRATION_DATABASE_URL || loadConfig().databaseUrl;
}

/** Applies every pending migration; throws on the first failure. Migrations are listed statically in
 *  migrations/index.ts so that they load the same way under tsx, Vitest and a bundler.
 *
 *  After a run that applied anything, the application role's privileges are applied again
 *  (`cx_grant_app_role()`, migration 20261203T1200), so tables added by later migrations are granted to
 *  it — and tables guarded by the append-only trigger get read and insert only — without each migration
 *  having to remember. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator runs on any schema: migrations are frozen in time
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (applied.length > 0) {
    const { rows } = await sql<{ ok: boolean }>`select to_regprocedure('cx_grant_app_role()') is not null as ok`.execute(db);
    if (rows[0]?.ok) await sql`select cx_grant_app_role()`.execute(db);
  }
  return applied;
}
