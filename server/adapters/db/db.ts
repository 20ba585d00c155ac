import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';

// int8 (bigint: money in cents, seq) as JS numbers: values stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;

export function createDb(databaseUrl: string, opts: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: opts.max ?? 20, idleTimeoutMillis: 10_000 });
  // A dropped connection must not crash the process; the next query gets a fresh one.
  pool.on('error', () => {});
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}

const RETRYABLE = new Set(['40001', '40P01']);

/** Runs `fn` in a transaction, retrying serialization failures and deadlocks a few times. */
export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await db.transaction().execute(fn);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (i >= attempts || !code || !RETRYABLE.has(code)) throw err;
      await new Promise((r) => setTimeout(r, 5 * i + Math.random() * 10));
    }
  }
}

/**
 * Keyset page cursors keep Postgres's own microseconds (a JavaScript Date would round them to milliseconds):
 * `epochMicros('b.created_at')` selects a timestamptz as whole microseconds, `fromEpochMicros(us)` reads one back.
 */
export const epochMicros = (column: string) => sql<number>`(extract(epoch from ${sql.ref(column)}) * 1000000)::bigint`;
export const fromEpochMicros = (us: number) => sql<Date>`('epoch'::timestamptz + ${us}::bigint * interval '1 microsecond')`;

/**
 * `= any($1::uuid[])` (or text[]): a list of values as ONE parameter. A list of thousands costs more to build, send and
 * parse as `in ($1, …, $n)` than the rows it finds cost to read. Use: `.where('id', '=', anyOf(ids))`.
 */
export function anyOf(values: readonly string[], type: 'uuid' | 'text' = 'uuid') {
  return sql<string>`any(${values}::${sql.raw(type)}[])`;
}

/** A round trip to Postgres (health checks). */
export async function pingDb(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

export function pgErrorCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}
