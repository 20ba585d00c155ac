import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainOutbox } from '../../server/adapters/db/outbox.ts';
import type { Queues } from '../../server/adapters/queue/jobs.ts';
import type { App } from '../../server/http/app.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { buildApp } from '../helpers/http.ts';

/** Settlement batch jobs (outbox → bookings.settle), attacked: a crash mid-drain, a bad booking in a job, reused outbox ids (an intruder review). */
describe('bookings.settle batch jobs under attack', () => {
  let env: TestEnv;
  let built: App;
  let dep: Awaited<ReturnType<typeof createDepartureWithListing>>;
  let fwd: string;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    dep = await createDepartureWithListing(env.db, { capacityTeu: 4000, capacityTonnes: 40000, listedTeu: 3000, unitPriceCents: 10_000 });
    await env.db.updateTable('departures').set({ booked_teu: 1000, booked_tonnes: 10000 }).where('id', '=', dep.departureId).execute();
    fwd = (await env.db.selectFrom('organisations').select('id').where('kind', '=', 'forwarder').orderBy('slug').executeTakeFirstOrThrow()).id;
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  /** n confirmed bookings with their outbox rows, as confirm() writes them. */
  async function confirmed(n: number): Promise<string[]> {
    return env.db.transaction().execute(async (tx) => {
      const rows = await tx
        .insertInto('bookings')
        .values(Array.from({ length: n }, () => ({ departure_id: dep.departureId, listing_id: dep.listingId, forwarder_org_id: fwd, teu: 1, tonnes: 10, unit_price_cents: 10_000, total_cents: 10_000 })))
        .returning('id')
        .execute();
      await tx.insertInto('outbox').values(rows.map((b) => ({ job_name: 'booking.settle', job_id: `booking.settle-${b.id}`, data: JSON.stringify({ bookingId: b.id }) }))).execute();
      return rows.map((r) => r.id);
    });
  }

  async function batchJobs() {
    return (await built.ctx.queues.get('settlement').getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'])).filter((j) => j.name === 'bookings.settle');
  }

  it('a drain that dies between addBulk and marking its rows, then a re-drain with more rows pending → overlapping jobs; every job run at once → each booking settled exactly once, numbers gapless', async () => {
    const real = built.ctx.queues;
    const first = await confirmed(300);
    // the drain "crashes" after BullMQ took every job: each addBulk adds, then throws → the drain's transaction rolls back
    const dying = { addBulk: async (items: Parameters<Queues['addBulk']>[0]) => { await real.addBulk(items); throw new Error('connection lost after add'); } } as unknown as Queues;
    await expect(drainOutbox(env.db, dying)).rejects.toThrow(/connection lost/);
    const pending = await env.db.selectFrom('outbox').select(sql<number>`count(*)::int`.as('n')).where('enqueued_at', 'is', null).executeTakeFirstOrThrow();
    expect(pending.n).toBeGreaterThanOrEqual(300);
    const second = await confirmed(100);
    let drained = 0;
    for (let n = -1; n !== 0; drained += n) n = await drainOutbox(env.db, real);
    const all = new Set([...first, ...second]);
    const jobs = (await batchJobs()).filter((j) => (j.data.bookingIds as string[]).some((id) => all.has(id)));
    const carried = jobs.flatMap((j) => j.data.bookingIds as string[]);
    expect(new Set(carried)).toEqual(all); // nothing lost
    expect(carried.length).toBeGreaterThan(all.size); // overlapping jobs (the re-drain could not reproduce the first ids)

    const runs = await Promise.all(jobs.map((j) => built.ctx.services.ledger.settleQueuedMany(j.data.bookingIds)));
    expect(runs.reduce((a, r) => a + r.settled, 0)).toBe(all.size);
    const charges = await env.db.selectFrom('ledger_transactions').select('booking_id').where('booking_id', 'in', [...all]).where('kind', '=', 'charge').execute();
    expect(charges).toHaveLength(all.size);
    expect(new Set(charges.map((c) => c.booking_id)).size).toBe(all.size);
    const v = await verifyLedger(env.db);
    expect(v.ok, JSON.stringify(v.checks, null, 2)).toBe(true);
  });

  it('one bad booking id in a job (not a uuid / not existing) does not stop the others; the job fails and its retry finds them done', async () => {
    const good = await confirmed(40);
    const ledger = built.ctx.services.ledger;
    const ids = [...good.slice(0, 20), 'not-a-uuid', '00000000-0000-4000-8000-000000000000', ...good.slice(20)];
    const r1 = await ledger.settleQueuedMany(ids).then((r) => ({ ok: r }), (e: Error) => ({ err: e.message }));
    expect(r1).toHaveProperty('err');
    const settled = await env.db.selectFrom('bookings').select('id').where('id', 'in', good).where('status', '=', 'settled').execute();
    expect(settled).toHaveLength(40);
    // the retry fails again on the malformed id alone; the others are found done, nothing is charged twice
    const r2 = await ledger.settleQueuedMany(ids).then((r) => ({ ok: r }), (e: Error) => ({ err: e.message }));
    expect(r2).toEqual({ err: expect.stringMatching(/^1 of 42 bookings not settled/) });
    const charges = await env.db.selectFrom('ledger_transactions').select('booking_id').where('booking_id', 'in', good).where('kind', '=', 'charge').execute();
    expect(charges).toHaveLength(40);
  });

  it('outbox ids reused (database restored / outbox sequence reset while Redis keeps its jobs): a batch of other bookings still gets a job of its own', async () => {
    for (let n = -1; n !== 0; ) n = await drainOutbox(env.db, built.ctx.queues); // what earlier tests left
    const a = await confirmed(3);
    // drain just these (nothing else is pending now)
    await drainOutbox(env.db, built.ctx.queues);
    const rows = await env.db.selectFrom('outbox').select('id').where(sql`data->>'bookingId'`, 'in', a).orderBy('id').execute();
    expect((await batchJobs()).filter((j) => (j.data.bookingIds as string[]).includes(a[0]!))).toHaveLength(1);
    // what a restore of an earlier backup does to this table: the rows and the sequence go back
    await sql`delete from outbox where id >= ${rows[0]!.id}`.execute(env.db);
    await sql`select setval('outbox_id_seq', ${rows[0]!.id - 1})`.execute(env.db);
    const b = await confirmed(3);
    expect(await drainOutbox(env.db, built.ctx.queues)).toBe(3);
    const jobAfter = (await batchJobs()).filter((j) => (j.data.bookingIds as string[]).some((id) => b.includes(id)));
    // settle the old job so the ledger check at the end is satisfied
    await built.ctx.services.ledger.settleQueuedMany([...a, ...b]);
    expect(jobAfter, 'the new bookings were marked enqueued but no job carries them').toHaveLength(1);
  });
});
