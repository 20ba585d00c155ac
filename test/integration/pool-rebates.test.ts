import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessSolver } from '../../server/adapters/solver/highs.ts';
import type { App } from '../../server/http/app.ts';
import { dueRebates } from '../../server/adapters/db/rebates-repo.ts';
import type { PoolRebates } from '../../server/services/ledger/rebates.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 13 — a pooled forwarder's share of the pool's saving is paid, not only shown: when the first leg's cut-off has
 * passed, the legs' operators pay it back (ledger transfer + credit note), exactly once; nothing when a leg was
 * cancelled; the ledger verifier checks every payout against its proposal.
 */

const H = 3_600_000;
const solver = inProcessSolver();

describe('pool shares: paid when due, once, by the legs\' operators', () => {
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

  /** Two shipments pooled, planned and accepted; their proposals (id, share) and the first leg's cut-off of each. */
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
      // the share this plan gave may be 0 (a plan that saves nothing shares nothing): give it one to pay
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

  it('not before the first cut-off; then once, operators → forwarder with a credit note; never when its itinerary was cancelled', async () => {
    const [p, q] = await accepted(2);
    const ledger = built.ctx.services.ledger;
    expect(await ledger.payRebate(p!.id, new Date(p!.cutoff.getTime() - H))).toEqual({ proposalId: p!.id, skipped: 'not_due' });

    // q: its itinerary cancelled before the cut-off forfeits the share
    const c = await as(built.app, f1)({ method: 'DELETE', url: `/api/itineraries/${q!.itineraryId}` });
    expect(c.statusCode, c.body).toBe(200);

    const after = new Date(Math.max(p!.cutoff.getTime(), q!.cutoff.getTime()) + H);
    const swept = await ledger.payDueRebates(after);
    expect(swept.paid).toBeGreaterThanOrEqual(1);
    expect(await ledger.payRebate(q!.id, after)).toEqual({ proposalId: q!.id, skipped: 'leg_cancelled' });
    expect(await ledger.payRebate(p!.id, after)).toEqual({ proposalId: p!.id, already: true });

    const tx = await env.db
      .selectFrom('ledger_transactions as t')
      .innerJoin('ledger_entries as e', 'e.transaction_id', 't.id')
      .innerJoin('ledger_accounts as a', 'a.id', 'e.account_id')
      .select(['t.idempotency_key', 'e.direction', 'e.amount_cents', 'a.kind'])
      .where('t.kind', '=', 'pool_rebate')
      .where('t.idempotency_key', 'in', [`proposal:${p!.id}:rebate`, `proposal:${q!.id}:rebate`])
      .execute();
    expect(tx.every((t) => t.idempotency_key === `proposal:${p!.id}:rebate`)).toBe(true);
    expect(tx.filter((t) => t.direction === 'credit')).toEqual([{ idempotency_key: `proposal:${p!.id}:rebate`, direction: 'credit', amount_cents: 12_345, kind: 'forwarder_payable' }]);
    expect(tx.filter((t) => t.direction === 'debit').every((t) => t.kind === 'operator_receivable')).toBe(true);
    // the forwarder sees the transfer and a credit note
    const transfers = (await as(built.app, f1)({ method: 'GET', url: '/api/ledger/transfers' })).json() as { kind: string; amountCents: number }[];
    expect(transfers.some((t) => t.kind === 'pool_rebate' && t.amountCents === 12_345)).toBe(true);
    const notes = await env.db.selectFrom('invoice_lines').select(['booking_id', 'amount_cents']).where('description', 'like', `Pool share of proposal ${p!.id}%`).execute();
    expect(notes.reduce((s, l) => s + Number(l.amount_cents), 0)).toBe(12_345);
    expect(notes.every((l) => l.booking_id === null)).toBe(true);

    const v = await verifyLedger(env.db);
    expect(v.checks.pool_shares_match).toMatchObject({ ok: true, checked: 1 });
    expect(v.ok, JSON.stringify(v.checks)).toBe(true);
    // the verifier fails a payout above its proposal's share
    await env.db.updateTable('proposals').set({ share_cents: 100 }).where('id', '=', p!.id).execute();
    expect((await verifyLedger(env.db)).checks.pool_shares_match!.ok).toBe(false);
    await env.db.updateTable('proposals').set({ share_cents: 12_345 }).where('id', '=', p!.id).execute();
  });

  // found by an intruder review: a forfeited share stayed "due" for ever and, oldest first, clogged the sweep's limit
  it('a share forfeited by a cancelled itinerary does not block the sweep from paying the shares due after it', async () => {
    const [p, q] = await accepted(2);
    // p (decided first) is cancelled: its share is forfeited
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
