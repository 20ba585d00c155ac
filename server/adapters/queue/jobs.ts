import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from '../redis/redis.ts';

/**
 * The typed registry of every job: its name, its queue and its data. Workers must register exactly one
 * handler per name (checked at start-up). Job ids are derived from the business key, so enqueuing the
 * same work twice is a no-op.
 */
export interface JobDataMap {
  /** Roll the departure window forward from the weekly timetables. Idempotent. */
  'timetable.roll': { days?: number };
  /** Expire one hold at its expiry time (an itinerary's legs, an offer's hold). Idempotent: a hold no longer active is left alone. */
  'hold.expire': { holdId: string };
  /**
   * Expire every hold past its time: every 10 s and at start-up (catches any missed expiry), and delayed to each second
   * that holds placed by the group commit fall due in (`holds.sweep-at-<epoch second>`: one job per second, not per hold).
   */
  'holds.sweep': Record<string, never>;
  /** A falling listing's price steps down: push the new price, schedule the next step. */
  'listing.price-step': { listingId: string; at: string };
  /** Move pending outbox rows into their queues (every second; also right after each commit). */
  'outbox.drain': Record<string, never>;
  /** Close an auction at its closing time (a run before the close — the soft close moved it — schedules the next one at the close as it stands). */
  'auction.close': { listingId: string };
  /** Close every auction past its time (start-up and every 15 s): catches a missed close job. */
  'auctions.sweep': Record<string, never>;
  /**
   * Post a booking's ledger transfers and its invoice, exactly once. What services write to the outbox; the drain
   * carries pending ones together as `bookings.settle` (see SETTLE_BATCH), this name is run for jobs enqueued singly.
   */
  'booking.settle': { bookingId: string };
  /** Settle many bookings, each exactly once (the outbox drain's batch of `booking.settle` rows). */
  'bookings.settle': { bookingIds: string[] };
  /** Post the balancing transfers of a cancelled booking (refund minus fee), exactly once. */
  'booking.refund': { bookingId: string };
  /** Settle / refund every booking whose job was lost or is stuck on a dead worker (start-up and every 30 s). */
  'settlement.sweep': Record<string, never>;
  /** Delete idempotency keys older than 24 h in bounded batches (start-up and every 15 min). Idempotent. */
  'idempotency.purge': Record<string, never>;
  /** Fold the pending corridor × day statistics deltas into their rollup (every 2 s). Idempotent. */
  'stats.fold': Record<string, never>;
  /** Run one optimisation of the pool (issue 13). Idempotent: a run of one already done or failed does nothing. */
  'pool.optimise': { optimisationId: string };
  /** Ask for an optimisation (every 15 min, and 30 s after pool changes, debounced); none while one is pending. */
  'pool.schedule': { trigger: 'schedule' | 'pool' };
  /** One attempt of a webhook delivery (issue 15). Idempotent: a delivery done, not due, held back by ordering or leased elsewhere is left alone. */
  'webhook.deliver': { deliveryId: string; gen: number };
  /** Re-send deliveries whose job was lost or whose worker died (start-up and every WEBHOOK_SWEEP_MS). */
  'webhooks.sweep': Record<string, never>;
  /** An offer's window ran out: expire it and offer the lot to the next in line (issue 14). Idempotent: an offer no longer open is left alone. */
  'offer.expire': { offerId: string };
  /** Expire every open offer past its time (start-up and every 5 s): catches a lost or early expiry job. */
  'offers.sweep': Record<string, never>;
  /** Tell matching watches of capacity that appeared on a departure (a new listing, a price step, capacity freed). Idempotent: each match is told once. */
  'watches.match': { departureId: string; listingId?: string; trigger: 'listing' | 'price' | 'freed' };
  /** First refusal on a rail alternative for a booking a derating moved (issue 14). Idempotent: once per moved booking. */
  'derating.relocate': { bookingId: string };
}
export type JobName = keyof JobDataMap;

export const JOB_QUEUES: Record<JobName, QueueName> = {
  'timetable.roll': 'maintenance',
  'hold.expire': 'holds',
  'holds.sweep': 'holds',
  'listing.price-step': 'holds',
  'outbox.drain': 'maintenance',
  'auction.close': 'auctions',
  'auctions.sweep': 'auctions',
  'booking.settle': 'settlement',
  'bookings.settle': 'settlement',
  'booking.refund': 'settlement',
  'settlement.sweep': 'settlement',
  'idempotency.purge': 'maintenance',
  'stats.fold': 'maintenance',
  'pool.optimise': 'optimise',
  'pool.schedule': 'maintenance',
  'webhook.deliver': 'webhooks',
  'webhooks.sweep': 'webhooks',
  'offer.expire': 'holds',
  'offers.sweep': 'holds',
  'watches.match': 'maintenance',
  'derating.relocate': 'holds',
};
export type QueueName = 'maintenance' | 'holds' | 'auctions' | 'settlement' | 'optimise' | 'webhooks';
export const QUEUE_NAMES: QueueName[] = ['maintenance', 'holds', 'auctions', 'settlement', 'optimise', 'webhooks'];
/**
 * Jobs each worker process runs at once per queue. Settlement jobs mostly wait for the shared
 * transaction of their batch (LedgerService.settleQueued), so many in flight make large batches.
 */
export const QUEUE_CONCURRENCY: Record<QueueName, number> = { maintenance: 4, holds: 8, auctions: 8, settlement: 1000, optimise: 1, webhooks: 32 };

/**
 * Most bookings one `bookings.settle` job carries. Settling costs Postgres work per booking but BullMQ work per job
 * (two Lua scripts, a job hash kept after completion): one job per booking made the queue, not the ledger, half the
 * cost of a settlement. The bookings of a job still go through the worker's group-commit lanes, one by one.
 */
export const SETTLE_BATCH = 250;

export const DEFAULT_JOB_OPTS: JobsOptions = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
};

export class Queues {
  private readonly queues = new Map<QueueName, Queue>();
  constructor(private readonly connection: Redis, private readonly prefix: string) {}

  get(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: `${this.prefix}bull` });
      // a Queue re-emits its connection's errors; with no listener an 'error' event would crash the process (a queue
      // first used while Redis is down). The callers see the failure anyway: their add / remove rejects (fail fast).
      q.on('error', () => {});
      this.queues.set(name, q);
    }
    return q;
  }

  /** Enqueues `name` with a job id derived from its business key (BullMQ forbids `:` in custom ids). */
  async add<N extends JobName>(name: N, data: JobDataMap[N], opts: JobsOptions & { jobId: string }) {
    return this.get(JOB_QUEUES[name]).add(name, data, { ...DEFAULT_JOB_OPTS, ...opts });
  }

  /** Enqueues many jobs with one round trip per queue (BullMQ addBulk); ids as in `add`. */
  async addBulk(items: { name: JobName; data: unknown; opts: JobsOptions & { jobId: string } }[]) {
    const byQueue = new Map<QueueName, { name: string; data: unknown; opts: JobsOptions }[]>();
    for (const it of items) {
      const q = JOB_QUEUES[it.name];
      const list = byQueue.get(q) ?? [];
      list.push({ name: it.name, data: it.data, opts: { ...DEFAULT_JOB_OPTS, ...it.opts } });
      byQueue.set(q, list);
    }
    await Promise.all([...byQueue].map(([q, list]) => this.get(q).addBulk(list)));
  }

  /** Removes a job that is no longer needed (e.g. the expiry of a confirmed hold); absent is fine. */
  async remove(name: JobName, jobId: string) {
    await this.get(JOB_QUEUES[name]).remove(jobId);
  }

  async close() {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
