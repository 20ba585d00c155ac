import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessSolver } from '../../server/adapters/solver/highs.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, departureState } from '../helpers/fixtures.ts';
import { as, bookVia, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 13 — merges of under-used departures, against the real database: a departure that runs below its minimum
 * load only because of two forwarders' bookings is proposed to its operator to be merged into a later departure;
 * the operator accepts; the bookings move only once both forwarders consent (then the departure is cancelled, the
 * target carries them, nothing is refunded or charged again); one decline moves nothing; a hold landing on the
 * departure meanwhile makes the merge stale (409, nothing moved).
 */

const H = 3_600_000;
const solver = inProcessSolver();

interface MovedBooking { bookingId: string; teu: number; tonnes: number; consent: string | null }
interface Prop { id: string; kind: string; action: string | null; status: string; departureId: string; mergeIntoDepartureId: string | null; movedBookings: MovedBooking[]; operatingSavingCents: number | null }

describe('merges: an under-used departure merged into another, its bookings moved only with consent', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let sched: Session;
  let op: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000, holdMaxSharePct: 100 } });
    built = await buildApp(env.cfg);
    [f1, f2, sched] = (await Promise.all(['forwarder1', 'forwarder2', 'scheduler'].map((u) => signIn(built.app, `${u}@demo.test`)))) as [Session, Session, Session];
    // a shipment pooled far ahead keeps every run's horizon (up to the latest deadline in the pool) past the departures here
    const ready = Date.now() + 12 * H;
    const s = await as(built.app, f1)({
      method: 'POST', url: '/api/shipments',
      payload: { from: 'DEDUI', to: 'ITBLQ', teu: 1, tonnes: 10, readyAt: new Date(ready).toISOString(), deliverBy: new Date(ready + 8 * 24 * H).toISOString(), maxTotalCents: 5_000_000 },
    });
    expect(s.statusCode, s.body).toBe(201);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const book = (s: Session, listingId: string, teu: number, tonnes: number) => bookVia(built.app, s, listingId, teu, tonnes);

  /** A departure carrying 4 + 2 TEU of two forwarders (minimum load 32 of 80), and a later one of its corridor with 34 TEU booked. */
  async function underUsed(cutoffInH: number) {
    const a = await createDepartureWithListing(env.db, { capacityTeu: 80, capacityTonnes: 1600, cutoffInMs: cutoffInH * H });
    const b = await createDepartureWithListing(env.db, { capacityTeu: 80, capacityTonnes: 1600, cutoffInMs: (cutoffInH + 5) * H });
    const k1 = await book(f1, a.listingId, 4, 60);
    const k2 = await book(f2, a.listingId, 2, 30);
    await book(f1, b.listingId, 34, 500);
    if (!op) {
      const u = await env.db
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select('u.email')
        .where('m.org_id', '=', a.operatorOrgId)
        .orderBy('u.email')
        .executeTakeFirstOrThrow();
      op = await signIn(built.app, u.email);
    }
    return { a, b, bookings: [k1, k2] };
  }

  async function plan(departureId: string): Promise<Prop> {
    const r = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
    expect(r.statusCode, r.body).toBe(202);
    expect((await built.ctx.services.optimiser.run(r.json().id, solver)).status).toBe('done');
    const o = (await as(built.app, sched)({ method: 'GET', url: `/api/optimisations/${r.json().id}` })).json() as { proposals: Prop[] };
    const p = o.proposals.find((x) => x.departureId === departureId);
    expect(p, 'the under-used departure is proposed for a merge').toBeDefined();
    return p!;
  }

  const act = (s: Session, id: string, what: 'accept' | 'decline') => as(built.app, s)({ method: 'POST', url: `/api/proposals/${id}/${what}`, payload: {} });
  const mine = async (s: Session, id: string) => ((await as(built.app, s)({ method: 'GET', url: '/api/proposals' })).json() as Prop[]).find((x) => x.id === id);
  const onDeparture = async (id: string) =>
    env.db.selectFrom('bookings').select(['id', 'moved_from_departure_id']).where('departure_id', '=', id).where('status', '<>', 'cancelled').orderBy('id').execute();

  it('the operator accepts, both forwarders consent: the bookings move, the departure is cancelled, the target carries them', async () => {
    const { a, bookings } = await underUsed(20);
    const p = await plan(a.departureId);
    expect(p).toMatchObject({ kind: 'departure', action: 'merge', status: 'open' });
    expect(p.movedBookings.map((m) => m.bookingId).sort()).toEqual([...bookings].sort());
    expect(p.movedBookings.every((m) => m.consent === null)).toBe(true);
    expect(p.operatingSavingCents).toBeGreaterThan(0);
    const target = p.mergeIntoDepartureId!;
    // not asked yet: forwarders neither see it nor answer it
    expect(await mine(f1, p.id)).toBeUndefined();
    expect((await act(f1, p.id, 'accept')).statusCode).toBe(404);

    // the scheduler's departures at risk name the merge and its target, open, then consenting once the operator accepted
    const atRisk = async () =>
      ((await as(built.app, sched)({ method: 'GET', url: '/api/stats/at-risk?hours=48' })).json() as { rows: { departureId: string; proposalId: string | null; proposalAction: string | null; proposalStatus: string | null; mergeInto: { departureId: string; assetName: string } | null }[] }).rows.find(
        (r) => r.departureId === a.departureId,
      );
    expect(await atRisk()).toMatchObject({ proposalId: p.id, proposalAction: 'merge', proposalStatus: 'open', mergeInto: { departureId: target } });
    const acc = await act(op, p.id, 'accept');
    expect(acc.statusCode, acc.body).toBe(200);
    expect(acc.json().status).toBe('consenting');
    expect(await atRisk()).toMatchObject({ proposalId: p.id, proposalAction: 'merge', proposalStatus: 'consenting', mergeInto: { departureId: target } });
    const csv = (await as(built.app, sched)({ method: 'GET', url: '/api/stats/at-risk?hours=48&format=csv' })).body;
    expect(csv.split('\r\n')[0]).toContain('proposalAction,proposalStatus,mergeIntoDepartureId');
    expect(csv.split('\r\n').find((l) => l.startsWith(a.departureId))).toContain(`merge,consenting,${target}`);
    // each forwarder sees its own booking only, pending
    const seen1 = await mine(f1, p.id);
    expect(seen1?.movedBookings).toEqual([{ bookingId: bookings[0], teu: 4, tonnes: 60, consent: 'pending' }]);
    expect((await mine(f2, p.id))?.movedBookings.map((m) => m.bookingId)).toEqual([bookings[1]]);

    const targetBefore = await departureState(env.db, target);
    const c1 = await act(f1, p.id, 'accept');
    expect(c1.statusCode, c1.body).toBe(200);
    expect(c1.json().status).toBe('consenting');
    expect((await departureState(env.db, a.departureId)).booked_teu).toBe(6); // nothing moves before everyone agreed

    const c2 = await act(f2, p.id, 'accept');
    expect(c2.statusCode, c2.body).toBe(200);
    expect(c2.json().status).toBe('accepted');
    const src = await env.db.selectFrom('departures').select(['status', 'booked_teu', 'booked_tonnes']).where('id', '=', a.departureId).executeTakeFirstOrThrow();
    expect(src).toEqual({ status: 'cancelled', booked_teu: 0, booked_tonnes: 0 });
    const after = await departureState(env.db, target);
    expect(after.booked_teu).toBe(targetBefore.booked_teu + 6);
    expect(after.booked_tonnes).toBe(targetBefore.booked_tonnes + 90);
    expect(after.held_teu + after.booked_teu).toBeLessThanOrEqual(after.capacity_teu);
    const moved = (await onDeparture(target)).filter((x) => bookings.includes(x.id));
    expect(moved).toHaveLength(2);
    expect(moved.every((x) => x.moved_from_departure_id === a.departureId)).toBe(true);
    // the forwarders' bookings are still live (same price, not cancelled or refunded) and show the new departure
    const list = (await as(built.app, f1)({ method: 'GET', url: '/api/bookings' })).json() as { id: string; departureId: string; status: string }[];
    expect(list.find((x) => x.id === bookings[0])).toMatchObject({ departureId: target });
    expect(list.find((x) => x.id === bookings[0])?.status).not.toBe('cancelled');
    // answering again answers the same
    expect((await act(f2, p.id, 'accept')).json().status).toBe('accepted');
  });

  it('one forwarder declines: nothing moves, the departure runs, the other one can no longer consent', async () => {
    const { a } = await underUsed(38);
    const p = await plan(a.departureId);
    expect((await act(op, p.id, 'accept')).json().status).toBe('consenting');
    const d = await act(f2, p.id, 'decline');
    expect(d.statusCode, d.body).toBe(200);
    expect(d.json().status).toBe('declined');
    const late = await act(f1, p.id, 'accept');
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('proposal_closed');
    const src = await env.db.selectFrom('departures').select(['status', 'booked_teu']).where('id', '=', a.departureId).executeTakeFirstOrThrow();
    expect(src).toEqual({ status: 'scheduled', booked_teu: 6 });
  });

  it('a hold lands on the departure while its forwarders are asked: the last consent finds the merge stale and moves nothing', async () => {
    const { a } = await underUsed(56);
    const p = await plan(a.departureId);
    expect((await act(op, p.id, 'accept')).json().status).toBe('consenting');
    expect((await act(f1, p.id, 'accept')).statusCode).toBe(200);
    const h = await as(built.app, f2)({ method: 'POST', url: '/api/holds', payload: { listingId: a.listingId, teu: 1, tonnes: 10 } });
    expect(h.statusCode, h.body).toBe(201);
    const last = await act(f2, p.id, 'accept');
    expect(last.statusCode).toBe(409);
    expect(last.json().error.code).toBe('proposal_stale');
    const src = await env.db.selectFrom('departures').select(['status', 'booked_teu', 'held_teu']).where('id', '=', a.departureId).executeTakeFirstOrThrow();
    expect(src).toEqual({ status: 'scheduled', booked_teu: 6, held_teu: 1 });
    expect((await mine(f1, p.id))?.status).toBe('stale');
  });
});
