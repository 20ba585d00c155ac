import { Worker } from 'bullmq';
import { JOB_QUEUES, QUEUE_CONCURRENCY, QUEUE_NAMES, type JobName } from '../server/adapters/queue/jobs.ts';
import { CoalescingSink } from '../server/adapters/realtime/emitter.ts';
import { StreamEventSink } from '../server/adapters/realtime/events.ts';
import { assertNoEviction, createRedis } from '../server/adapters/redis/redis.ts';
import type { Config } from '../server/config.ts';
import { createContext, type Context, type ServiceHooks } from '../server/context.ts';
import { checkHandlers, handlers } from './handlers.ts';

export interface WorkerRuntime {
  ctx: Context;
  close(timeoutMs?: number): Promise<void>;
  queues: Context['queues'];
}

type Log = { info: (...a: unknown[]) => void; error: (...a: unknown[]) => void };

/**
 * Builds the services (the same as the server's, without Fastify) and one BullMQ worker per queue.
 * `ledgerHooks`: seams inside the settlement transaction, for tests only (production passes none).
 */
export async function startWorkers(cfg: Config, log: Log = console, opts: { ledgerHooks?: ServiceHooks['ledger'] } = {}): Promise<WorkerRuntime> {
  checkHandlers(Object.keys(JOB_QUEUES), handlers);
  let sink: CoalescingSink | undefined;
  const ctx = createContext(cfg, (redis) => (sink = new CoalescingSink(new StreamEventSink(redis, cfg.redisPrefix))), { ledger: opts.ledgerHooks });
  await ctx.ready();
  await assertNoEviction(ctx.redis);
  const bull = createRedis(cfg.redisUrl, { forBullmq: true, name: 'cx-worker' });
  const queues = ctx.queues;

  const workers = QUEUE_NAMES.map(
    (queue) =>
      new Worker(
        queue,
        async (job) => {
          const handler = handlers[job.name as JobName] as (d: unknown, c: typeof ctx, j: typeof job) => Promise<unknown>;
          if (!handler) throw new Error(`no handler for job ${job.name}`);
          return handler(job.data, ctx, job);
        },
        { connection: bull, prefix: `${cfg.redisPrefix}bull`, concurrency: QUEUE_CONCURRENCY[queue] },
      ),
  );
  for (const w of workers) {
    w.on('failed', (job, err) => log.error(`job ${job?.name} ${job?.id} failed: ${err.message}`));
    w.on('error', (err) => log.error(`worker error: ${err.message}`));
  }

  await ensureSchedules(queues, cfg.webhooks.sweepMs);
  // One catch-up pass now: whatever was missed while no worker ran.
  await ctx.services.holds.sweepExpired();
  await ctx.services.ledger.sweep(0).catch((err: Error) => log.error(`settlement sweep failed: ${err.message}`));
  await ctx.services.webhookDelivery.sweep().catch((err: Error) => log.error(`webhook sweep failed: ${err.message}`));
  await ctx.services.offers.sweep().catch((err: Error) => log.error(`offers sweep failed: ${err.message}`));
  await queues.add('timetable.roll', {}, { jobId: `timetable.roll-${new Date().toISOString().slice(0, 10)}` });
  await queues.add('idempotency.purge', {}, { jobId: `idempotency.purge-${new Date().toISOString().slice(0, 13)}` });
  // Redis may lose its data (a flush, a restart without its files, a failover to an empty replica): the
  // repeating sweeps would then be gone and nothing would close auctions or expire lost holds. Every
  // worker re-asserts them every SCHEDULE_REASSERT_MS (upsert: a no-op when they exist) and, when they
  // were gone, catches up from Postgres, the truth, at once.
  const reassert = setInterval(() => {
    void (async () => {
      const lost = !(await queues.get('auctions').getJobScheduler('auctions-sweep'));
      await ensureSchedules(queues, cfg.webhooks.sweepMs);
      if (!lost) return;
      // Redis lost its data: catch up from Postgres at once instead of waiting for the first sweeps.
      log.error('job schedules were missing (Redis lost its data?): re-created; catching up from Postgres');
      await ctx.services.auctions.sweepDue();
      await ctx.services.holds.sweepExpired();
      await ctx.services.ledger.sweep(0);
    })().catch((err: Error) => log.error(`re-asserting job schedules failed: ${err.message}`));
  }, cfg.scheduleReassertMs);
  reassert.unref();
  log.info(`worker ${process.pid} running queues: ${QUEUE_NAMES.join(', ')}`);

  return {
    ctx,
    queues,
    /** Graceful stop: finish running jobs, bounded by `timeoutMs` (BullMQ's close waits forever otherwise). */
    async close(timeoutMs = 10_000) {
      clearInterval(reassert);
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([graceful.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref())]);
      if (timedOut) await Promise.all(workers.map((w) => w.close(true)));
      bull.disconnect();
      await sink?.flush();
      await ctx.close();
    },
  };
}

