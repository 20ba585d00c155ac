import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { SETTLE_BATCH, type JobDataMap, type JobName, type Queues } from '../queue/jobs.ts';
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

type OutboxRow = { id: number; job_name: string; job_id: string; data: unknown; delay_ms: number };
type Item = { rowIds: number[]; job: { name: JobName; data: unknown; opts: { jobId: string; delay: number } } };

/**
 * The jobs for these rows: one per row, except `booking.settle` rows due now, which travel together as
 * `bookings.settle` jobs of up to SETTLE_BATCH bookings. A batch's job id is derived from exactly the bookings it
 * carries (their count and a digest of their ids, in order — business keys, not outbox row ids, which a restored
 * database or a reset sequence can hand out again while Redis still keeps the old job), so draining the same rows
 * again after a crash re-adds the same job (BullMQ ignores it), and another set of bookings never collides with it.
 */
export function outboxJobs(rows: OutboxRow[]): Item[] {
  const items: Item[] = [];
  const settle: OutboxRow[] = [];
  for (const r of rows) {
    const delay = Math.max(0, Number(r.delay_ms));
    if (r.job_name === 'booking.settle' && delay === 0 && typeof (r.data as { bookingId?: unknown } | null)?.bookingId === 'string') settle.push(r);
    else items.push({ rowIds: [r.id], job: { name: r.job_name as JobName, data: r.data, opts: { jobId: r.job_id, delay } } });
  }
  for (let i = 0; i < settle.length; i += SETTLE_BATCH) {
    const chunk = settle.slice(i, i + SETTLE_BATCH);
    const rowIds = chunk.map((r) => r.id);
    const bookingIds = chunk.map((r) => (r.data as JobDataMap['booking.settle']).bookingId);
    const digest = createHash('sha256').update(bookingIds.join(',')).digest('hex').slice(0, 32);
    items.push({ rowIds, job: { name: 'bookings.settle', data: { bookingIds }, opts: { jobId: `bookings.settle-${bookingIds.length}-${digest}`, delay: 0 } } });
  }
  return items;
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
    const items = outboxJobs(rows);
    let done = rows.map((r) => r.id);
    try {
      await queues.addBulk(items.map((it) => it.job));
    } catch (err) {
      // One bad job must not block the rest: try each on its own (a Redis outage fails them all, fast).
      done = [];
      for (const it of items) {
        const ok = await queues.addBulk([it.job]).then(() => true, () => false);
        if (ok) done.push(...it.rowIds);
        else if (done.length === 0 && it === items[0]) {
          // the first one failed too: most likely Redis itself; give up this round
          const more = await queues.addBulk([items[items.length - 1]!.job]).then(() => true, () => false);
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
