import { sql } from 'kysely';
import type { JobDataMap, JobName, Queues } from '../queue/jobs.ts';
import type { Db, Tx } from './db.ts';

/**
 * Transactional outbox. A job is written in the same transaction as the business change it belongs to,
 * so a committed booking can never miss its settlement job. After commit the writer drains what it
 * wrote; the worker drains everything left over (a crash between commit and enqueue) every second.
 * BullMQ job ids come from the business key, so enqueuing twice is harmless.
 */
export async function enqueueInTx<N extends JobName>(tx: Tx, name: N, data: JobDataMap[N], jobId: string, runAt?: Date): Promise<void> {
  await tx
    .insertInto('outbox')
    .values({ job_name: name, job_id: jobId, data: JSON.stringify(data), ...(runAt ? { run_at: runAt } : {}) })
    .onConflict((oc) => oc.column('job_id').doNothing())
    .execute();
}

/** Moves pending outbox rows into BullMQ. Safe to run from many processes at once (SKIP LOCKED). */
export async function drainOutbox(db: Db, queues: Queues, limit = 500): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const rows = await tx
      .selectFrom('outbox')
      .select(['id', 'job_name', 'job_id', 'data', 'run_at'])
      .where('enqueued_at', 'is', null)
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (rows.length === 0) return 0;
    const now = Date.now();
    await queues.addBulk(rows.map((r) => ({ name: r.job_name as JobName, data: r.data, opts: { jobId: r.job_id, delay: Math.max(0, r.run_at.getTime() - now) } })));
    await tx
      .updateTable('outbox')
      .set({ enqueued_at: sql`now()` })
      .where('id', 'in', rows.map((r) => r.id))
      .execute();
    return rows.length;
  });
}
