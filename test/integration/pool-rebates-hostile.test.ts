import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessSolver } from '../../server/adapters/solver/highs.ts';
import type { App } from '../../server/http/app.ts';
import { dueRebates } from '../../server/adapters/db/rebates-repo.ts';
import type { PoolRebates } from '../../server/services/ledger/rebates.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * Intruder review of the pool-share payout (commit 78a08bb): a proposal whose itinerary was cancelled is never paid,
 * and never leaves the sweep's due list either (no ledger key is ever written for it) — the sweep takes the oldest
 * `limit` due proposals, so once `limit` of them have piled up, no later share is paid any more.
 * The sweep's limit (200 in production) is lowered to 1 here to show it with two proposals.
 */

const H = 3_600_000;
const solver = inProcessSolver();

describe('pool shares, attacked', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let sched: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000, holdMaxSharePct: 100 } });
    built = await buildApp(env.cfg);
    [f1, sched] = (await Promise.all(['forwarder1', 'scheduler'].map((u) => signIn(built.app, `${u}@demo.test`)))) as [Session, Session];
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  /** As pool-rebates.test.ts: n shipments pooled, planned and accepted in order, each given a share to pay. */
  async function accepted(n: number) {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const ready = Date.now() + (6 + i) * H;
      const r = await as(built.app, f1)({
        method: 'POST', url: '/api/shipments',
        payload: { from: 'DEDUI', to: 'ITBLQ', teu: 2, tonnes: 30, readyAt: new Date(ready).toISOString(), deliverBy: new Date(ready + 6 * 24 * H).toISOString(), maxTotalCents: 5_000_000 },
      });
      expect(r.statusCode, r.body).toBe(201);
      ids.push(r.json().id);
    }
    const run = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
    expect((await built.ctx.services.optimiser.run(run.json().id, solver)).status).toBe('done');
    const props = ((await as(built.app, f1)({ method: 'GET', url: '/api/proposals' })).json() as { id: string; shipmentId: string; status: string }[]).filter(
      (p) => ids.includes(p.shipmentId) && p.status === 'open',
    );
    expect(props).toHaveLength(n);
    const out: { id: string; itineraryId: string; cutoff: Date }[] = [];
    for (const p of props) {
      const a = await as(built.app, f1)({ method: 'POST', url: `/api/proposals/${p.id}/accept`, payload: {} });
      expect(a.statusCode, a.body).toBe(200);
      await env.db.updateTable('proposals').set({ share_cents: 12_345 }).where('id', '=', p.id).execute();
      const legs = await env.db
        .selectFrom('bookings as b')
        .innerJoin('departures as d', 'd.id', 'b.departure_id')
        .select(['d.cutoff_at'])
        .where('b.itinerary_id', '=', a.json().itineraryId)
        .orderBy('d.cutoff_at')
        .execute();
      out.push({ id: p.id, itineraryId: a.json().itineraryId, cutoff: legs[0]!.cutoff_at });
    }
    return out;
  }

  it('a share forfeited by a cancelled itinerary does not block the sweep from paying the shares due after it', async () => {
    const [p, q] = await accepted(2);
    // p (decided first) is cancelled: its share is forfeited, and it stays "due" for ever
    const c = await as(built.app, f1)({ method: 'DELETE', url: `/api/itineraries/${p!.itineraryId}` });
    expect(c.statusCode, c.body).toBe(200);
    const after = new Date(Math.max(p!.cutoff.getTime(), q!.cutoff.getTime()) + H);
    const rebates = (built.ctx.services.ledger as unknown as { rebates: PoolRebates }).rebates;
    expect(await rebates.pay(p!.id, after)).toEqual({ proposalId: p!.id, skipped: 'leg_cancelled' });
    // a forfeited share is never due again, so it cannot hold the sweep's only place (limit 1 here)
    expect(await dueRebates(env.db, after, 10)).not.toContain(p!.id);
    for (let i = 0; i < 3; i++) await rebates.sweep(after, 1);
    const paid = await env.db.selectFrom('ledger_transactions').select('idempotency_key').where('kind', '=', 'pool_rebate').execute();
    expect(paid.map((t) => t.idempotency_key), 'q is due and payable').toContain(`proposal:${q!.id}:rebate`);
  });
});