/** The repeating jobs every deployment needs; idempotent (BullMQ upserts by scheduler id). */
async function ensureSchedules(queues: Context['queues'], webhookSweepMs = 30_000): Promise<void> {
  // Daily roll of the departure window (01:05 UTC); start-up adds one run too (above).
  await queues
    .get('maintenance')
    .upsertJobScheduler('timetable-roll-daily', { pattern: '5 1 * * *', tz: 'UTC' }, { name: 'timetable.roll', data: {} });
  // Holds: every 10 s (an indexed query; expiry jobs are sent without waiting, so while Redis is away —
  // or after it lost them — the sweep is what expires holds).
  await queues.get('holds').upsertJobScheduler('holds-sweep', { every: 10_000 }, { name: 'holds.sweep', data: {} });
  // Auctions past their close (a lost or missed close job).
  await queues.get('auctions').upsertJobScheduler('auctions-sweep', { every: 15_000 }, { name: 'auctions.sweep', data: {} });
  // Outbox: anything committed but not yet enqueued (a process died between commit and enqueue).
  await queues.get('maintenance').upsertJobScheduler('outbox-drain', { every: 1000 }, { name: 'outbox.drain', data: {} });
  // Settlement: a booking whose job is lost or stuck on a killed worker (BullMQ only notices a stalled job
  // after its lock expires). Idempotent like the jobs.
  await queues.get('settlement').upsertJobScheduler('settlement-sweep', { every: 30_000 }, { name: 'settlement.sweep', data: {} });
  // Idempotency keys: kept 24 h (API.md), then purged in bounded batches (start-up adds one run per hour
  // whatever the number of workers).
  await queues.get('maintenance').upsertJobScheduler('idempotency-purge', { every: 15 * 60_000 }, { name: 'idempotency.purge', data: {} });
  // Statistics: the corridor × day deltas the writes appended, folded into their rollup (readers add the
  // pending ones, so this keeps reads short; it is not what keeps them exact).
  await queues.get('maintenance').upsertJobScheduler('stats-fold', { every: 2000 }, { name: 'stats.fold', data: {} });
  // The pool: an optimisation every 15 minutes (none while one is queued or solving).
  // Webhooks: deliveries whose job was lost or whose worker died mid-attempt (lease expired) get a new job.
  await queues.get('webhooks').upsertJobScheduler('webhooks-sweep', { every: webhookSweepMs }, { name: 'webhooks.sweep', data: {} });
  // Offers (issue 14): an open offer past its window whose job was lost or ran early; Postgres is the truth.
  await queues.get('holds').upsertJobScheduler('offers-sweep', { every: 5000 }, { name: 'offers.sweep', data: {} });
  await queues.get('maintenance').upsertJobScheduler('pool-schedule', { every: 15 * 60_000 }, { name: 'pool.schedule', data: { trigger: 'schedule' } });
}
