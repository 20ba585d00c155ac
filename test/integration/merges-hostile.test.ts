import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessSolver } from '../../server/adapters/solver/highs.ts';
import type { MipSolver } from '../../server/core/pooling/types.ts';
import type { App } from '../../server/http/app.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, bookVia, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * Intruder review of issue 13's merges (commit 2fc1e2d): what a forwarder asked about a merge sees, a plan written
 * while the operator accepts a merge, cancellations racing the move, a moved one-leg itinerary, the rollups after a
 * move of an auction's booking, the operator's answers after the move, concurrent last consents.
 *
 * Races are made deterministic with an outside row lock (the schema owner's transaction) and pg_locks: no sleeps
 * on which the outcome depends.
 */

const H = 3_600_000;
const solver = inProcessSolver();

interface MovedBooking { bookingId: string; teu: number; tonnes: number; consent: string | null }
interface Prop {
  id: string; kind: string; action: string | null; status: string; departureId: string; mergeIntoDepartureId: string | null; movedBookings: MovedBooking[];
  operatingSavingCents: number | null; teu: number | null; tonnes: number | null; loadBeforeTeu: number | null; minLoadTeu: number | null;
  targetLoadBeforeTeu: number | null; targetLoadAfterTeu: number | null;
}

describe('merges, attacked', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let sched: Session;
  let op: Session;
  // cut-offs of the sources, 7 h apart inside the 72 h decision horizon (a source never targets another pair's departure)
  let slot = 0;
  const nextCutoffH = () => 8 + 7 * slot++;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000, holdMaxSharePct: 100 } });
    built = await buildApp(env.cfg);
    [f1, f2, sched] = (await Promise.all(['forwarder1', 'forwarder2', 'scheduler'].map((u) => signIn(built.app, `${u}@demo.test`)))) as [Session, Session, Session];
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

  /** A one-leg itinerary on `listingId`, confirmed: its id and its booking's id. */
  async function itinerary(s: Session, listingId: string, teu: number, tonnes: number): Promise<{ id: string; bookingId: string }> {
    const h = await as(built.app, s)({ method: 'POST', url: '/api/itineraries', payload: { legs: [{ listingId }], teu, tonnes } });
    expect(h.statusCode, h.body).toBe(201);
    const c = await as(built.app, s)({ method: 'POST', url: `/api/itineraries/${h.json().id}/confirm`, payload: {} });
    expect(c.statusCode, c.body).toBe(201);
    return { id: h.json().id, bookingId: c.json().bookings[0].id };
  }

  async function operatorOf(orgId: string) {
    if (op) return;
    const u = await env.db
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select('u.email')
      .where('m.org_id', '=', orgId)
      .orderBy('u.email')
      .executeTakeFirstOrThrow();
    op = await signIn(built.app, u.email);
  }

  /**
   * A source departure (80 TEU, minimum load 32) carrying f1's 4 TEU (plain booking, or a one-leg itinerary) and f2's
   * 2 TEU, and a later departure of its corridor with 34 TEU booked.
   */
  async function underUsed(o: { f1Itinerary?: boolean } = {}) {
    const c = nextCutoffH();
    const a = await createDepartureWithListing(env.db, { capacityTeu: 80, capacityTonnes: 1600, cutoffInMs: c * H });
    const b = await createDepartureWithListing(env.db, { capacityTeu: 80, capacityTonnes: 1600, cutoffInMs: (c + 5) * H });
    const it = o.f1Itinerary ? await itinerary(f1, a.listingId, 4, 60) : null;
    const k1 = it ? it.bookingId : await book(f1, a.listingId, 4, 60);
    const k2 = await book(f2, a.listingId, 2, 30);
    await book(f1, b.listingId, 34, 500);
    await operatorOf(a.operatorOrgId);
    return { a, b, bookings: [k1, k2] as [string, string], itineraryId: it?.id ?? null };
  }

  async function plan(departureId: string, s: MipSolver = solver): Promise<Prop> {
    const p = await planOf(departureId, s);
    expect(p, 'the under-used departure is proposed for a merge').toBeDefined();
    return p!;
  }

  /** Runs a plan; the merge proposed for the departure, if any. */
  async function planOf(departureId: string, s: MipSolver = solver): Promise<Prop | undefined> {
    const r = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
    expect(r.statusCode, r.body).toBe(202);
    const run = await built.ctx.services.optimiser.run(r.json().id, s);
    const row = await env.db.selectFrom('optimisations').select(['status', 'error']).where('id', '=', r.json().id).executeTakeFirstOrThrow();
    expect(run.status, `optimisation ${row.status}: ${row.error}`).toBe('done');
    const o = (await as(built.app, sched)({ method: 'GET', url: `/api/optimisations/${r.json().id}` })).json() as { proposals: Prop[] };
    return o.proposals.find((x) => x.departureId === departureId && x.action === 'merge');
  }

  const act = (s: Session, id: string, what: 'accept' | 'decline') => as(built.app, s)({ method: 'POST', url: `/api/proposals/${id}/${what}`, payload: {} });
  const seenBy = async (s: Session, id: string) => ((await as(built.app, s)({ method: 'GET', url: '/api/proposals' })).json() as Prop[]).find((x) => x.id === id);

  /** Holds a row lock on a departure in the schema owner's transaction until the returned function is called. */
  async function lockDepartureOutside(id: string): Promise<() => Promise<void>> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const done = env.db.transaction().execute(async (tx) => {
      await sql`select id from departures where id = ${id} for update`.execute(tx);
      locked();
      await released;
    });
    await isLocked;
    return async () => {
      release();
      await done;
    };
  }

  /** Waits until at least `n` lock requests of this database's sessions wait (row locks wait on a transaction id). */
  async function waiting(n: number): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      const r = await sql<{ n: number }>`
        select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where not l.granted and a.datname = current_database()`.execute(env.db);
      if (r.rows[0]!.n >= n) return;
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error(`never ${n} waiting lock requests`);
  }

  // ---- permissions / confidentiality --------------------------------------------------------------------

  it("a forwarder asked about a merge sees neither the operator's costs nor other forwarders' volumes", async () => {
    const { a } = await underUsed();
    const p = await plan(a.departureId);
    expect((await act(op, p.id, 'accept')).json().status).toBe('consenting');
    const v = (await seenBy(f2, p.id))!;
    expect(v.movedBookings.map((m) => m.teu)).toEqual([2]); // its own booking only — this holds
    // README: operating costs are the operator's commercial figures (forwarders 403 on GET operating-costs);
    // the saving of a merge of one operator's departures is its fixed cost (+ variable difference)
    expect(v.operatingSavingCents, 'operator cost figure shown to a forwarder').toBeNull();
    // the merge's total TEU / tonnes and the target's load reveal f1's 4 TEU on the source and f1's 34 TEU on the target
    expect(v.teu, "other forwarders' volume on the source").not.toBe(6);
    expect(v.targetLoadBeforeTeu, "the target's load").toBeNull();
    // leave it to be declined (the departure runs)
    expect((await act(f2, p.id, 'decline')).json().status).toBe('declined');
  });

  it('after the merge moved the bookings, an operator "decline" is refused (409), not answered 200 accepted', async () => {
    const { a } = await underUsed();
    const p = await plan(a.departureId);
    expect((await act(op, p.id, 'accept')).json().status).toBe('consenting');
    expect((await act(f1, p.id, 'accept')).statusCode).toBe(200);
    expect((await act(f2, p.id, 'accept')).json().status).toBe('accepted');
    const late = await act(op, p.id, 'decline');
    expect({ status: late.statusCode, code: late.json().error?.code }).toEqual({ status: 409, code: 'proposal_closed' });
  });

  // ---- races ---------------------------------------------------------------------------------------------

  it('a plan written while the operator accepts an open merge (between its load and its write) still completes', async () => {
    const { a } = await underUsed();
    const p1 = await plan(a.departureId);
    expect(p1.status).toBe('open');
    // the next run loads the pool (the merge still open: its departure a candidate again); while it solves, the
    // operator accepts the first plan's merge → consenting (left alone by supersede)
    let fired = false;
    const racing: MipSolver = {
      async solve(lp, opts) {
        if (!fired) {
          fired = true;
          const acc = await act(op, p1.id, 'accept');
          expect(acc.json().status).toBe('consenting');
        }
        return solver.solve(lp, opts);
      },
    };
    const r = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations', payload: {} });
    const run = await built.ctx.services.optimiser.run(r.json().id, racing);
    expect(fired, 'the solver was called').toBe(true);
    const row = await env.db.selectFrom('optimisations').select(['status', 'error']).where('id', '=', r.json().id).executeTakeFirstOrThrow();
    expect({ run: run.status, row: row.status, error: row.error }).toEqual({ run: 'done', row: 'done', error: null });
    // the consenting merge is untouched and can still complete
    expect((await seenBy(op, p1.id))?.status).toBe('consenting');
    expect((await act(f2, p1.id, 'decline')).json().status).toBe('declined');
  });

  it('two forwarders give the last consents at the same time: one move, both answered 200, loads right', async () => {
    const { a, bookings } = await underUsed();
    const p = await plan(a.departureId);
    expect((await act(op, p.id, 'accept')).json().status).toBe('consenting');
    const target = p.mergeIntoDepartureId!;
    const before = await env.db.selectFrom('departures').select(['booked_teu']).where('id', '=', target).executeTakeFirstOrThrow();
    const [r1, r2] = await Promise.all([act(f1, p.id, 'accept'), act(f2, p.id, 'accept')]);
    expect([r1.statusCode, r2.statusCode]).toEqual([200, 200]);
    expect([r1.json().status, r2.json().status].sort()).toEqual(['accepted', 'consenting']);
    const after = await env.db.selectFrom('departures').select(['booked_teu']).where('id', '=', target).executeTakeFirstOrThrow();
    expect(after.booked_teu).toBe(before.booked_teu + 6);
    const moved = await env.db.selectFrom('bookings').select(['departure_id']).where('id', 'in', bookings).execute();
    expect(moved.every((m) => m.departure_id === target)).toBe(true);
  });

  it('the operator withdraws while the last consent is given: either moved and accepted, or declined and nothing moved', async () => {
    const { a } = await underUsed();
    const p = await plan(a.departureId);
    expect((await act(op, p.id, 'accept')).json().status).toBe('consenting');
    expect((await act(f1, p.id, 'accept')).statusCode).toBe(200);
    const [w, c] = await Promise.all([act(op, p.id, 'decline'), act(f2, p.id, 'accept')]);
    expect(w.statusCode).toBeLessThan(500);
    expect(c.statusCode).toBeLessThan(500);
    const final = (await seenBy(op, p.id))!.status;
    const src = await env.db.selectFrom('departures').select(['status', 'booked_teu']).where('id', '=', a.departureId).executeTakeFirstOrThrow();
    if (final === 'accepted') expect(src).toEqual({ status: 'cancelled', booked_teu: 0 });
    else expect({ final, src }).toEqual({ final: 'declined', src: { status: 'scheduled', booked_teu: 6 } });
  });

  it("a booking's cancellation waiting on the move's lock answers 200 (cancelled on the target) or 409 — never 5xx", async () => {
    const { a, bookings } = await underUsed();
    const p = await plan(a.departureId);
    expect((await act(op, p.id, 'accept')).json().status).toBe('consenting');
    expect((await act(f1, p.id, 'accept')).statusCode).toBe(200);
    // the last consent takes the bookings' locks, then waits for the source departure (held outside)
    const release = await lockDepartureOutside(a.departureId);
    let last: ReturnType<typeof act> | undefined;
    let cancel: ReturnType<typeof act> | undefined;
    try {
      last = act(f2, p.id, 'accept');
      await waiting(1);
      // f1 cancels its booking: waits for the booking's lock, held by the move
      cancel = as(built.app, f1)({ method: 'DELETE', url: `/api/bookings/${bookings[0]}` });
      await waiting(2);
    } finally {
      await release();
    }
    const [l, c] = await Promise.all([last!, cancel!]);
    expect(l.json().status).toBe('accepted');
    expect(c.statusCode, c.body).toBeLessThan(500);
    expect(c.statusCode, c.body).toBe(200);
    const b = await env.db.selectFrom('bookings').select(['status', 'departure_id']).where('id', '=', bookings[0]).executeTakeFirstOrThrow();
    expect(b).toEqual({ status: 'cancelled', departure_id: p.mergeIntoDepartureId });
  });

  // Found by this review: a moved itinerary leg left its itinerary naming the cancelled source (legs are read from
  // holds) and an itinerary's cancellation racing the move could cancel the itinerary around a live booking. The fix:
  // itinerary legs never move (server/adapters/db/merges-repo.ts movableBookingsOn).
  it('a departure carrying a leg of an itinerary (even a one-leg one) is never proposed for a merge', async () => {
    const { a } = await underUsed({ f1Itinerary: true });
    expect(await planOf(a.departureId)).toBeUndefined();
  });

  // Found by this review: moving an auction's winning booking left its auction figures on the source in the forwarder
  // rollup. The fix: bookings won in an auction never move.
  it("a departure carrying an auction's winning booking is never proposed for a merge; the rollups stay exact", async () => {
    const c = nextCutoffH();
    const a = await createDepartureWithListing(env.db, { capacityTeu: 80, capacityTonnes: 1600, listedTeu: 60, cutoffInMs: c * H });
    const b = await createDepartureWithListing(env.db, { capacityTeu: 80, capacityTonnes: 1600, cutoffInMs: (c + 5) * H });
    const now = Date.now();
    const auction = await env.db
      .insertInto('listings')
      .values({
        departure_id: a.departureId, format: 'sealed', teu: 10, remaining_teu: 10, reserve_price_cents: 10_000, min_increment_cents: 500,
        opens_at: new Date(now - 1000), closes_at: new Date(now + 60_000), max_close_at: new Date(now + c * H - 60_000), unsold_action: 'return',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const bid = await as(built.app, f1)({ method: 'POST', url: `/api/listings/${auction.id}/bids`, payload: { teu: 3, unitPriceCents: 20_000 } });
    expect(bid.statusCode, bid.body).toBe(201);
    await env.db.updateTable('listings').set({ closes_at: new Date(Date.now() - 1000) }).where('id', '=', auction.id).execute();
    expect(await built.ctx.services.auctions.close(auction.id)).toMatchObject({ done: true, awardedTeu: 3 });
    const won = await env.db.selectFrom('bookings').select(['id', 'status']).where('departure_id', '=', a.departureId).where('bid_id', 'is not', null).execute();
    expect(won).toHaveLength(1);
    await book(f2, a.listingId, 2, 30);
    await book(f1, b.listingId, 34, 500);
    await operatorOf(a.operatorOrgId);
    expect((await built.ctx.services.stats.verify()).differences, 'before the move').toEqual([]);

    expect(await planOf(a.departureId)).toBeUndefined();
    const v = await verifyLedger(env.db);
    expect(v.ok, JSON.stringify(v.checks)).toBe(true);
    expect((await built.ctx.services.stats.verify()).differences, 'after the plan').toEqual([]);
  });
});
