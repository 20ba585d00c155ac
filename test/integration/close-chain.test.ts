import { Worker } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { kickOutbox } from '../../server/adapters/db/outbox.ts';
import type { Db } from '../../server/adapters/db/db.ts';
import { createRedis, type Redis } from '../../server/adapters/redis/redis.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createAscendingAuction } from '../helpers/fixtures.ts';
import { buildApp } from '../helpers/http.ts';
import { waitUntil } from '../helpers/procs.ts';

// The close job follows the soft close: an extension schedules no job; a close job that runs early schedules the next
// one at the close as it stands (an id naming its own run, a delay on the database clock). Found by an intruder review:
// with the app's clock ahead of Postgres', a follow-up that re-used its own id left no job at all (only the 15 s sweep).
// These tests run the chain with an in-process BullMQ worker and no sweep.

/** An ascending auction closing `closesInMs` from now on the database clock, with the close job its creation schedules. */
async function createAuction(db: Db, closesInMs: number) {
  const { listingId: id } = await createAscendingAuction(db, { teu: 10, reservePriceCents: 20_000 });
  const l = await db
    .updateTable('listings')
    .set({ closes_at: sql<Date>`date_trunc('milliseconds', now()) + ${`${closesInMs} milliseconds`}::interval` })
    .where('id', '=', id)
    .returning('closes_at')
    .executeTakeFirstOrThrow();
  // what ListingsService.insertPromised writes at creation
  await db.insertInto('outbox')
    .values({ job_name: 'auction.close', job_id: `auction.close-${id}-${l.closes_at!.getTime()}`, data: JSON.stringify({ listingId: id }), run_at: l.closes_at! })
    .execute();
  return { id, closesAt: l.closes_at! };
}

describe('the close-job chain', () => {
  let env: TestEnv;
  let built: App;
  let bull: Redis;
  let worker: Worker;
  const runs: { id: string; reason: string }[] = [];

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { softCloseWindowMs: 1000, softCloseExtendMs: 1000 } });
    built = await buildApp(env.cfg);
    bull = createRedis(env.cfg.redisUrl, { forBullmq: true });
    // the worker's `auctions` queue, close jobs only (no sweep: what the job chain alone does)
    worker = new Worker('auctions', async (job) => {
      if (job.name !== 'auction.close') return null;
      const r = await built.ctx.services.auctions.close(job.data.listingId);
      runs.push({ id: job.id!, reason: r.done ? 'closed' : (r as { reason: string }).reason });
      return r;
    }, { connection: bull, prefix: `${env.cfg.redisPrefix}bull`, concurrency: 4 });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await worker.close();
    bull.disconnect();
    await built.app.close();
    await env.cleanup();
  });

  const status = async (id: string) => (await env.db.selectFrom('listings').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  it('control: clocks agree, one extension: the chain closes the auction by job', async () => {
    const a = await createAuction(env.db, 1500);
    kickOutbox(built.ctx.db, built.ctx.queues);
    // an extension as recordBidding writes it
    await sql`update listings set closes_at = closes_at + interval '700 milliseconds' where id = ${a.id}`.execute(env.db);
    await waitUntil(async () => (await status(a.id)) === 'closed', 'closed by the job chain', 60, 100);
    // the worker records its run after the close transaction commits: wait for that record, not just the row
    await waitUntil(async () => runs.some((r) => r.id.includes(a.id) && r.reason === 'closed'), 'the closing run recorded', 50, 20);
    expect(runs.filter((r) => r.id.includes(a.id)).map((r) => r.reason)).toEqual(['not_yet', 'closed']);
  });

  it('app clock 300 ms ahead of Postgres: the job still closes the auction (delays on the database clock)', async () => {
    const real = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => real() + 300);
    const a = await createAuction(env.db, 1500);
    kickOutbox(built.ctx.db, built.ctx.queues);
    // an extension while the app's clock runs ahead: the job at the first close is early, its follow-up is not
    await sql`update listings set closes_at = closes_at + interval '700 milliseconds' where id = ${a.id}`.execute(env.db);
    await waitUntil(async () => (await status(a.id)) === 'closed', 'closed by the job chain', 100, 100);
    await waitUntil(async () => runs.some((r) => r.id.includes(a.id) && r.reason === 'closed'), 'the closing run recorded', 50, 20);
    expect(runs.filter((r) => r.id.includes(a.id)).map((r) => r.reason).at(-1)).toBe('closed');
  });
});
