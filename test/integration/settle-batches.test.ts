import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainOutbox } from '../../server/adapters/db/outbox.ts';
import { SETTLE_BATCH } from '../../server/adapters/queue/jobs.ts';
import type { App } from '../../server/http/app.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { buildApp } from '../helpers/http.ts';

// Settlement jobs carry many bookings (issue 16): the outbox drain turns pending booking.settle rows into
// bookings.settle jobs of up to SETTLE_BATCH bookings; each booking is still settled exactly once, numbers gapless.
describe('settlement in batch jobs', () => {
  let env: TestEnv;
  let built: App;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  it('600 confirmed bookings of two issuers → three jobs (250, 250, 100); every job run, one of them twice at once → each booking settled once, numbers gapless', async () => {
    const { db } = env;
    const ops = await db.selectFrom('organisations').select('id').where('kind', '=', 'operator').orderBy('slug').limit(2).execute();
    const fwd = await db.selectFrom('organisations').select('id').where('kind', '=', 'forwarder').orderBy('slug').executeTakeFirstOrThrow();
    const deps: Awaited<ReturnType<typeof createDepartureWithListing>>[] = [];
    for (const op of ops) {
      const d = await createDepartureWithListing(db, { capacityTeu: 400, capacityTonnes: 4000, listedTeu: 300, unitPriceCents: 10_000 });
      await db.updateTable('departures').set({ operator_org_id: op.id, booked_teu: 300, booked_tonnes: 3000 }).where('id', '=', d.departureId).execute();
      deps.push(d);
    }
    const before = new Map((await db.selectFrom('invoice_counters').selectAll().execute()).map((c) => [c.issuer_org_id, c.last_number]));
    // confirmed bookings with their outbox rows, as confirm() writes them (alternating issuers)
    const ids = await db.transaction().execute(async (tx) => {
      const rows = await tx
        .insertInto('bookings')
        .values(Array.from({ length: 600 }, (_, i) => ({
          departure_id: deps[i % 2]!.departureId, listing_id: deps[i % 2]!.listingId, forwarder_org_id: fwd.id, teu: 1, tonnes: 10, unit_price_cents: 10_000, total_cents: 10_000,
        })))
        .returning('id')
        .execute();
      await tx.insertInto('outbox').values(rows.map((b) => ({ job_name: 'booking.settle', job_id: `booking.settle-${b.id}`, data: JSON.stringify({ bookingId: b.id }) }))).execute();
      return rows.map((r) => r.id);
    });

    let drained = 0;
    for (let n = -1; n !== 0; drained += n) n = await drainOutbox(db, built.ctx.queues);
    expect(drained).toBe(600);
    const mine = new Set(ids);
    const jobs = (await built.ctx.queues.get('settlement').getJobs(['waiting', 'prioritized', 'delayed']))
      .filter((j) => j.name === 'bookings.settle' && (j.data.bookingIds as string[]).every((id) => mine.has(id)));
    expect(jobs.map((j) => j.data.bookingIds.length).sort((a: number, b: number) => a - b)).toEqual([100, SETTLE_BATCH, SETTLE_BATCH]);
    expect(new Set(jobs.flatMap((j) => j.data.bookingIds as string[]))).toEqual(mine); // every booking in exactly one job
    expect(jobs.flatMap((j) => j.data.bookingIds)).toHaveLength(600);

    // what the worker's handler calls, for every job, the first one twice at the same time (a retried or duplicate job)
    const ledger = built.ctx.services.ledger;
    const runs = await Promise.all([...jobs, jobs[0]!].map((j) => ledger.settleQueuedMany(j.data.bookingIds)));
    expect(runs.reduce((a, r) => a + r.settled, 0)).toBe(600);
    expect(runs.reduce((a, r) => a + r.already, 0)).toBe(jobs[0]!.data.bookingIds.length);

    const settled = await db.selectFrom('bookings').select('id').where('id', 'in', ids).where('status', '=', 'settled').execute();
    expect(settled).toHaveLength(600);
    const charges = await db.selectFrom('ledger_transactions').select('booking_id').where('booking_id', 'in', ids).where('kind', '=', 'charge').execute();
    expect(charges).toHaveLength(600);
    for (const op of ops) {
      const seqs = (await db.selectFrom('invoices as i').innerJoin('invoice_lines as l', 'l.invoice_id', 'i.id').select('i.seq')
        .where('i.issuer_org_id', '=', op.id).where('l.booking_id', 'in', ids).orderBy('i.seq').execute()).map((r) => r.seq);
      const from = (before.get(op.id) ?? 0) + 1;
      expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => from + i));
    }
    const v = await verifyLedger(db);
    expect(v.ok, JSON.stringify(v.checks, null, 2)).toBe(true);
  });
});
