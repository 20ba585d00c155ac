import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn } from '../helpers/http.ts';
import { startWorker, waitUntil, type Proc } from '../helpers/procs.ts';

/**
 * Invariant 3 under a crash: a worker SIGKILLed in the middle of a settlement transaction leaves nothing
 * behind, and a fresh worker settles the booking exactly once (BullMQ stalled-job recovery, or sooner the
 * settlement sweep at its start-up).
 */
describe('settlement survives a worker killed half way', () => {
  let env: TestEnv;
  let built: App;
  const workers: Proc[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
  });
  afterAll(async () => {
    for (const w of workers) await w.stop('SIGTERM').catch(() => {});
    await built?.app.close();
    await env?.cleanup();
  });

  it('SIGKILL inside the transaction → no ledger rows; a fresh worker posts exactly one set of entries', async () => {
    // test-only fault injection: this worker entry sleeps SETTLE_PAUSE_MS inside the transaction after the charge
    const paused = await startWorker(env.cfg, { SETTLE_PAUSE_MS: '5000' }, 'test/helpers/worker-with-settle-pause.ts');
    workers.push(paused);

    const f1 = await signIn(built.app, 'forwarder1@demo.test');
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, unitPriceCents: 40_000 });
    const hold = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 2, tonnes: 20 } });
    const booking = await as(built.app, f1)({ method: 'POST', url: `/api/holds/${hold.json().id}/confirm`, payload: {} });
    expect(booking.statusCode).toBe(201);
    const bookingId: string = booking.json().id;

    // the outbox → BullMQ → worker: wait until its transaction holds the charge entries, uncommitted
    const pid = await waitUntil(async () => {
      const r = await sql<{ pid: number }>`
        select pid from pg_stat_activity
         where datname = current_database() and state = 'idle in transaction' and query ~* '^\\s*insert into "?ledger_entries'`.execute(env.db);
      return r.rows[0]?.pid;
    }, 'the worker inside the settlement transaction', 400, 50);

    // tsx runs the worker in a child node process: SIGKILL that one (its pid is in the start-up line), then tsx
    const workerPid = Number(/worker (\d+) running queues/.exec(paused.output())?.[1]);
    expect(workerPid).toBeGreaterThan(0);
    process.kill(workerPid, 'SIGKILL');
    await paused.stop('SIGKILL');
    // Postgres sees the connection drop and rolls the transaction back
    await waitUntil(async () => {
      const r = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where pid = ${pid}`.execute(env.db);
      return r.rows[0]!.n === 0;
    }, 'the killed backend to end', 200, 50);
    const count = async (table: 'ledger_transactions' | 'invoice_lines') =>
      (await env.db.selectFrom(table).select(sql<number>`count(*)::int`.as('n')).where('booking_id', '=', bookingId).executeTakeFirstOrThrow()).n;
    expect(await count('ledger_transactions')).toBe(0);
    expect(await count('invoice_lines')).toBe(0);
    const entries = await env.db.selectFrom('ledger_entries').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    expect(entries.n).toBe(0);
    expect((await env.db.selectFrom('bookings').select('status').where('id', '=', bookingId).executeTakeFirstOrThrow()).status).toBe('confirmed');

    // a fresh worker (no pause) finishes the job
    const fresh = await startWorker(env.cfg);
    workers.push(fresh);
    await waitUntil(
      async () => (await env.db.selectFrom('bookings').select('status').where('id', '=', bookingId).executeTakeFirstOrThrow()).status === 'settled',
      'the booking to be settled by the fresh worker',
      300,
      100,
    );
    const txs = await env.db.selectFrom('ledger_transactions').select(['kind', 'id']).where('booking_id', '=', bookingId).execute();
    expect(txs.map((t) => t.kind).sort()).toEqual(['charge', 'release']);
    const all = await env.db.selectFrom('ledger_entries').select(['transaction_id', 'direction', 'amount_cents']).execute();
    expect(all).toHaveLength(5);
    expect(all.every((e) => txs.some((t) => t.id === e.transaction_id))).toBe(true);
    expect(await count('invoice_lines')).toBe(1);

    // a late duplicate (BullMQ re-running the stalled job, a sweep) changes nothing
    expect(await built.ctx.services.ledger.settleBooking(bookingId)).toMatchObject({ already: true, amountCents: 80_000 });
    expect(await env.db.selectFrom('ledger_entries').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).toEqual({ n: 5 });
    const v = await verifyLedger(env.db);
    expect(v.ok, JSON.stringify(v.checks, null, 2)).toBe(true);
  });
});
