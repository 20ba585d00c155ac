import type { Kysely } from 'kysely';

/**
 * Idempotency keys are purged 24 h after their creation (the `idempotency.purge` job, oldest first in
 * bounded batches): an index on `created_at` lets each batch find its rows without scanning the table.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('idempotency_keys_created_idx').ifNotExists().on('idempotency_keys').column('created_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('idempotency_keys_created_idx').ifExists().execute();
}
