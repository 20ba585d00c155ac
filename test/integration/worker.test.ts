import { Queue, type Job } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_QUEUES } from '../../server/adapters/queue/jobs.ts';
import { createRedis } from '../../server/adapters/redis/redis.ts';
import { rollDepartures } from '../../server/services/timetable.ts';
import { checkHandlers, handlers } from '../../workers/handlers.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';

const DAY = 86_400_000;
const quiet = { info: () => {}, error: (...a: unknown[]) => errors.push(a.map(String).join(' ')) };
const errors: string[] = [];

async function departureCount(env: TestEnv): Promise<number> {
  const r = await env.db.selectFrom('departures').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return r.n;
}

/** Future departures from a timetable service, with no holds and no bookings, inside the window. */
async function freeFutureDepartures(env: TestEnv, n: number) {
  const now = Date.now();
  return env.db
    .selectFrom('departures as d')
    .select(['d.id', 'd.service_id', 'd.departs_at'])
    .where('d.service_id', 'is not', null)
    .where('d.departs_at', '>', new Date(now + DAY))
    .where('d.departs_at', '<', new Date(now + 10 * DAY))
    .where('d.held_teu', '=', 0)
    .where('d.booked_teu', '=', 0)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('holds as h').select('h.id').whereRef('h.departure_id', '=', 'd.id'))))
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('bookings as b').select('b.id').whereRef('b.departure_id', '=', 'd.id'))))
    .orderBy('d.departs_at')
    .limit(n)
    .execute();
}

async function deleteDepartures(env: TestEnv, ids: string[]) {
  await env.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('listings').where('departure_id', 'in', ids).execute();
    await tx.deleteFrom('departures').where('id', 'in', ids).execute();
  });
}

describe('timetable roll (rollDepartures) against real Postgres', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(() => env?.cleanup());

  it('is idempotent: a second run with the same clock creates nothing and changes no table', async () => {
    const now = new Date();
    await rollDepartures(env.db, now, 14); // may top up a departure that entered the window since the template was seeded
    const before = await tableCounts(env.db);
    const second = await rollDepartures(env.db, now, 14);
    expect(second).toEqual({ created: 0, listings: 0 });
    expect(await tableCounts(env.db)).toEqual(before);
    expect(before.departures).toBeGreaterThan(100);
  });

  it('re-creates a missing departure of the window, with its fixed-price listing', async () => {
    const gone = await freeFutureDepartures(env, 3);
    expect(gone).toHaveLength(3);
    const count = await departureCount(env);
    await deleteDepartures(env, gone.map((d) => d.id));
    expect(await departureCount(env)).toBe(count - 3);

    const res = await rollDepartures(env.db, new Date(), 14);
    expect(res.created).toBeGreaterThanOrEqual(3);
    expect(res.listings).toBeGreaterThanOrEqual(3);
    expect(await departureCount(env)).toBe(count - 3 + res.created);
    for (const g of gone) {
      const back = await env.db
        .selectFrom('departures')
        .select(['id'])
        .where('service_id', '=', g.service_id)
        .where('departs_at', '=', g.departs_at)
        .executeTakeFirst();
      expect(back, `${g.service_id} ${g.departs_at.toISOString()}`).toBeDefined();
      expect(back!.id).not.toBe(g.id);
      const listings = await env.db.selectFrom('listings').select(['format', 'status']).where('departure_id', '=', back!.id).execute();
      expect(listings).toEqual([{ format: 'fixed', status: 'open' }]);
    }
    const audit = await env.db.selectFrom('audit_log').select(['action', 'data']).where('action', '=', 'timetable.roll').orderBy('id', 'desc').executeTakeFirst();
    expect(audit).toBeDefined();
  });

  it('leaves a departure that has bookings and held capacity untouched', async () => {
    const [d] = await freeFutureDepartures(env, 1);
    const listing = await env.db.selectFrom('listings').select(['id', 'unit_price_cents']).where('departure_id', '=', d!.id).executeTakeFirstOrThrow();
    const forwarder = await env.db.selectFrom('organisations').select('id').where('slug', '=', 'forwarder1').executeTakeFirstOrThrow();
    await env.db
      .insertInto('bookings')
      .values({
        departure_id: d!.id,
        listing_id: listing.id,
        forwarder_org_id: forwarder.id,
        teu: 2,
        tonnes: 30,
        unit_price_cents: Number(listing.unit_price_cents ?? 0),
        total_cents: 2 * Number(listing.unit_price_cents ?? 0),
      })
      .execute();
    await env.db
      .updateTable('departures')
      .set({ booked_teu: 2, booked_tonnes: 30, held_teu: 1, held_tonnes: 10, seq: sql`seq + 2` })
      .where('id', '=', d!.id)
      .execute();
    const depBefore = await env.db.selectFrom('departures').selectAll().where('id', '=', d!.id).executeTakeFirstOrThrow();
    const listingsBefore = await env.db.selectFrom('listings').selectAll().where('departure_id', '=', d!.id).execute();
    const bookingsBefore = await env.db.selectFrom('bookings').selectAll().where('departure_id', '=', d!.id).execute();

    await rollDepartures(env.db, new Date(), 14);

    expect(await env.db.selectFrom('departures').selectAll().where('id', '=', d!.id).executeTakeFirstOrThrow()).toEqual(depBefore);
    expect(await env.db.selectFrom('listings').selectAll().where('departure_id', '=', d!.id).execute()).toEqual(listingsBefore);
    expect(await env.db.selectFrom('bookings').selectAll().where('departure_id', '=', d!.id).execute()).toEqual(bookingsBefore);
    // exactly one departure per (service, time): the roll did not add a twin next to it
    const twins = await env.db.selectFrom('departures').select('id').where('service_id', '=', d!.service_id).where('departs_at', '=', d!.departs_at).execute();
    expect(twins).toHaveLength(1);
  });
});

