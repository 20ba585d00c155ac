import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type WorkerRuntime } from '../../workers/runtime.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { startPrivateRedis, waitUntil } from '../helpers/procs.ts';

/**
 * Redis can lose its data (FLUSHALL, a restart without its files, a failover to an empty replica). Then
 * the repeating sweeps are gone with it; everything in Redis must be rebuilt from Postgres. Found by the
 * issue 9 review: an auction past its close stayed open until a worker restarted.
 */
describe('Redis loses its data under a running worker', () => {
  let env: TestEnv;
  let redis: { url: string; stop(): Promise<void> };
  let worker: WorkerRuntime;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    env = await createTestEnv({ cfg: { redisUrl: redis.url, scheduleReassertMs: 300 } });
    worker = await startWorkers(env.cfg, { info: () => {}, error: () => {} });
  });
  afterAll(async () => {
    await worker?.close(5000);
    await env?.cleanup();
    await redis?.stop();
  });

  it('re-creates the repeating jobs and closes an overdue auction whose close job was lost', async () => {
    await waitUntil(async () => !!(await worker.queues.get('auctions').getJobScheduler('auctions-sweep')), 'the auctions sweep to be scheduled');
    await env.redis.flushall();
    // an auction that is already past its close and whose close job no longer exists anywhere
    const op = await env.db.selectFrom('organisations').select('id').where('kind', '=', 'operator').orderBy('slug').executeTakeFirstOrThrow();
    const corridor = await env.db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
    const cutoff = new Date(Date.now() + 2 * 86_400_000);
    const d = await env.db
      .insertInto('departures')
      .values({ corridor_id: corridor.id, operator_org_id: op.id, asset_name: 'Lost Close Shuttle', departs_at: new Date(cutoff.getTime() + 3_600_000), arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: 10, capacity_tonnes: 200 })
      .returning('id')
      .executeTakeFirstOrThrow();
    const l = await env.db
      .insertInto('listings')
      .values({ departure_id: d.id, format: 'sealed', teu: 4, remaining_teu: 4, reserve_price_cents: 1000, min_increment_cents: 100, opens_at: new Date(Date.now() - 60_000), closes_at: new Date(Date.now() - 1000), max_close_at: cutoff })
      .returning('id')
      .executeTakeFirstOrThrow();
    await waitUntil(async () => (await env.db.selectFrom('listings').select('status').where('id', '=', l.id).executeTakeFirstOrThrow()).status === 'closed', 'the overdue auction to close', 200, 100);
    expect(await worker.queues.get('auctions').getJobScheduler('auctions-sweep')).toBeTruthy();
    expect(await worker.queues.get('settlement').getJobScheduler('settlement-sweep')).toBeTruthy();
  });
});
