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
      // the delay on the database clock (run_at is one of its times: a close, an expiry), so a job never fires early
      // on a host whose clock runs ahead of Postgres'
      .select(['id', 'job_name', 'job_id', 'data', sql<number>`greatest(0, floor(extract(epoch from (run_at - clock_timestamp())) * 1000))::float8`.as('delay_ms')])
      .where('enqueued_at', 'is', null)
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (rows.length === 0) return 0;
    const job = (r: (typeof rows)[number]) => ({ name: r.job_name as JobName, data: r.data, opts: { jobId: r.job_id, delay: Math.max(0, Number(r.delay_ms)) } });
    let done = rows.map((r) => r.id);
    try {
      await queues.addBulk(rows.map(job));
    } catch (err) {
      // One bad row must not block the rest: try each on its own (a Redis outage fails them all, fast).
      done = [];
      for (const r of rows) {
        const ok = await queues.addBulk([job(r)]).then(() => true, () => false);
        if (ok) done.push(r.id);
        else if (done.length === 0 && r === rows[0]) {
          // the first one failed too: most likely Redis itself; give up this round
          const more = await queues.addBulk([job(rows[rows.length - 1]!)]).then(() => true, () => false);
          if (!more) throw err;
        }
      }
    }
    if (done.length) await tx.updateTable('outbox').set({ enqueued_at: sql`now()` }).where('id', 'in', done).execute();
    return done.length;
  });
}

const draining = new WeakMap<Queues, { again: boolean }>();

/**
 * Drains the outbox soon, off the request path: the caller does not wait, and at most one drain per
 * process runs at a time (a kick during a drain runs one more after it), so a slow or absent Redis can
 * never pin more than one Postgres connection or delay an answer. The worker's drain job (every second)
 * is the safety net for anything a failed kick leaves behind.
 */
export function kickOutbox(db: Db, queues: Queues | null): void {
  if (!queues) return;
  const running = draining.get(queues);
  if (running) {
    running.again = true;
    return;
  }
  const state = { again: false };
  draining.set(queues, state);
  void (async () => {
    try {
      do {
        state.again = false;
        await drainOutbox(db, queues).catch(() => 0);
      } while (state.again);
    } finally {
      draining.delete(queues);
    }
  })();
}