describe('checkHandlers', () => {
  const fn = async () => undefined;

  it('accepts the real registry: one handler per job name', () => {
    expect(() => checkHandlers(Object.keys(JOB_QUEUES), handlers)).not.toThrow();
    expect(Object.keys(handlers).sort()).toEqual(Object.keys(JOB_QUEUES).sort());
  });

  it('throws on a missing handler', () => {
    expect(() => checkHandlers(['a', 'b'], { a: fn })).toThrow(/missing b/);
    expect(() => checkHandlers(['a'], { a: 'not a function' })).toThrow(/missing a/);
  });

  it('throws on an unknown handler', () => {
    expect(() => checkHandlers(['a'], { a: fn, stray: fn })).toThrow(/unknown stray/);
  });

  it('throws on a duplicate job name', () => {
    expect(() => checkHandlers(['a', 'a'], { a: fn })).toThrow(/duplicate a/);
  });
});

describe('startWorkers', () => {
  let env: TestEnv;
  let queue: Queue | undefined;
  let runtime: Awaited<ReturnType<typeof startWorkers>> | undefined;

  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await runtime?.close(5000).catch(() => {});
    await queue?.close();
    await env?.cleanup();
  });

  it('starts, runs the start-up timetable.roll job that refills the window, and closes', async () => {
    const gone = await freeFutureDepartures(env, 5);
    expect(gone).toHaveLength(5);
    await deleteDepartures(env, gone.map((d) => d.id));

    const conn = createRedis(env.cfg.redisUrl, { forBullmq: true, name: 'test-worker-probe' });
    queue = new Queue('maintenance', { connection: conn, prefix: `${env.cfg.redisPrefix}bull` });

    runtime = await startWorkers(env.cfg, quiet);

    // bounded wait for the completed start-up roll
    let done: Job | undefined;
    const deadline = Date.now() + 20_000;
    while (!done) {
      const completed = await queue.getJobs(['completed']);
      done = completed.find((j) => j.name === 'timetable.roll');
      if (done) break;
      const failed = (await queue.getJobs(['failed'])).filter((j) => j.name === 'timetable.roll');
      if (failed.length) throw new Error(`timetable.roll failed: ${failed[0]!.failedReason}`);
      if (Date.now() > deadline) throw new Error(`timetable.roll did not complete within 20 s; worker errors: ${errors.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(done.returnvalue.created).toBeGreaterThanOrEqual(5);
    for (const g of gone) {
      const back = await env.db.selectFrom('departures').select('id').where('service_id', '=', g.service_id).where('departs_at', '=', g.departs_at).executeTakeFirst();
      expect(back, `${g.service_id} ${g.departs_at.toISOString()}`).toBeDefined();
    }
    // the daily roll is scheduled as well
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers.map((s) => s.name)).toContain('timetable.roll');

    const r = runtime;
    runtime = undefined;
    await r.close(5000);
    expect(errors).toEqual([]);
  });
});
