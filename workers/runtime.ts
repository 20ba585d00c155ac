import { Worker } from 'bullmq';
import { JOB_QUEUES, QUEUE_CONCURRENCY, QUEUE_NAMES, type JobName } from '../server/adapters/queue/jobs.ts';
import { CoalescingSink } from '../server/adapters/realtime/emitter.ts';
import { StreamEventSink } from '../server/adapters/realtime/events.ts';
import { assertNoEviction, createRedis } from '../server/adapters/redis/redis.ts';
import type { Config } from '../server/config.ts';
import { createContext, type Context } from '../server/context.ts';
import { checkHandlers, handlers } from './handlers.ts';

export interface WorkerRuntime {
  ctx: Context;
  close(timeoutMs?: number): Promise<void>;
  queues: Context['queues'];
}

type Log = { info: (...a: unknown[]) => void; error: (...a: unknown[]) => void };

/** Builds the services (the same as the server's, without Fastify) and one BullMQ worker per queue. */
export async function startWorkers(cfg: Config, log: Log = console): Promise<WorkerRuntime> {
  checkHandlers(Object.keys(JOB_QUEUES), handlers);
  let sink: CoalescingSink | undefined;
  const ctx = createContext(cfg, (redis) => (sink = new CoalescingSink(new StreamEventSink(redis, cfg.redisPrefix))));
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

  // Daily roll of the departure window (01:05 UTC), and once now so a fresh start has a full window.
  await queues
    .get('maintenance')
    .upsertJobScheduler('timetable-roll-daily', { pattern: '5 1 * * *', tz: 'UTC' }, { name: 'timetable.roll', data: {} });
  await queues.add('timetable.roll', {}, { jobId: `timetable.roll-${new Date().toISOString().slice(0, 10)}` });
  // Holds: a sweep now catches any expiry missed while no worker ran; then every 10 s (an indexed query:
  // expiry jobs are sent without waiting, so while Redis is away the sweep is what expires holds).
  await queues.get('holds').upsertJobScheduler('holds-sweep', { every: 10_000 }, { name: 'holds.sweep', data: {} });
  await ctx.services.holds.sweepExpired();
  await queues.get('auctions').upsertJobScheduler('auctions-sweep', { every: 15_000 }, { name: 'auctions.sweep', data: {} });
  // Outbox: anything committed but not yet enqueued (a process died between commit and enqueue).
  await queues.get('maintenance').upsertJobScheduler('outbox-drain', { every: 1000 }, { name: 'outbox.drain', data: {} });
  // Settlement: a booking whose job is lost or stuck on a killed worker (BullMQ only notices a stalled job
  // after its lock expires) is settled by this sweep — now, and every 30 s. Idempotent like the jobs.
  await queues.get('settlement').upsertJobScheduler('settlement-sweep', { every: 30_000 }, { name: 'settlement.sweep', data: {} });
  await ctx.services.ledger.sweep(0).catch((err: Error) => log.error(`settlement sweep failed: ${err.message}`));
  // Idempotency keys: kept 24 h (API.md), then purged in bounded batches — once at start (one job per hour
  // whatever the number of workers), then every 15 minutes.
  await queues.get('maintenance').upsertJobScheduler('idempotency-purge', { every: 15 * 60_000 }, { name: 'idempotency.purge', data: {} });
  await queues.add('idempotency.purge', {}, { jobId: `idempotency.purge-${new Date().toISOString().slice(0, 13)}` });
  log.info(`worker ${process.pid} running queues: ${QUEUE_NAMES.join(', ')}`);

  return {
    ctx,
    queues,
    /** Graceful stop: finish running jobs, bounded by `timeoutMs` (BullMQ's close waits forever otherwise). */
    async close(timeoutMs = 10_000) {
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([graceful.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref())]);
      if (timedOut) await Promise.all(workers.map((w) => w.close(true)));
      bull.disconnect();
      await sink?.flush();
      await ctx.close();
    },
  };
}
