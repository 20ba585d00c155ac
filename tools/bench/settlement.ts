// Settlement: confirmed bookings written straight into Postgres with their outbox rows, drained by one
// worker (outbox → BullMQ `bookings.settle` jobs of up to SETTLE_BATCH bookings → ledger + invoice), beside BullMQ
// alone running one no-op job per booking on the same Redis: bookings settled per second against no-op jobs per second.
import { sql } from 'kysely';
import { DEFAULT_JOB_OPTS, QUEUE_CONCURRENCY, SETTLE_BATCH } from '../../server/adapters/queue/jobs.ts';
import { sleep } from '../../scripts/lib/procs.mjs';
import { cpuCell, cpuSnapshot, cpuSplit } from './cpu-split.ts';
import type { BenchStack } from './stack.ts';
import { log, makeListings, quiet, r1, type BenchRun } from './measure.ts';

export async function settlementPhase(s: BenchStack, r: BenchRun) {
  const jobs = r.quick ? 500 : 16_000;
  const { db } = s;
  await quiet('settlement');
  log('settlement: stopping one worker, creating confirmed bookings…');
  for (const w of s.workers.slice(1)) w.signal('SIGTERM');
  await sleep(2000);
  const l = (await makeListings(db, 1, jobs + 10, 'fixed', 'settle'))[0]!;
  const fwd = await db.selectFrom('organisations').select('id').where('slug', '=', 'bench-0').executeTakeFirstOrThrow();
  // bookings written straight into Postgres with their outbox rows, as confirm() does
  await db.transaction().execute(async (tx) => {
    for (let i = 0; i < jobs; i += 4000) { // a statement holds at most 65,535 parameters
      const n = Math.min(4000, jobs - i);
      const ids = await tx
        .insertInto('bookings')
        .values(Array.from({ length: n }, () => ({
          departure_id: l.departureId, listing_id: l.listingId, forwarder_org_id: fwd.id, teu: 1, tonnes: 10, unit_price_cents: 50_000, total_cents: 50_000,
        })))
        .returning('id')
        .execute();
      await tx.insertInto('outbox').values(ids.map((b) => ({ job_name: 'booking.settle', job_id: `booking.settle-${b.id}`, data: JSON.stringify({ bookingId: b.id }) }))).execute();
    }
    await tx.updateTable('departures').set({ booked_teu: jobs, booked_tonnes: jobs * 10 }).where('id', '=', l.departureId).execute();
  });
  // The worker's periodic outbox drain (every second) picks the rows up; throughput is timed from the
  // first settled booking to the last, the pickup delay is printed beside it.
  const t0 = performance.now();
  let settled = 0;
  let tFirst = 0;
  let split0 = cpuSnapshot();
  for (let i = 0; i < 6000 && settled < jobs; i++) {
    await sleep(50);
    const q = await sql<{ n: number }>`select count(*)::int as n from bookings where listing_id = ${l.listingId} and status = 'settled'`.execute(db);
    settled = q.rows[0]!.n;
    if (settled > 0 && !tFirst) {
      tFirst = performance.now();
      split0 = cpuSnapshot();
    }
  }
  const tEnd = performance.now();
  const cpu = cpuCell(cpuSplit(split0, cpuSnapshot()));
  const secs = (tEnd - (tFirst || t0)) / 1000;
  const perSec = Math.round(settled / Math.max(0.05, secs));
  const biggest = await sql<{ n: number }>`
    select coalesce(max(n), 0)::int as n from (select count(*) as n from ledger_transactions t join bookings b on b.id = t.booking_id
    where b.listing_id = ${l.listingId} and t.kind = 'charge' group by t.created_at) x`.execute(db);
  const row = { path: `settlement: bookings (outbox → jobs of ≤ ${SETTLE_BATCH} → ledger + invoice)`, jobs, done: settled, 'pickup s': r1(((tFirst || tEnd) - t0) / 1000), seconds: r1(secs), 'jobs/s': perSec, 'largest batch': biggest.rows[0]!.n, 'CPU cores': cpu };
  const noop = await noopReference(s.redisUrl, jobs);
  r.report.settlement = { ...row, reference: noop };
  console.log('\nSettlement drained by one worker (group-committed), beside BullMQ alone on the same machine');
  console.table([row, noop]);
  // issue 16: a share of what BullMQ alone does with the same job options in the same run
  const pctOf = Math.round((100 * perSec) / Math.max(1, noop['jobs/s']));
  r.report.settlement = { ...(r.report.settlement as object), shareOfNoopPct: pctOf };
  r.targets.push({ target: 'settlement (one worker): bookings/s ≥ 75 % of BullMQ no-op jobs/s', value: `${pctOf} % (${perSec}/s of ${noop['jobs/s']}/s)`, met: pctOf >= 75 });
}

/**
 * Physical reference: the same number of jobs that do nothing, through BullMQ on the same Redis, one
 * worker with the same concurrency — what the queue alone allows on this machine.
 */
async function noopReference(redisUrl: string, jobs: number) {
  log('settlement: BullMQ no-op reference…');
  const conn = { url: redisUrl, maxRetriesPerRequest: null };
  const { Queue, Worker } = await import('bullmq');
  const q = new Queue('bench-noop', { connection: conn, prefix: 'bench:noop' });
  // same job options as the platform's jobs (kept after completion, retries), only the work differs
  await q.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'noop', data: { bookingId: `noop-${i}` }, opts: { ...DEFAULT_JOB_OPTS, jobId: `noop-${i}` } })));
  let doneNoop = 0;
  let split0 = cpuSnapshot();
  // timed like the settlement above: from the first job done to the last (not from the worker's start)
  let tn = 0;
  const w = new Worker('bench-noop', async () => {}, { connection: conn, prefix: 'bench:noop', concurrency: QUEUE_CONCURRENCY.settlement });
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 120_000);
    w.on('completed', () => {
      if (doneNoop === 0) {
        tn = performance.now();
        split0 = cpuSnapshot();
      }
      if (++doneNoop === jobs) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const noopSecs = Math.max(0.05, (performance.now() - tn) / 1000);
  const cpu = cpuCell(cpuSplit(split0, cpuSnapshot()));
  await w.close();
  await q.close();
  return { path: 'reference: BullMQ no-op jobs (one per booking)', jobs, done: doneNoop, 'pickup s': 0, seconds: r1(noopSecs), 'jobs/s': Math.round(doneNoop / noopSecs), 'largest batch': 0, 'CPU cores': cpu };
}
