import { sql } from 'kysely';
import { createDb, type Db } from '../../server/adapters/db/db.ts';
import { migrateToLatest, migrationDatabaseUrl } from '../../server/adapters/db/migrate.ts';
import { seedDemo } from '../../server/seed/seed.ts';

/**
 * A throw-away database for a profiling tool (tools/bench/*-profile.ts): created on the project's Postgres as the
 * schema owner, migrated and seeded with the demo network, handed to `run` with its URL, dropped whatever happens.
 */
export async function withScratchDb<T>(tag: string, run: (db: Db, url: string) => Promise<T>): Promise<T> {
  const owner = migrationDatabaseUrl();
  const admin = new URL(owner);
  admin.pathname = '/postgres';
  const name = `cx_${tag}_${process.pid}`;
  const url = new URL(owner);
  url.pathname = `/${name}`;
  const adm = createDb(admin.toString(), { max: 1 });
  await sql`create database ${sql.raw(`"${name}"`)}`.execute(adm);
  const db = createDb(url.toString(), { max: 6 });
  try {
    await migrateToLatest(db);
    await seedDemo(db, new Date(), () => {}, 2);
    return await run(db, url.toString());
  } finally {
    await db.destroy().catch(() => {});
    await sql`drop database if exists ${sql.raw(`"${name}"`)} with (force)`.execute(adm);
    await adm.destroy();
  }
}
