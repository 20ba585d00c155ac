import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { inject } from 'vitest';
import { createDb, type Db } from '../../server/adapters/db/db.ts';
import { createRedis, type Redis } from '../../server/adapters/redis/redis.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { appDbUrl, dbUrl, dropDatabase, recreateDatabase, templateName, TEST_DB_PREFIX } from './pg-admin.ts';

export interface TestEnv {
  /** Its databaseUrl is the app role's: apps and server / worker processes built from it connect as cx_app. */
  cfg: Config;
  /** The schema owner's handle, for setting up (and, on purpose, corrupting) rows and for migrating. */
  db: Db;
  redis: Redis;
  /** The app role's URL of this database (= cfg.databaseUrl). */
  databaseUrl: string;
  /** The owner's URL of this database. */
  ownerDatabaseUrl: string;
  cleanup(): Promise<void>;
}

/**
 * A private world for one test file: its own database cloned from a template (demo data by default)
 * and its own Redis key prefix. `cleanup` drops both.
 */
export async function createTestEnv(
  opts: { template?: 'demo' | 'empty' | 'none'; cfg?: Partial<Config>; /** false only for a test that corrupts the ledger on purpose */ ledgerCheck?: boolean } = {},
): Promise<TestEnv> {
  const id = `${inject('runId')}_${randomBytes(4).toString('hex')}`;
  const name = `${TEST_DB_PREFIX}${id}`;
  const template = opts.template ?? 'demo';
  await recreateDatabase(name, template === 'none' ? undefined : templateName(inject('runId'), template));
  const databaseUrl = appDbUrl(name);
  const ownerDatabaseUrl = dbUrl(name);
  const cfg = loadConfig({
    databaseUrl,
    redisUrl: process.env.REDIS_URL!,
    redisPrefix: `t${id}:`,
    logLevel: 'warn',
    // many users sign in from one loopback address in tests: the per-address and per-account buckets
    // and the look-up budget are lifted unless a test sets them (the limits tests do)
    signInPerAddressPerMinute: 1_000_000,
    signInPerAccountPerHour: 1_000_000,
    authLookupsPerMinute: 1_000_000,
    // a loaded CI machine reads Redis replies late; tests are not about speed (the outage tests set their own)
    redisCommandTimeoutMs: 2000,
    ...opts.cfg,
  });
  const db = createDb(ownerDatabaseUrl, { max: 5 });
  const redis = createRedis(cfg.redisUrl);
  return {
    cfg,
    db,
    redis,
    databaseUrl,
    ownerDatabaseUrl,
    async cleanup() {
      // Every integration test that may move money ends with the ledger check (ledger:verify's checks).
      const verdict = opts.ledgerCheck === false ? { ok: true } : await verifyLedger(db).catch((err) => ({ ok: false, error: String(err) }));
      const keys = await redis.keys(`${cfg.redisPrefix}*`);
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      redis.disconnect();
      await db.destroy();
      await dropDatabase(name);
      if (!verdict.ok) throw new Error(`ledger verification failed: ${JSON.stringify(verdict)}`);
    },
  };
}

/** Row counts of every table: a fingerprint to show that a refused request changed nothing. */
export async function tableCounts(db: Db): Promise<Record<string, number>> {
  const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public' and tablename not like 'kysely_%' order by tablename`.execute(db);
  const out: Record<string, number> = {};
  for (const { tablename } of tables.rows) {
    const r = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(tablename)}`.execute(db);
    out[tablename] = r.rows[0]!.n;
  }
  return out;
}
