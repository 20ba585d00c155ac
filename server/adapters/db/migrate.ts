import { Migrator, type Kysely } from 'kysely';
import { migrations } from '../../../migrations/index.ts';

/** Applies every pending migration; throws on the first failure. Migrations are listed statically in
 *  migrations/index.ts so that they load the same way under tsx, Vitest and a bundler. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
