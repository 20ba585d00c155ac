import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessSolver } from '../../server/adapters/solver/highs.ts';
import { contentKey } from '../../server/core/pooling/carry-over.ts';
import type { MipSolver } from '../../server/core/pooling/types.ts';
import type { App } from '../../server/http/app.ts';
import { LeaseBusy, OptimiserService } from '../../server/services/optimiser.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 13 — the optimiser and its proposals, against the real database: a run places the demo pool (the seed's
 * shipments plus one posted here) and proposes itineraries; the forwarder accepts (a booked itinerary) or finds
 * its proposal stale when the capacity was sold meanwhile (nothing booked); two runs racing the same
 * optimisation write one plan; a run that loses its lease, or whose solver fails, writes nothing.
 */

const DAY = 86_400_000;
const solver = inProcessSolver();

describe('the optimiser: plans, proposals, acceptance', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;
  let sched: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000, holdMaxSharePct: 100 } });
    built = await buildApp(env.cfg);
    [f1, f2, op1, sched] = (await Promise.all(['forwarder1', 'forwarder2', 'operator1', 'scheduler'].map((u) => signIn(built.app, `${u}@demo.test`)))) as Session[] as [
      Session, Session, Session, Session,
    ];
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const optimiser = () => built.ctx.services.optimiser;
  const counts = async () => {
    const { rows } = await sql<{ plans: number; proposals: number; itineraries: number; bookings: number }>`
      select (select count(*)::int from optimisations where plan_version is not null) as plans, (select count(*)::int from proposals) as proposals,
             (select count(*)::int from itineraries) as itineraries, (select count(*)::int from bookings) as bookings`.execute(env.db);
    return rows[0]!;
  };
  async function runNow(): Promise<string> {
    const r = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
    expect(r.statusCode, r.body).toBe(202);
    expect(r.json().status).toBe('queued');
    const out = await optimiser().run(r.json().id, solver);
    expect(out.status, JSON.stringify(out)).toBe('done');
    return r.json().id;
  }

  it('only schedulers run it; a forwarder pools a shipment, a run proposes itineraries with the solver figures beside greedy', async () => {
    for (const s of [f1, op1]) expect((await as(built.app, s)({ method: 'POST', url: '/api/optimisations', payload: {} })).statusCode).toBe(403);
    const ready = new Date(Date.now() + 6 * 3_600_000);
    const posted = await as(built.app, f1)({
      method: 'POST', url: '/api/shipments',
      payload: { from: 'DEDUI', to: 'ITBLQ', teu: 2, tonnes: 30, readyAt: ready.toISOString(), deliverBy: new Date(ready.getTime() + 6 * DAY).toISOString(), maxTotalCents: 5_000_000 },
    });
    expect(posted.statusCode, posted.body).toBe(201);

    const id = await runNow();
    const o = (await as(built.app, sched)({ method: 'GET', url: `/api/optimisations/${id}` })).json();
    expect(o.status).toBe('done');
    expect(o.planVersion).toBe(1);
    expect(o.requests).toBeGreaterThanOrEqual(1);
    expect(o.placed).toBeGreaterThanOrEqual(1);
    // the bound never exceeds the plan; the plan never costs more than greedy on the same objective
    expect(o.lowerBoundCents).toBeLessThanOrEqual(o.objectiveCents);
    expect(o.objectiveCents).toBeLessThanOrEqual(o.greedyObjectiveCents);
    expect(o.figures.violations).toEqual([]);
    expect(o.proposals.length).toBe(o.placed + o.departuresToCancel);
    // an operator reads the run with its own departures' proposals only
    const asOp = (await as(built.app, op1)({ method: 'GET', url: `/api/optimisations/${id}` })).json() as { proposals: { kind: string }[] };
    expect(asOp.proposals.every((x) => x.kind === 'departure')).toBe(true);
    // its part only: none of the network's figures (they are built from every operator's costs)
    expect(asOp).toMatchObject({ objectiveCents: null, lowerBoundCents: null, greedyObjectiveCents: null, figures: null, loadFactorAfter: null });
    expect(asOp.proposals.length).toBeLessThanOrEqual(o.departuresToCancel);
    // the dashboard's departures at risk link the departures proposed for cancellation to their proposal
    // with what each would do: a scheduler read "proposed for cancellation" beside proposals to merge
    const cancels = (o.proposals as { id: string; kind: string; departureId: string; action: string; mergeIntoDepartureId: string | null }[]).filter((x) => x.kind === 'departure');
    expect(cancels.length, 'the scenario proposes to cancel or merge a departure').toBeGreaterThan(0);
    {
      type Risk = { departureId: string; proposalId: string | null; proposalAction: string | null; proposalStatus: string | null; mergeInto: { departureId: string } | null };
      const risk = (await as(built.app, sched)({ method: 'GET', url: '/api/stats/at-risk?hours=72' })).json() as { rows: Risk[] };
      const linked = risk.rows.filter((r) => r.proposalId !== null);
      expect(linked.length).toBeGreaterThan(0);
      for (const r of linked) {
        const c = cancels.find((x) => x.id === r.proposalId);
        expect(c?.departureId).toBe(r.departureId);
        expect(r.proposalAction).toBe(c!.action);
        expect(r.proposalStatus).toBe('open');
        expect(r.mergeInto?.departureId ?? null).toBe(c!.mergeIntoDepartureId);
      }
      for (const r of risk.rows.filter((x) => x.proposalId === null)) expect([r.proposalAction, r.proposalStatus, r.mergeInto]).toEqual([null, null, null]);
    }

    const mine = (await as(built.app, f1)({ method: 'GET', url: '/api/proposals' })).json() as { shipmentId: string; status: string; priceCents: number; legs: unknown[] }[];
    const p = mine.find((x) => x.shipmentId === posted.json().id);
    expect(p, 'the posted shipment is proposed').toBeDefined();
    expect(p!.status).toBe('open');
    expect(p!.priceCents).toBeLessThanOrEqual(5_000_000);
    expect(p!.legs.length).toBeGreaterThanOrEqual(1);
    const ship = (await as(built.app, f1)({ method: 'GET', url: `/api/shipments/${posted.json().id}` })).json();
    expect(ship.status).toBe('proposed');
    // another forwarder neither sees nor accepts it
    const theirs = (await as(built.app, f2)({ method: 'GET', url: '/api/proposals' })).json() as { id: string }[];
    expect(theirs.some((x) => mine.some((m) => (m as unknown as { id: string }).id === x.id))).toBe(false);
    expect((await as(built.app, f2)({ method: 'POST', url: `/api/proposals/${(p as unknown as { id: string }).id}/accept`, payload: {} })).statusCode).toBe(404);
  });

  it('a plan that only repeats open proposals keeps them with their ids; only what changed is superseded and issued anew', async () => {
    const openRows = () => env.db.selectFrom('proposals').selectAll().where('status', '=', 'open').execute();
    const before = await openRows();
    expect(before.length, 'the first plan left open proposals').toBeGreaterThan(0);
    const r = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
    const id = r.json().id as string;
    const out = await optimiser().run(id, solver);
    if (out.status !== 'done') throw new Error(JSON.stringify(out));
    // nothing changed in the pool: the new plan repeats what was open (HiGHS is deterministic on the same model)
    expect(out.carriedOver, 'open proposals carried over').toBeGreaterThan(0);
    const o = (await as(built.app, sched)({ method: 'GET', url: `/api/optimisations/${id}` })).json() as { placed: number; departuresToCancel: number; proposals: { id: string; status: string }[] };
    // the plan lists all its proposals, carried over or new
    expect(o.proposals.length).toBe(out.proposals);
    expect(o.proposals.length).toBe(o.placed + o.departuresToCancel);
    const listed = new Set(o.proposals.map((x) => x.id));
    const now = new Map((await env.db.selectFrom('proposals').selectAll().where('id', 'in', before.map((b) => b.id)).execute()).map((x) => [x.id, x]));
    // each proposal that was open is now either listed by the new plan (still open, same id) or superseded
    const carried = before.filter((b) => listed.has(b.id));
    expect(carried).toHaveLength(out.carriedOver);
    for (const b of before) expect(now.get(b.id)!.status, b.id).toBe(listed.has(b.id) ? 'open' : 'superseded');
    // and nothing the new plan issued anew repeats a proposal that was open: a copy under a new id would be a defect
    const fresh = await env.db.selectFrom('proposals').selectAll().where('optimisation_id', '=', id).execute();
    expect(fresh.length).toBe(out.proposals - out.carriedOver);
    const superseded = new Set(before.filter((b) => !listed.has(b.id)).map(contentKey));
    for (const f of fresh) expect(superseded.has(contentKey(f)), f.id).toBe(false);
    // a forwarder's carried-over proposal is still the one it accepts: it keeps its place on the shipment
    for (const c of carried.filter((x) => x.shipment_id)) {
      const ship = await env.db.selectFrom('shipments').select('status').where('id', '=', c.shipment_id!).executeTakeFirstOrThrow();
      expect(ship.status).toBe('proposed');
    }
  });

  it('accepting books the itinerary through the normal path; accepting again answers the same', async () => {
    const open = ((await as(built.app, f1)({ method: 'GET', url: '/api/proposals' })).json() as { id: string; status: string; shipmentId: string; teu: number }[]).filter(
      (x) => x.status === 'open',
    );
    expect(open.length).toBeGreaterThan(0);
    const before = await counts();
    const a = await as(built.app, f1)({ method: 'POST', url: `/api/proposals/${open[0]!.id}/accept`, payload: {} });
    expect(a.statusCode, a.body).toBe(200);
    expect(a.json().status).toBe('accepted');
    const itineraryId = a.json().itineraryId as string;
    const it = (await as(built.app, f1)({ method: 'GET', url: `/api/itineraries/${itineraryId}` })).json();
    expect(it.status).toBe('confirmed');
    const ship = (await as(built.app, f1)({ method: 'GET', url: `/api/shipments/${open[0]!.shipmentId}` })).json();
    expect(ship.status).toBe('booked');
    expect(ship.itineraryId).toBe(itineraryId);
    const again = await as(built.app, f1)({ method: 'POST', url: `/api/proposals/${open[0]!.id}/accept`, payload: {} });
    expect(again.statusCode).toBe(200);
    expect(again.json().itineraryId).toBe(itineraryId);
    const after = await counts();
    expect(after.itineraries).toBe(before.itineraries + 1);
    expect(after.bookings).toBe(before.bookings + it.legs.length);
  });

  it('a proposal whose capacity was sold meanwhile is refused as stale: nothing booked, the shipment back in the pool', async () => {
    await runNow(); // a fresh plan (the previous one's open proposals are superseded)
    const open = ((await as(built.app, f1)({ method: 'GET', url: '/api/proposals' })).json() as { id: string; status: string; shipmentId: string; legs: { departureId: string; listingId: string }[] }[]).filter(
      (x) => x.status === 'open',
    );
    expect(open.length).toBeGreaterThan(0);
    const target = open[0]!;
    // another forwarder holds all the room left on the first leg (its listing's or its departure's, whichever is less)
    const leg = target.legs[0]!;
    const { rows } = await sql<{ free: number }>`
      select least(l.remaining_teu, d.capacity_teu - d.held_teu - d.booked_teu, d.capacity_tonnes - d.held_tonnes - d.booked_tonnes)::int as free
        from listings l join departures d on d.id = l.departure_id where l.id = ${leg.listingId}`.execute(env.db);
    const free = rows[0]!.free;
    expect(free).toBeGreaterThan(0);
    const h = await as(built.app, f2)({ method: 'POST', url: '/api/holds', payload: { listingId: leg.listingId, teu: free, tonnes: free } });
    expect(h.statusCode, h.body).toBe(201);
    const before = await counts();
    const r = await as(built.app, f1)({ method: 'POST', url: `/api/proposals/${target.id}/accept`, payload: {} });
    expect(r.statusCode, r.body).toBe(409);
    expect(r.json().error.code).toBe('proposal_stale');
    expect(await counts()).toEqual(before);
    const ship = (await as(built.app, f1)({ method: 'GET', url: `/api/shipments/${target.shipmentId}` })).json();
    expect(ship.status).toBe('pooled');
    const again = await as(built.app, f1)({ method: 'POST', url: `/api/proposals/${target.id}/accept`, payload: {} });
    expect(again.json().error.code).toBe('proposal_stale');
  });

  it('two workers racing the same optimisation write one plan', async () => {
    const r = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
    const id = r.json().id as string;
    const other = new OptimiserService(env.db, built.ctx.events, null);
    const before = await counts();
    const outcomes = await Promise.allSettled([optimiser().run(id, solver), other.run(id, solver)]);
    const done = outcomes.filter((o) => o.status === 'fulfilled' && o.value.status === 'done');
    expect(done).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(LeaseBusy);
    // the loser's job is retried later: it finds the run done and does nothing
    expect(await other.run(id, solver)).toEqual({ status: 'skipped', reason: 'already_done' });
    const after = await counts();
    expect(after.plans).toBe(before.plans + 1);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from optimisations where plan_version is not null and id = ${id}`.execute(env.db);
    expect(rows[0]!.n).toBe(1);
  });

  it('a run that loses its lease mid-solve, or whose solver fails, writes nothing', async () => {
    const before = await counts();
    const stealing: MipSolver = {
      async solve(lp, opts) {
        await sql`update optimiser_lease set token = gen_random_uuid(), expires_at = now() + interval '1 minute'`.execute(env.db);
        return solver.solve(lp, opts);
      },
    };
    const a = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
    expect(await optimiser().run(a.json().id, stealing)).toEqual({ status: 'lease_lost' });
    expect(await counts()).toEqual(before);
    await sql`update optimiser_lease set token = null, expires_at = '-infinity'`.execute(env.db);

    const failing: MipSolver = { solve: async () => Promise.reject(new Error('solver crashed')) };
    const b = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
    await optimiser().run(b.json().id, failing);
    const o = (await as(built.app, sched)({ method: 'GET', url: `/api/optimisations/${b.json().id}` })).json();
    expect(o.status).toBe('failed');
    expect(o.error).toMatch(/solver crashed/);
    expect(await counts()).toEqual(before);
    // the next run starts clean
    await runNow();
    expect((await counts()).plans).toBe(before.plans + 1);
  });

  it('a shipment changed while the plan was solved is left out of it (proposed as it is now by the next run)', async () => {
    const ready = new Date(Date.now() + 8 * 3_600_000);
    const posted = await as(built.app, f2)({
      method: 'POST', url: '/api/shipments',
      payload: { from: 'DEDUI', to: 'ITBLQ', teu: 1, tonnes: 12, readyAt: ready.toISOString(), deliverBy: new Date(ready.getTime() + 6 * DAY).toISOString(), maxTotalCents: 5_000_000 },
    });
    const sid = posted.json().id as string;
    const changing: MipSolver = {
      async solve(lp, opts) {
        // the forwarder changes its shipment meanwhile (a new version)
        const r = await as(built.app, f2)({ method: 'PATCH', url: `/api/shipments/${sid}`, payload: { teu: 2, tonnes: 24 } });
        if (r.statusCode !== 200 && r.statusCode !== 409) throw new Error(r.body);
        return solver.solve(lp, opts);
      },
    };
    const a = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
    expect((await optimiser().run(a.json().id, changing)).status).toBe('done');
    const proposed = (await as(built.app, f2)({ method: 'GET', url: '/api/proposals' })).json() as { shipmentId: string; status: string; teu: number }[];
    expect(proposed.some((p) => p.shipmentId === sid && p.status === 'open')).toBe(false);
    expect((await as(built.app, f2)({ method: 'GET', url: `/api/shipments/${sid}` })).json().status).toBe('pooled');
    await runNow();
    const next = (await as(built.app, f2)({ method: 'GET', url: '/api/proposals' })).json() as { shipmentId: string; status: string; teu: number }[];
    const p = next.find((x) => x.shipmentId === sid && x.status === 'open');
    expect(p?.teu).toBe(2);
  });

  it('a proposed shipment may still be changed: its proposal is superseded (accepting it is refused), the next plan proposes it as it is now', async () => {
    await runNow();
    const open = ((await as(built.app, f1)({ method: 'GET', url: '/api/proposals' })).json() as { id: string; status: string; shipmentId: string; teu: number }[]).filter(
      (x) => x.status === 'open',
    );
    expect(open.length).toBeGreaterThan(0);
    const target = open[0]!;
    const ship = (await as(built.app, f1)({ method: 'GET', url: `/api/shipments/${target.shipmentId}` })).json();
    const r = await as(built.app, f1)({ method: 'PATCH', url: `/api/shipments/${target.shipmentId}`, payload: { maxTotalCents: ship.maxTotalCents + 100 } });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().status).toBe('pooled');
    const before = await counts();
    const a = await as(built.app, f1)({ method: 'POST', url: `/api/proposals/${target.id}/accept`, payload: {} });
    expect(a.statusCode).toBe(409);
    expect(a.json().error.code).toBe('proposal_closed');
    expect(await counts()).toEqual(before);
    await runNow();
    const again = (await as(built.app, f1)({ method: 'GET', url: '/api/proposals' })).json() as { shipmentId: string; status: string }[];
    expect(again.some((x) => x.shipmentId === target.shipmentId && x.status === 'open')).toBe(true);
  });

  it('an accept racing a decline, a change or a withdrawal of the same shipment, or a new plan: one of them wins, never a booking nothing links to', async () => {
    const unlinked = async () =>
      (await sql<{ n: number }>`select count(*)::int as n from itineraries i where i.status = 'confirmed'
         and not exists (select 1 from shipments s where s.itinerary_id = i.id)`.execute(env.db)).rows[0]!.n;
    const rivals: ((p: { id: string; shipmentId: string }) => Promise<{ statusCode: number }>)[] = [
      (p) => as(built.app, f1)({ method: 'POST', url: `/api/proposals/${p.id}/decline`, payload: {} }),
      (p) => as(built.app, f1)({ method: 'PATCH', url: `/api/shipments/${p.shipmentId}`, payload: { maxTotalCents: 4_999_999 } }),
      (p) => as(built.app, f1)({ method: 'DELETE', url: `/api/shipments/${p.shipmentId}` }),
      async () => {
        const r = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
        await optimiser().run(r.json().id, solver).catch(() => undefined);
        return r;
      },
    ];
    for (const [i, rival] of rivals.entries()) {
      // a fresh shipment and plan for each round
      const ready = new Date(Date.now() + 7 * 3_600_000);
      const posted = await as(built.app, f1)({
        method: 'POST', url: '/api/shipments',
        payload: { from: 'DEDUI', to: 'ITBLQ', teu: 1, tonnes: 12, readyAt: ready.toISOString(), deliverBy: new Date(ready.getTime() + 6 * DAY).toISOString(), maxTotalCents: 5_000_000 },
      });
      await runNow();
      const p = ((await as(built.app, f1)({ method: 'GET', url: '/api/proposals' })).json() as { id: string; shipmentId: string; status: string }[]).find(
        (x) => x.shipmentId === posted.json().id && x.status === 'open',
      )!;
      expect(p, `round ${i}`).toBeDefined();
      const [acc] = await Promise.all([as(built.app, f1)({ method: 'POST', url: `/api/proposals/${p.id}/accept`, payload: {} }), rival(p)]);
      const ship = (await as(built.app, f1)({ method: 'GET', url: `/api/shipments/${p.shipmentId}` })).json();
      const prop = (await as(built.app, f1)({ method: 'GET', url: '/api/proposals' })).json().find((x: { id: string }) => x.id === p.id);
      if (acc.statusCode === 200 && acc.json().status === 'accepted') {
        expect(ship.status, `round ${i}`).toBe('booked');
        expect(ship.itineraryId).toBe(acc.json().itineraryId);
      } else {
        expect(acc.statusCode, `round ${i}: ${acc.body}`).toBe(409);
        expect(ship.status, `round ${i}`).not.toBe('booked');
        expect(prop.status).not.toBe('accepted');
      }
      expect(await unlinked(), `round ${i}`).toBe(0);
    }
  });

  it('operators see their departures’ proposals only; forwarders may not list optimisations', async () => {
    expect((await as(built.app, f1)({ method: 'GET', url: '/api/optimisations' })).statusCode).toBe(403);
    const list = (await as(built.app, sched)({ method: 'GET', url: '/api/optimisations' })).json() as { id: string }[];
    expect(list.length).toBeGreaterThanOrEqual(4);
    const ops = (await as(built.app, op1)({ method: 'GET', url: '/api/proposals' })).json() as { kind: string }[];
    for (const p of ops) expect(p.kind).toBe('departure');
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from proposals pr join organisations o on o.id = pr.operator_org_id where o.slug <> (
        select o2.slug from organisations o2 join memberships m on m.org_id = o2.id join users u on u.id = m.user_id where u.email = 'operator1@demo.test')`.execute(env.db);
    expect(ops.length).toBeLessThanOrEqual((await sql<{ n: number }>`select count(*)::int as n from proposals where kind = 'departure'`.execute(env.db)).rows[0]!.n - rows[0]!.n);
  });

  it('a new plan tells each organisation subscribed to proposal.created, in the plan\'s own transaction (webhook events)', async () => {
    // an endpoint of forwarder1's organisation subscribed to proposal.created (written directly: no delivery is awaited here)
    await env.db
      .insertInto('webhook_endpoints')
      .values({ org_id: f1.me.org.id, url: 'https://tms.example.com/hooks', events: ['proposal.created'], secret: 'whsec_test' })
      .execute();
    const ready = new Date(Date.now() + 7 * 3_600_000);
    const posted = await as(built.app, f1)({
      method: 'POST', url: '/api/shipments',
      payload: { from: 'DEDUI', to: 'ITBLQ', teu: 1, tonnes: 12, readyAt: ready.toISOString(), deliverBy: new Date(ready.getTime() + 6 * DAY).toISOString(), maxTotalCents: 5_000_000 },
    });
    expect(posted.statusCode, posted.body).toBe(201);
    const runId = await runNow();
    const open = ((await as(built.app, f1)({ method: 'GET', url: '/api/proposals' })).json() as { id: string; optimisationId: string; shipmentId: string | null; status: string }[]).filter(
      (p) => p.status === 'open' && p.shipmentId !== null,
    );
    // the new shipment's proposal is new; the others may be carried over from earlier plans (issued before the subscription)
    const mine = open.filter((p) => p.optimisationId === runId);
    expect(mine.map((p) => p.shipmentId)).toContain(posted.json().id);
    const events = await env.db.selectFrom('webhook_events').select(['type', 'object_key', 'org_id']).where('type', '=', 'proposal.created').execute();
    for (const p of mine) expect(events.some((e) => e.object_key === `proposal:${p.id}` && e.org_id === f1.me.org.id)).toBe(true);
    // a carried-over proposal is not announced again
    for (const p of open.filter((x) => x.optimisationId !== runId)) expect(events.some((e) => e.object_key === `proposal:${p.id}`)).toBe(false);
    // only the subscribed organisation's events were written
    expect(events.every((e) => e.org_id === f1.me.org.id)).toBe(true);
  });
});
