import type { Job } from 'bullmq';
import type { JobDataMap, JobName } from '../server/adapters/queue/jobs.ts';
import type { Context } from '../server/context.ts';
import { rollDepartures } from '../server/services/timetable.ts';
import { drainOutbox } from '../server/adapters/db/outbox.ts';
import { purgeIdempotencyKeys } from '../server/adapters/db/idempotency.ts';
import { ThreadSolver } from '../server/adapters/solver/solve-thread.ts';

/**
 * The optimiser's solver: HiGHS in a worker thread of this process, started and warmed up on the first run (a
 * fresh WebAssembly runtime solves its first MIPs 3–4× slower; the warm-up, ~1.5 s in the thread, is paid once).
 */
let solver: Promise<ThreadSolver> | undefined;
const optimiserSolver = () =>
  (solver ??= (async () => {
    const s = new ThreadSolver();
    await s.warmUp().catch(() => undefined);
    return s;
  })());

export type Handler<N extends JobName> = (data: JobDataMap[N], ctx: Context, job: Job) => Promise<unknown>;
export type HandlerMap = { [N in JobName]: Handler<N> };

/** One handler per job name; each stays thin and calls a service. */
export const handlers: HandlerMap = {
  'timetable.roll': async (data, ctx) => rollDepartures(ctx.db, new Date(), data.days ?? ctx.cfg.departureWindowDays),
  'hold.expire': async (data, ctx) => {
    const ended = await ctx.services.holds.end(data.holdId, 'expired', null);
    if (!ended && (await ctx.services.holds.isActiveAndNotYetDue(data.holdId))) {
      throw new Error('hold not yet due (clock skew); retried with backoff'); // the sweep is the second net
    }
    return { expired: ended !== null };
  },
  'holds.sweep': async (_data, ctx) => ctx.services.holds.sweepExpiredDetailed(),
  'listing.price-step': async (data, ctx) => ctx.services.listings.priceStep(data.listingId),
  'outbox.drain': async (_data, ctx) => {
    // drain until empty (bounded), so a burst is enqueued within one run, not 500 rows a second
    let enqueued = 0;
    for (let i = 0; i < 40; i++) {
      const n = await drainOutbox(ctx.db, ctx.queues);
      enqueued += n;
      if (n < 500) break;
    }
    return { enqueued };
  },
  'auction.close': async (data, ctx) => ctx.services.auctions.close(data.listingId),
  'auctions.sweep': async (_data, ctx) => ctx.services.auctions.sweepDue(),
  'booking.settle': async (data, ctx) => ctx.services.ledger.settleQueued(data.bookingId),
  'bookings.settle': async (data, ctx) => ctx.services.ledger.settleQueuedMany(data.bookingIds),
  'booking.refund': async (data, ctx) => ctx.services.ledger.refundBooking(data.bookingId),
  'settlement.sweep': async (_data, ctx) => ({ ...(await ctx.services.ledger.sweep()), rebates: await ctx.services.ledger.payDueRebates() }),
  'idempotency.purge': async (_data, ctx) => purgeIdempotencyKeys(ctx.db),
  'stats.fold': async (_data, ctx) => ({ folded: await ctx.services.stats.fold() }),
  // LeaseBusy (another optimisation is solving) is thrown: the job is retried with backoff
  'pool.optimise': async (data, ctx) => ctx.services.optimiser.run(data.optimisationId, await optimiserSolver()),
  'pool.schedule': async (data, ctx) => ({ optimisationId: await ctx.services.optimiser.requestAutomatic(data.trigger) }),
  'webhook.deliver': async (data, ctx) => ctx.services.webhookDelivery.deliver(data.deliveryId, data.gen ?? 0),
  'webhooks.sweep': async (_data, ctx) => ctx.services.webhookDelivery.sweep(),
  'offer.expire': async (data, ctx) => {
    const r = await ctx.services.offers.expire(data.offerId);
    if (r.notYet) throw new Error('offer not yet due (clock skew); retried with backoff'); // the sweep is the second net
    return r;
  },
  'offers.sweep': async (_data, ctx) => ctx.services.offers.sweep(),
  'watches.match': async (data, ctx) => ctx.services.watches.match(data),
  'derating.relocate': async (data, ctx) => ({ offered: (await ctx.services.offers.relocate(data.bookingId)) !== null }),
};

/** Start-up check: every registered job name has exactly one handler and no handler is unknown. */
export function checkHandlers(names: readonly string[], map: Record<string, unknown>): void {
  const missing = names.filter((n) => typeof map[n] !== 'function');
  const unknown = Object.keys(map).filter((n) => !names.includes(n));
  const dup = names.filter((n, i) => names.indexOf(n) !== i);
  if (missing.length || unknown.length || dup.length) {
    throw new Error(`job registry mismatch: missing ${missing.join(',') || '-'}; unknown ${unknown.join(',') || '-'}; duplicate ${dup.join(',') || '-'}`);
  }
}
